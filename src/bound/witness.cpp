// Lower-bound witnesses: constructions from THEORY.md §3 (approximate) and their rigorous value.
#include <Eigen/Cholesky>
#include <Eigen/Eigenvalues>
#include <cmath>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <random>
#include <mutex>
#include <optional>

#include "bound/bound.hpp"
#include "linalg/linalg.hpp"

namespace attnbound {

namespace {
template <class T>
Mat<T> as(const Matrix& X) {
  Mat<T> Y(X.rows(), X.cols());
  for (Eigen::Index i = 0; i < X.rows(); ++i)
    for (Eigen::Index a = 0; a < X.cols(); ++a) Y(i, a) = T(X(i, a));
  return Y;
}
}  // namespace

LowerBound evaluate_witness(const AttentionLayer& layer, const Matrix& X, const Matrix& dir) {
  if (dir.rows() != X.rows() || dir.cols() != X.cols() || !(dir.array() != 0).any())
    return LowerBound::zero();
  UpwardScope up;
  const auto s = forward<Interval>(layer, as<Interval>(X));
  const IMatrix y = jvp<Interval>(layer, s, as<Interval>(dir));
  return ratio_lower(flatten<Interval>(y), flatten<double>(dir));
}

namespace approx {

namespace {
struct SymEigen {
  double lmax, lmin;
  Vector umax, umin;
};
SymEigen sym_eigen_uncached(const Matrix& A) {
  const long d = A.rows();
  const Matrix S = (A + A.transpose()) / 2;
  if (d > 256) {
    // Real heads have rank(A) = d_k ≪ d, so S has rank <= 2 d_k: a randomized range finder with
    // 256 columns captures its extreme eigenpairs (exactly when the rank is below 256). Candidates
    // only: an approximate eigenvector just makes a weaker witness.
    std::mt19937_64 rng(12345);
    std::normal_distribution<double> g;
    Matrix Om(d, 256);
    for (Eigen::Index k = 0; k < Om.size(); ++k) Om.data()[k] = g(rng);
    const Matrix Y = S * (S * Om);
    const Eigen::HouseholderQR<Matrix> qr(Y);
    const Matrix B = qr.householderQ() * Matrix::Identity(d, 256);
    Eigen::SelfAdjointEigenSolver<Matrix> es(Matrix(B.transpose() * S * B));
    const long k = B.cols();
    return {es.eigenvalues()(k - 1), es.eigenvalues()(0), B * es.eigenvectors().col(k - 1), B * es.eigenvectors().col(0)};
  }
  Eigen::SelfAdjointEigenSolver<Matrix> es(S);
  return {es.eigenvalues()(d - 1), es.eigenvalues()(0), es.eigenvectors().col(d - 1),
          es.eigenvectors().col(0)};
}

std::uint64_t fnv(std::uint64_t h, const double* p, std::size_t count) {
  const auto* bytes = reinterpret_cast<const unsigned char*>(p);
  for (std::size_t k = 0; k < sizeof(double) * count; ++k) h = (h ^ bytes[k]) * 1099511628211ULL;
  return h;
}

// approx::paper_form of the layer, memoised (the families call it once per head and per n; at
// GPT-2 width each call is 12 d × d_k × d products).
std::shared_ptr<const PaperForm> paper_form_memo(const AttentionLayer& layer) {
  std::uint64_t h = 1469598103934665603ULL ^ static_cast<std::uint64_t>(layer.d);
  for (const Head& hd : layer.heads) {
    h = (h ^ static_cast<std::uint64_t>(hd.logit_divisor)) * 1099511628211ULL;
    for (const Matrix* M : {&hd.Wq, &hd.Wk, &hd.Wv, &hd.Wo}) h = fnv(h ^ static_cast<std::uint64_t>(M->size()), M->data(), M->size());
  }
  static std::mutex mu;
  static std::uint64_t key = 0;
  static std::shared_ptr<const PaperForm> last;
  {
    std::lock_guard<std::mutex> lk(mu);
    if (last && key == h) return last;
  }
  auto pf = std::make_shared<const PaperForm>(paper_form(layer, false));
  std::lock_guard<std::mutex> lk(mu);
  key = h;
  last = pf;
  return pf;
}
// The witness families all need the extreme eigenpairs of every head, at several n: at d = 768
// the dense eigensolver dominates, so results are memoised by the matrix's bytes (FNV-1a).
SymEigen sym_eigen(const Matrix& A) {
  const std::uint64_t hsh = fnv(1469598103934665603ULL ^ static_cast<std::uint64_t>(A.rows() * 131 + A.cols()),
                                A.data(), static_cast<std::size_t>(A.size()));
  static std::mutex mu;
  static std::map<std::uint64_t, std::pair<Matrix, SymEigen>> cache;
  {
    std::lock_guard<std::mutex> lk(mu);
    auto it = cache.find(hsh);
    if (it != cache.end() && it->second.first == A) return it->second.second;
  }
  SymEigen e = sym_eigen_uncached(A);
  std::lock_guard<std::mutex> lk(mu);
  if (cache.size() >= 64) cache.clear();
  cache[hsh] = {A, e};
  return e;
}
Matrix row_direction(long n, const Vector& u, long rows = 1) {
  Matrix D = Matrix::Zero(n, u.size());
  for (long i = 0; i < rows && i < n; ++i) D.row(i) = u.transpose();
  return D;
}
}  // namespace

std::vector<Witness> lb1_witnesses(const AttentionLayer& layer, long n, double R) {
  RoundingGuard nearest(Rounding::nearest);
  const std::shared_ptr<const PaperForm> pfp = paper_form_memo(layer);
  const PaperForm& pf = *pfp;
  const BallProduct ball{n, layer.d, R};
  std::vector<Witness> out;
  for (std::size_t h = 0; h < pf.A.size(); ++h) {
    const SymEigen e = sym_eigen(pf.A[h]);
    const std::string tag = "LB1(head " + std::to_string(h) + ")";
    if (e.lmax > 0) {
      Matrix X(n, layer.d);
      for (long i = 0; i < n; ++i) X.row(i) = (i == 0 ? R : R / 2) * e.umax.transpose();
      out.push_back({tag, ball.project(X), row_direction(n, e.umax)});
    }
    if (e.lmin < 0 && e.lmax <= -8 * e.lmin) {
      Matrix X(n, layer.d);
      for (long i = 0; i < n; ++i) X.row(i) = (i == 0 ? -R : R) * e.umin.transpose();
      out.push_back({"LB1-mirrored(head " + std::to_string(h) + ")", ball.project(X),
                     row_direction(n, e.umin)});
    }
  }
  return out;
}

Witness lb_cluster_witness(const AttentionLayer& layer, long n, double R, long head) {
  RoundingGuard nearest(Rounding::nearest);
  const std::shared_ptr<const PaperForm> pfp = paper_form_memo(layer);
  const PaperForm& pf = *pfp;
  const SymEigen e = sym_eigen(pf.A.at(static_cast<std::size_t>(head)));
  const double c = std::max(e.lmax, 0.0) * R * R / 4;
  long k = std::lround(static_cast<double>(n) * std::exp(-c) / (1 + std::exp(-c)));
  k = std::clamp<long>(k, 1, std::max<long>(1, n - 1));
  Matrix X(n, layer.d);
  for (long i = 0; i < n; ++i) X.row(i) = (i < k ? R : R / 2) * e.umax.transpose();
  const BallProduct ball{n, layer.d, R};
  return {"LB-cluster(head " + std::to_string(head) + ", k=" + std::to_string(k) + ")",
          ball.project(X), row_direction(n, e.umax / std::sqrt(static_cast<double>(k)), k)};
}


namespace {
// The point u(θ) = cos θ c + sin θ e (c, e orthonormal) on the quadric uᵀSu = q between c and e,
// by bisection on θ ∈ [0, π/2] (uᵀSu in closed form from cᵀSc, cᵀSe, eᵀSe); nullopt when the two
// ends are on the same side.
using LinOp = std::function<Vector(const Vector&)>;

/// u ↦ A u, Aᵀu, V u, Vᵀu for one head, through the head's factors when they are thinner than d
/// (A = W_QᵀW_K/√div, V = W_O W_V: 4 d·d_k instead of d² flops), else the dense paper form.
/// The operators refer to hd, A and V, which must outlive them. No guarantee (floating point).
struct HeadOperators {
  LinOp Au, Atu, Vu, Vtu;
};
HeadOperators head_operators(const AttentionLayer& layer, const Head& hd, const Matrix& A, const Matrix& V) {
  if (!layer.paper_form && hd.dk() < layer.d && hd.Wv.rows() < layer.d) {
    const double sc = 1.0 / std::sqrt(static_cast<double>(hd.logit_divisor));
    return {[&hd, sc](const Vector& u) { return Vector(sc * (hd.Wq.transpose() * (hd.Wk * u))); },
            [&hd, sc](const Vector& u) { return Vector(sc * (hd.Wk.transpose() * (hd.Wq * u))); },
            [&hd](const Vector& u) { return Vector(hd.Wo * (hd.Wv * u)); },
            [&hd](const Vector& u) { return Vector(hd.Wv.transpose() * (hd.Wo.transpose() * u)); }};
  }
  return {[&A](const Vector& u) { return Vector(A * u); }, [&A](const Vector& u) { return Vector(A.transpose() * u); },
          [&V](const Vector& u) { return Vector(V * u); }, [&V](const Vector& u) { return Vector(V.transpose() * u); }};
}

std::optional<Vector> onto_quadric(const LinOp& S, const Vector& c, const Vector& e, double q) {
  const Vector Sc = S(c);
  const double al = c.dot(Sc), be = e.dot(Sc), ga = e.dot(S(e));
  auto h = [&](double t) {
    const double co = std::cos(t), si = std::sin(t);
    return al * co * co + 2 * be * si * co + ga * si * si - q;
  };
  double lo = 0.0, hi = std::acos(-1.0) / 2;
  const double hlo = h(lo), hhi = h(hi);
  if (hlo == 0) return c;
  if ((hlo > 0) == (hhi > 0)) return std::nullopt;
  for (int it = 0; it < 80; ++it) {
    const double mid = (lo + hi) / 2;
    if ((h(mid) > 0) == (hlo > 0)) lo = mid;
    else hi = mid;
  }
  const double t = (lo + hi) / 2;
  return Vector(std::cos(t) * c + std::sin(t) * e);
}

// Moves the unit vector c onto uᵀSu = q along the great circle towards the eigenvector of S whose
// eigenvalue is on the other side of q (orthogonalised against c).
std::optional<Vector> project_quadric(const LinOp& S, const SymEigen& e, const Vector& c, double q) {
  const double f = c.dot(S(c)) - q;
  const Vector& target = f > 0 ? e.umin : e.umax;
  Vector t = target - target.dot(c) * c;
  if (!(t.norm() > 1e-8)) return std::nullopt;
  t.normalize();
  return onto_quadric(S, c, t, q);
}

// The proxy of docs/ball.md §4: Σ_{i≥2} [p_i (1 − p_i)]², p_i the pole's attention weight in row i.
double pole_proxy(long n, double delta, bool causal) {
  double s = 0;
  for (long i = 2; i <= n; ++i) {
    const double others = causal ? double(i - 1) : double(n - 1);
    const double p = 1.0 / (1.0 + others * std::exp(-delta));
    s += (p * (1 - p)) * (p * (1 - p));
  }
  return s;
}
}  // namespace

std::vector<Witness> balanced_witnesses(const AttentionLayer& layer, long n, double R) {
  RoundingGuard nearest(Rounding::nearest);
  const std::shared_ptr<const PaperForm> pfp = paper_form_memo(layer);
  const PaperForm& pf = *pfp;
  const BallProduct ball{n, layer.d, R};
  const bool causal = layer.mask == Mask::causal;
  // The logit gap δ = s_i1 − s_ij between the pole and the other tokens (tokens x_1 = Ru,
  // x_j = −Ru give δ = −2R² uᵀAu).
  double best_delta = 0, best_proxy = -1;
  for (double delta = -4; delta <= std::log(double(std::max<long>(n, 2))) + 4; delta += 0.02) {
    const double p = pole_proxy(n, delta, causal);
    if (p > best_proxy) best_proxy = p, best_delta = delta;
  }
  if (n < 2) best_delta = 0;
  const double q = -best_delta / (2 * R * R);
  std::vector<Witness> out;
  Vector joint_start;
  double joint_start_F = -1;
  for (std::size_t h = 0; h < pf.A.size(); ++h) {
    const Matrix& A = pf.A[h];
    const Matrix& V = pf.V[h];
    const Head& hd = layer.heads[h];
    const auto [Au, Atu, Vu, Vtu] = head_operators(layer, hd, A, V);
    const LinOp S = [&](const Vector& u) { return Vector((Au(u) + Atu(u)) / 2); };
    const SymEigen e = sym_eigen(A);
    if (!(e.lmin < q && q < e.lmax)) continue;  // the quadric uᵀSu = q misses the unit sphere
    // F(u) = ‖Vu‖² (‖Aᵀu‖² + ‖Au‖²): the size of the pole column and of the query term D.
    auto VtV = [&](const Vector& u) { return Vtu(Vu(u)); };
    auto AA = [&](const Vector& u) { return Vector(Au(Atu(u)) + Atu(Au(u))); };
    auto F = [&](const Vector& u) { return u.dot(VtV(u)) * u.dot(AA(u)); };
    const long d = layer.d;
    std::vector<Vector> starts;
    starts.push_back(attnbound::approx::top_singular(Vu, Vtu, d, 40, 1e-8).v);
    const TopSingular ta = attnbound::approx::top_singular(Au, Atu, d, 40, 1e-8);
    starts.push_back(ta.v);
    starts.push_back(ta.u);
    Vector best;
    double bestF = -1;
    for (Vector c : starts) {
      if (!(c.norm() > 0)) continue;
      c.normalize();
      auto u = project_quadric(S, e, c, q);
      // Projected ascent: the gradient step of F on the sphere, then back onto the quadric.
      for (int it = 0; u && it < 40; ++it) {
        const Vector vu = VtV(*u), au = AA(*u);
        Vector g = u->dot(au) * vu + u->dot(vu) * au;
        if (!(g.norm() > 0)) break;
        g.normalize();
        auto next = project_quadric(S, e, g, q);
        if (!next || F(*next) <= F(*u)) break;
        u = next;
      }
      if (u && F(*u) > bestF) bestF = F(*u), best = *u;
    }
    if (bestF < 0) continue;
    Matrix X(n, layer.d);
    for (long i = 0; i < n; ++i) X.row(i) = (i == 0 ? R : -R) * best.transpose();
    Vector w = Atu(best);
    if (!(w.norm() > 0)) w = best;
    out.push_back({"balanced-pole(head " + std::to_string(h) + ")", ball.project(X), row_direction(n, w.normalized())});
    if (bestF > joint_start_F) joint_start_F = bestF, joint_start = best;
  }
  // The heads jointly: u on the intersection of every head's quadric uᵀS_g u = q (and the sphere),
  // so that no head's attention locks onto one token; ascent of Σ_g F_g from the best single-head u.
  // The intersection is reached by Gauss–Newton on the H + 1 constraints (minimum-norm steps).
  const long H = static_cast<long>(pf.A.size());
  if (H > 1 && joint_start.size() == layer.d && layer.d > H + 1) {
    std::vector<LinOp> Sg(static_cast<std::size_t>(H));
    std::vector<std::function<double(const Vector&)>> Fg(static_cast<std::size_t>(H));
    std::vector<std::function<Vector(const Vector&)>> gradF(static_cast<std::size_t>(H));
    for (long g = 0; g < H; ++g) {
      const Head& hd = layer.heads[static_cast<std::size_t>(g)];
      const Matrix& A = pf.A[static_cast<std::size_t>(g)];
      const Matrix& V = pf.V[static_cast<std::size_t>(g)];
      const auto [Au, Atu, Vu, Vtu] = head_operators(layer, hd, A, V);
      Sg[static_cast<std::size_t>(g)] = [Au, Atu](const Vector& u) { return Vector((Au(u) + Atu(u)) / 2); };
      auto VtV = [Vu, Vtu](const Vector& u) { return Vtu(Vu(u)); };
      auto AA = [Au, Atu](const Vector& u) { return Vector(Au(Atu(u)) + Atu(Au(u))); };
      Fg[static_cast<std::size_t>(g)] = [VtV, AA](const Vector& u) { return u.dot(VtV(u)) * u.dot(AA(u)); };
      gradF[static_cast<std::size_t>(g)] = [VtV, AA](const Vector& u) {
        const Vector vu = VtV(u), au = AA(u);
        return Vector(u.dot(au) * vu + u.dot(vu) * au);
      };
    }
    auto project_all = [&](Vector u) -> std::optional<Vector> {
      for (int it = 0; it < 30; ++it) {
        Matrix Jc(H + 1, layer.d);
        Vector phi(H + 1);
        for (long g = 0; g < H; ++g) {
          const Vector su = Sg[static_cast<std::size_t>(g)](u);
          phi(g) = u.dot(su) - q;
          Jc.row(g) = 2 * su.transpose();
        }
        phi(H) = u.dot(u) - 1;
        Jc.row(H) = 2 * u.transpose();
        if (phi.cwiseAbs().maxCoeff() <= 1e-3 / (R * R)) return u;
        const Matrix G = Jc * Jc.transpose();
        const Vector y = G.ldlt().solve(phi);
        if (!y.allFinite()) return std::nullopt;
        u -= Jc.transpose() * y;
      }
      return std::nullopt;
    };
    auto total = [&](const Vector& u) {
      double t = 0;
      for (long g = 0; g < H; ++g) t += Fg[static_cast<std::size_t>(g)](u);
      return t;
    };
    std::optional<Vector> u = project_all(joint_start);
    double step = 0.5;
    for (int it = 0; u && it < 40 && step > 1e-4; ++it) {
      Vector gsum = Vector::Zero(layer.d);
      for (long g = 0; g < H; ++g) gsum += gradF[static_cast<std::size_t>(g)](*u);
      gsum -= gsum.dot(*u) * *u;  // tangent to the sphere
      if (!(gsum.norm() > 0)) break;
      const std::optional<Vector> next = project_all(Vector(*u + step * gsum.normalized()));
      if (next && total(*next) > total(*u)) u = next, step *= 1.5;
      else step /= 2;
    }
    if (u) {
      const Vector uu = u->normalized();
      Matrix X(n, layer.d);
      for (long i = 0; i < n; ++i) X.row(i) = (i == 0 ? R : -R) * uu.transpose();
      Vector w = Vector::Zero(layer.d);
      for (long g = 0; g < H; ++g) w += pf.A[static_cast<std::size_t>(g)].transpose() * uu;
      if (!(w.norm() > 0)) w = uu;
      out.push_back({"balanced-joint(all heads)", ball.project(X), row_direction(n, w.normalized())});
    }
  }
  return out;
}

}  // namespace approx

}  // namespace attnbound
