// The centred subspace form of the first-order tier (docs/box.md §3b, (E12)–(E14)).
//
// ‖J(c)‖ + E adds the whole change of J to the top singular value, although to first order only
// its change along the top singular vectors moves it. On the span of k float vectors V (the top
// right singular vectors of J(c), but any vectors are valid) the change is kept exactly to first
// order: the k × k block Wᵀ ΔJ V (W = J(c)V) is its linearisation — k² gradients at the centre by
// one interval forward-over-reverse pass each — plus the second-order remainder R2 of
// first_order_excess. The complement enters through ‖J(c)P⊥‖ and E, the cross term through the
// residual of V as singular vectors, so their contribution is second order or first order divided
// by the spectral gap. A 2 × 2 eigenvalue bound combines the three.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <random>

#include <Eigen/QR>
#include <Eigen/SVD>

#include "bound/bound.hpp"
#include "linalg/linalg.hpp"

namespace attnbound {

namespace {

IMatrix point_matrix(const Matrix& X) {
  IMatrix Y(X.rows(), X.cols());
  for (Eigen::Index k = 0; k < X.size(); ++k) Y(k) = point(X(k));
  return Y;
}

/// Upper bound of the Frobenius norm of an interval matrix. Precondition: upward rounding.
double frobenius_up(const IMatrix& A) {
  double s = 0.0;
  for (Eigen::Index k = 0; k < A.size(); ++k) {
    const double m = mag(A(k));
    s += m * m;
  }
  return std::sqrt(s);
}

/// φ summed over tokens: sup_δ |g·δ| over the region's offsets. Precondition: upward rounding.
double phi_tokens(const IMatrix& g, const FirstOrderRegion& reg) {
  double t = 0.0;
  for (Eigen::Index i = 0; i < g.rows(); ++i) {
    if (reg.l2()) {
      double s = 0.0;
      for (Eigen::Index a = 0; a < g.cols(); ++a) s += mag(g(i, a)) * mag(g(i, a));
      t += reg.rho * std::sqrt(s);
    } else {
      for (Eigen::Index a = 0; a < g.cols(); ++a) t += mag(g(i, a)) * reg.r(a);
    }
  }
  return t;
}

}  // namespace

namespace approx {

std::vector<Matrix> top_right_singular_vectors(const AttentionLayer& layer, const Matrix& X, int kmax,
                                               double ratio, int iterations) {
  RoundingGuard nearest(Rounding::nearest);
  const long n = X.rows(), d = X.cols(), N = n * d;
  const int p = static_cast<int>(std::min<long>(N, kmax + 4));
  const auto s = forward<double>(layer, X);
  auto apply_J = [&](const Matrix& Vf) {  // columns are flattened tangents
    Matrix out(N, Vf.cols());
    for (Eigen::Index b = 0; b < Vf.cols(); ++b)
      out.col(b) = flatten<double>(jvp<double>(layer, s, unflatten<double>(Vector(Vf.col(b)), n, d)));
    return out;
  };
  auto apply_Jt = [&](const Matrix& Uf) {
    Matrix out(N, Uf.cols());
    for (Eigen::Index b = 0; b < Uf.cols(); ++b)
      out.col(b) = flatten<double>(vjp<double>(layer, s, unflatten<double>(Vector(Uf.col(b)), n, d)));
    return out;
  };
  // Subspace iteration on JᵀJ with p > k vectors (fixed seed), then Rayleigh–Ritz.
  Matrix V(N, p);
  std::mt19937_64 rng(0x5eed);
  std::uniform_real_distribution<double> uni(-1.0, 1.0);
  for (Eigen::Index q = 0; q < V.size(); ++q) V(q) = uni(rng);
  for (int it = 0; it < iterations; ++it) {
    Eigen::HouseholderQR<Matrix> qr(V);
    V = qr.householderQ() * Matrix::Identity(N, p);
    V = apply_Jt(apply_J(V));
  }
  Eigen::HouseholderQR<Matrix> qr(V);
  V = qr.householderQ() * Matrix::Identity(N, p);
  Eigen::JacobiSVD<Matrix> svd(apply_J(V), Eigen::ComputeThinV);
  const Vector sig = svd.singularValues();
  const Matrix R = V * svd.matrixV();  // Ritz vectors, σ decreasing
  int k = kmax;
  for (int j = 1; j < std::min<int>(kmax + 1, p); ++j)
    if (sig(j) <= ratio * sig(0)) {
      k = j;
      break;
    }
  k = std::min<int>(k, p);
  std::vector<Matrix> out;
  for (int b = 0; b < k; ++b) out.push_back(unflatten<double>(Vector(R.col(b)), n, d));
  return out;
}

}  // namespace approx

SubspaceBound subspace_upper(const AttentionLayer& layer, const FirstOrderRegion& reg, double E, double R2,
                             const std::vector<Matrix>& vectors, const FirstOrderOptions& opt) {
  const auto t0 = std::chrono::steady_clock::now();
  SubspaceBound out;
  const long n = reg.c.rows(), d = reg.c.cols(), N = n * d;
  const long k = static_cast<long>(vectors.size());
  if (k == 0 || !(E >= 0) || !(R2 >= 0) || !std::isfinite(E) || !std::isfinite(R2)) return out;
  Matrix Vm(N, k);
  for (long b = 0; b < k; ++b) Vm.col(b) = flatten<double>(vectors[b]);
  UpwardScope up;
  const IMatrix C = point_matrix(reg.c);
  const ForwardState<Interval> st = forward<Interval>(layer, C);
  const IMatrix Jc = jacobian<Interval>(layer, st);
  const IMatrix W = mul(Jc, Vm);  // J(c) V, enclosed
  // f >= ‖VᵀV − I‖_F; g = 1 − f > 0 bounds VᵀV from below.
  IMatrix F = mul_enclose(Matrix(Vm.transpose()), Vm);
  for (long a = 0; a < k; ++a) F(a, a) -= point(1.0);
  const double f = frobenius_up(F);
  if (!(f < 0.5)) return out;
  const double g = -((-1.0) + f);       // 1 − f rounded down (upward negation trick)
  const double sv = std::sqrt(1.0 + f);  // >= ‖V‖
  const double wn = norm2_upper(W).value();
  // λ_⊥ >= ‖J(c)P⊥‖ <= ‖J(c) − W Vᵀ‖ + ‖W‖ √(1+f) f/(1−f).
  const IMatrix Mperp = Jc - mul(W, Matrix(Vm.transpose()));
  const double lam_perp = norm2_upper(Mperp).value() + wn * sv * (f / g);
  // c_0 >= ‖J(c)ᵀW − V Y‖ for the float Y = Vᵀ mid(J(c)ᵀW): the residual of V as singular vectors.
  const IMatrix Z = mul(IMatrix(Jc.transpose()), W);
  Matrix Y;
  {
    RoundingGuard nearest(Rounding::nearest);
    Matrix Zm(N, k);
    for (Eigen::Index q = 0; q < Z.size(); ++q) Zm(q) = 0.5 * (Z(q).lower() + Z(q).upper());
    Y = Vm.transpose() * Zm;
  }
  const double c0 = norm2_upper(IMatrix(Z - mul_enclose(Vm, Y))).value();
  // (E13) the k² gradients ∇h_ab(c) = d/dt J(c + t v_b)ᵀ w_a.
  std::vector<std::vector<IMatrix>> grad(k, std::vector<IMatrix>(k));
  for (long b = 0; b < k; ++b) {
    Mat<Dual<Interval>> XD(n, d);
    for (long i = 0; i < n; ++i)
      for (long a = 0; a < d; ++a) XD(i, a) = Dual<Interval>(C(i, a), point(vectors[b](i, a)));
    const auto sD = forward<Dual<Interval>>(layer, XD);
    for (long a = 0; a < k; ++a) {
      Mat<Dual<Interval>> WD(n, d);
      for (long i = 0; i < n; ++i)
        for (long e = 0; e < d; ++e) WD(i, e) = Dual<Interval>(W(i * d + e, a));
      const Mat<Dual<Interval>> gD = vjp<Dual<Interval>>(layer, sD, WD);
      IMatrix G(n, d);
      for (long i = 0; i < n; ++i)
        for (long e = 0; e < d; ++e) G(i, e) = gD(i, e).d;
      grad[a][b] = std::move(G);
    }
  }
  double t2 = 0.0;
  for (long a = 0; a < k; ++a)
    for (long b = a; b < k; ++b) {
      IMatrix sym(n, d);
      for (Eigen::Index q = 0; q < sym.size(); ++q) sym(q) = (grad[a][b](q) + grad[b][a](q)) * point(0.5);
      const double ph = phi_tokens(sym, reg);
      t2 += (a == b ? 1.0 : 2.0) * ph * ph;
    }
  double t_lin = std::sqrt(t2);
  if (opt.mutation_halve_subspace) t_lin /= 2;
  // (E14) the 2 × 2 reduction, every step rounded up (the bound increases in μ, β and ν).
  const double mu = (wn * wn + 2.0 * t_lin + 2.0 * wn * sv * R2) / g + E * E;
  const double beta = (c0 + E * wn) / std::sqrt(g) + lam_perp * E + E * E;
  const double nu = (lam_perp + E) * (lam_perp + E);
  const double half_diff = std::max(mu - nu, nu - mu) / 2.0;
  const double bound2 = (mu + nu) / 2.0 + std::sqrt(half_diff * half_diff + beta * beta);
  out.upper = UpperBound::proved(std::sqrt(bound2));
  out.k = static_cast<int>(k);
  out.t_lin = t_lin;
  out.lambda_perp = lam_perp;
  out.c0 = c0;
  out.w_norm = wn;
  out.f = f;
  out.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return out;
}

}  // namespace attnbound
