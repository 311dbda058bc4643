// prove_structured_upper: the checker's own re-derivation of the structured point tier
// (docs/structured.md, docs/certificate.md "structured"). Independent of the engine's
// src/bound/structured.cpp: the forward quantities come from forward_fast (MPFI logits and
// softmax), the Gram factors from a Householder QR (the engine uses an eigen-decomposition), and
// the products from the directed-rounding kernels below; only linalg's verified norms are shared.
//
// Representation as in jacobian_fast.cpp: an interval matrix is (hi, nlo) with hi >= X >= −nlo,
// every entry an upper bound computed under upward rounding.
#include <Eigen/QR>
#include <cmath>

#include "internal.hpp"
#include "linalg/linalg.hpp"

namespace attnbound::check {

namespace {

struct IM {
  Matrix hi, nlo;
};

IM from_mp(const MpMatrix& A) {
  IM r{Matrix(A.rows(), A.cols()), Matrix(A.rows(), A.cols())};
  for (Eigen::Index k = 0; k < A.size(); ++k) {
    r.hi.data()[k] = A.data()[k].upper_up();
    r.nlo.data()[k] = -A.data()[k].lower_down();
  }
  return r;
}

/// Midpoint (any double) and a proved radius. Precondition: upward rounding.
void mid_rad(const IM& A, Matrix& m, Matrix& r) {
  m = (A.hi - A.nlo) * 0.5;
  r = (A.hi - m).cwiseMax(m + A.nlo);
}

/// A·W for an exact W. Precondition: upward rounding.
IM times(const IM& A, const Matrix& W) {
  Matrix mA, rA;
  mid_rad(A, mA, rA);
  const Matrix negW = -W;
  Matrix up, nup, rad;
  up.noalias() = mA * W;
  nup.noalias() = mA * negW;
  rad.noalias() = rA * W.cwiseAbs();
  return IM{up + rad, nup + rad};
}

/// A·B for interval matrices. Precondition: upward rounding.
IM times(const IM& A, const IM& B) {
  Matrix mA, rA, mB, rB;
  mid_rad(A, mA, rA);
  mid_rad(B, mB, rB);
  const Matrix neg_mB = -mB;
  Matrix up, nup, r1, r2;
  up.noalias() = mA * mB;
  nup.noalias() = mA * neg_mB;
  r1.noalias() = mA.cwiseAbs() * rB;
  r2.noalias() = rA * (mB.cwiseAbs() + rB);
  const Matrix rad = r1 + r2;
  return IM{up + rad, nup + rad};
}

/// D(i, l) >= ‖a − b‖ over a ∈ A row l, b ∈ B row i. Precondition: upward rounding.
Matrix dist(const IM& A, const IM& B) {
  Matrix mA, rA, mB, rB;
  mid_rad(A, mA, rA);
  mid_rad(B, mB, rB);
  const Matrix negB = -mB;
  Matrix C;
  C.noalias() = negB * mA.transpose();  // >= −b·a
  Matrix D(mB.rows(), mA.rows());
  for (Eigen::Index l = 0; l < D.cols(); ++l) {
    const double a2 = mA.row(l).squaredNorm(), ar = std::sqrt(rA.row(l).squaredNorm());
    for (Eigen::Index i = 0; i < D.rows(); ++i) {
      const double q = mB.row(i).squaredNorm() + a2 + 2.0 * C(i, l);
      D(i, l) = std::sqrt(std::max(q, 0.0)) + ar + std::sqrt(rB.row(i).squaredNorm());
    }
  }
  return D;
}

/// R, e with ‖W z‖ <= ‖R z‖ + e ‖z‖: R from a float Householder QR of W, e = √‖WᵀW − RᵀR‖_F.
struct Factor {
  Matrix R;
  double e = 0.0;
};
Factor factor(const Matrix& W) {
  Factor f;
  {
    RoundingGuard nearest(Rounding::nearest);
    Eigen::HouseholderQR<Matrix> qr(W);
    const long r = std::min(W.rows(), W.cols());
    f.R = qr.matrixQR().topRows(r).triangularView<Eigen::Upper>();
  }
  UpwardScope up;
  const Matrix Wt = W.transpose(), nW = -W, Rt = f.R.transpose(), nR = -f.R;
  Matrix Ghi, Gnlo, Shi, Snlo;
  Ghi.noalias() = Wt * W;
  Gnlo.noalias() = Wt * nW;
  Shi.noalias() = Rt * f.R;
  Snlo.noalias() = Rt * nR;
  // G − S ∈ [−(Gnlo + Shi), Ghi + Snlo]
  double s = 0.0;
  for (Eigen::Index k = 0; k < Ghi.size(); ++k) {
    const double m = std::max(Ghi.data()[k] + Snlo.data()[k], Gnlo.data()[k] + Shi.data()[k]);
    s += m * m;
  }
  f.e = std::sqrt(std::sqrt(s));
  return f;
}

double norm_up(const Matrix& M) { return norm2_upper(M).value(); }

}  // namespace

std::string prove_structured_upper(const AttentionLayer& layer, const Matrix& X, double U) {
  const long n = X.rows(), H = layer.n_heads();
  const ForwardState<MpInterval> s = forward_fast(layer, CBox{X, X});
  const bool causal = layer.mask == Mask::causal;

  // Model constants and g_hk >= ‖W_O^hᵀ W_O^k‖ (enclosed product, verified interval norm).
  std::vector<Factor> FO, FK, FQ;
  std::vector<double> nu(H), mu(H), sc(H);
  for (long h = 0; h < H; ++h) {
    const Head& hd = layer.heads[h];
    FO.push_back(factor(hd.Wo));
    FK.push_back(factor(Matrix(hd.Wk.transpose())));
    FQ.push_back(factor(Matrix(hd.Wq.transpose())));
    nu[h] = norm_up(hd.Wv);
    sc[h] = s.scale[h].upper_up();
  }
  Matrix g(H, H);
  for (long h = 0; h < H; ++h) {
    const double r = norm2_upper(mul_enclose(FO[h].R, layer.heads[h].Wv)).value();
    {
      UpwardScope up;
      mu[h] = r + FO[h].e * nu[h];
    }
    for (long k = h; k < H; ++k)
      g(h, k) = g(k, h) = norm2_upper(mul_enclose(Matrix(layer.heads[h].Wo.transpose()), layer.heads[k].Wo)).value();
  }

  Matrix Nd = Matrix::Zero(n, n), NdR = Matrix::Zero(n, n);
  Vector eta(H), rho(H), pv(H);
  double pm_sum = 0.0;
  for (long h = 0; h < H; ++h) {
    UpwardScope up;
    const IM P = from_mp(s.P[h]), V = from_mp(s.V[h]), K = from_mp(s.K[h]), Q = from_mp(s.Q[h]);
    const Matrix Pu = P.hi.cwiseMax(0.0);
    const IM Vbar = times(P, V);
    Matrix kap;
    {
      RoundingGuard nearest(Rounding::nearest);
      kap = ((P.hi - P.nlo) * 0.5) * ((K.hi - K.nlo) * 0.5);
    }
    const IM Kap{kap, -kap};
    const Matrix RoT = FO[h].R.transpose(), RkT = FK[h].R.transpose(), RqT = FQ[h].R.transpose();
    const Matrix alpha = dist(V, Vbar);
    const Matrix a = dist(times(V, RoT), times(Vbar, RoT)) + FO[h].e * alpha;
    const Matrix c = sc[h] * (dist(times(K, RqT), times(Kap, RqT)) + FQ[h].e * dist(K, Kap));
    const IM RQ = times(Q, RkT);
    Vector b(n);
    for (long i = 0; i < n; ++i) {
      const double qn = std::sqrt(Q.hi.row(i).cwiseMax(Q.nlo.row(i)).squaredNorm());  // >= ‖q_i‖
      const double rq = std::sqrt(RQ.hi.row(i).cwiseMax(RQ.nlo.row(i)).squaredNorm());
      b(i) = sc[h] * (rq + FK[h].e * qn);
    }
    Matrix NY = Matrix::Zero(n, n), NYR = Matrix::Zero(n, n);
    for (long i = 0; i < n; ++i) {
      const long L = causal ? i + 1 : n;
      double dY = 0.0, dd = 0.0;
      for (long l = 0; l < L; ++l) {
        const double p = Pu(i, l);
        if (p == 0.0) continue;
        const double rY = p * (alpha(i, l) * b(i)), rd = p * (a(i, l) * b(i));
        NY(i, l) += p * nu[h] + rY;
        NYR(i, l) += rY;
        Nd(i, l) += p * mu[h] + rd;
        NdR(i, l) += rd;
        dY += p * (alpha(i, l) * c(i, l));
        dd += p * (a(i, l) * c(i, l));
      }
      NY(i, i) += dY;
      NYR(i, i) += dY;
      Nd(i, i) += dd;
      NdR(i, i) += dd;
    }
    const double pi = norm2_upper_nonneg(Pu).value();
    rho(h) = norm2_upper_nonneg(NYR).value();
    eta(h) = std::min(norm2_upper_nonneg(NY).value(), pi * nu[h] + rho(h));
    pv(h) = pi * nu[h];
    pm_sum += pi * mu[h];
  }
  UpwardScope up;
  auto quad = [&](const Vector& x) {
    double t = 0.0;
    for (long h = 0; h < H; ++h)
      for (long k = 0; k < H; ++k) t += x(h) * (g(h, k) * x(k));
    return std::sqrt(t);
  };
  const double block = norm2_upper_nonneg(Nd).value();
  const double split = std::min(pm_sum, quad(pv)) + std::min(norm2_upper_nonneg(NdR).value(), quad(rho));
  const double gram = quad(eta);
  const double best = std::min({block, split, gram});
  if (!(best <= U))
    throw Invalid("structured bound " + dec(best) + " (block " + dec(block) + ", split " + dec(split) +
                  ", gram " + dec(gram) + ") exceeds the claim " + dec(U));
  return "structured: ‖J‖ <= " + dec(best) + " <= claim (block-norm / Gram combination, MPFI softmax, QR Gram factors)";
}

}  // namespace attnbound::check
