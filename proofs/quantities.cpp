// Verified model quantities for the statements: two-sided enclosures of ‖A_h‖ and ‖V_h‖ (of the
// augmented Ã_h, Ṽ_h when the layer has query/key biases) and of the radius R² (or R² + 1).
//
// Why both sides: a statement's value S(a, v, R) is increasing in a and v, so
// S ∈ [S(a_lo, v_lo), S(a_hi, v_hi)]. The lower end is what "holds" is compared with (certified
// upper ≤ S.lo), the upper end what "refuted" is compared with (certified lower > S.hi). One-sided
// norms would make one of the two verdicts unsound.
//
// Why tight: MF-type values carry e^{2aR²}, which turns a relative width δ of ‖A_h‖ into 2aR²·δ
// (≈ 1100 δ for GPT-2 at R = 100). The generic d × d route (paper_form_enclosure + Gram/Cholesky,
// δ ≈ 7e-11 at d = 768) would leave MF only ~1e-7-accurate. Heads with d_k < d therefore go through
// the d_k × d_k problem, in MPFI:
//   ‖PᵀQ‖² = λmax(QᵀPPᵀQ) = λmax(G_P G_Q) = ‖L_Qᵀ L_P‖²,  G_P = PPᵀ = L_P L_Pᵀ, G_Q = QQᵀ = L_Q L_Qᵀ,
// with P = W̃_Q, Q = W̃_K for A_h (then / √divisor) and P = W_Oᵀ, Q = W_V for V_h. G_P, G_Q are
// enclosed by directed-rounding GEMMs, their Cholesky factors by an interval Cholesky (which
// encloses the factor of every symmetric member; it fails, and the generic route is used, if a
// pivot is not certainly positive), and ‖L_Qᵀ L_P‖ by the pure-MPFI verified norm.
#include <Eigen/Eigenvalues>
#include <cmath>
#include <optional>

#include "attention/paper_form.hpp"
#include "linalg/linalg.hpp"
#include "proofs/theorems.hpp"

namespace attnbound::proofs {

namespace {

Matrix mid_of(const IMatrix& M) {
  Matrix R(M.rows(), M.cols());
  for (Eigen::Index i = 0; i < M.rows(); ++i)
    for (Eigen::Index j = 0; j < M.cols(); ++j) R(i, j) = 0.5 * M(i, j).lower() + 0.5 * M(i, j).upper();
  return R;
}

// [norm2_lower at the float top right singular vector of mid(M), norm2_upper(M)].
MpInterval norm_enclosure(const IMatrix& M) {
  const UpperBound hi = norm2_upper(M);
  double lo = 0.0;
  Matrix mid;
  {
    RoundingGuard nearest(Rounding::nearest);
    mid = mid_of(M);
  }
  if (mid.size() > 0 && mid.cwiseAbs().maxCoeff() > 0) {
    const auto top = attnbound::approx::top_singular(mid);
    if (top.v.size() == M.cols() && top.v.norm() > 0) lo = norm2_lower(M, top.v).value();
  }
  if (!(lo >= 0)) lo = 0.0;
  return MpInterval::hull(lo, std::max(lo, hi.value()));
}

// Interval Cholesky of the symmetric matrix whose lower triangle is enclosed by G; it encloses the
// factor of every symmetric member. nullopt if a pivot is not certainly positive. UpwardScope.
std::optional<IMatrix> interval_cholesky(const IMatrix& G) {
  const long k = G.rows();
  IMatrix L = IMatrix::Constant(k, k, point(0.0));
  for (long j = 0; j < k; ++j) {
    Interval diag = G(j, j);
    for (long t = 0; t < j; ++t) diag -= square(L(j, t));
    if (!certainly_positive(diag)) return std::nullopt;
    L(j, j) = sqrt(diag);
    for (long i = j + 1; i < k; ++i) {
      Interval x = G(i, j);
      for (long t = 0; t < j; ++t) x -= L(i, t) * L(j, t);
      L(i, j) = x / L(j, j);
    }
  }
  return L;
}

// Enclosure of ‖PᵀQ‖ through the k × k problem (P, Q: k × m, k < m), or nullopt.
//   ‖PᵀQ‖² = λmax(H),  H = L_Qᵀ G_P L_Q  (G_P = PPᵀ, G_Q = QQᵀ = L_Q L_Qᵀ; λ(G_P G_Q) = λ(H)).
// H is enclosed with midpoint H̃ (symmetric) and radius Δ; for the exact symmetric H, Weyl gives
// λmax(H) ≤ λmax(H̃) + ‖Δ‖ ≤ norm2_upper(H̃) + norm2_upper_nonneg(Δ), and any x gives
// λmax(H) ≥ xᵀHx / xᵀx (evaluated in interval arithmetic at the float top eigenvector of H̃).
// Widths stay at the rounding level of the k × k data, so ‖A_h‖ comes out ~1e-14-relative tight.
std::optional<MpInterval> lowrank_norm(const Matrix& P, const Matrix& Q) {
  const long k = P.rows();
  const IMatrix GP = mul_enclose(P, Matrix(P.transpose()));
  const IMatrix GQ = mul_enclose(Q, Matrix(Q.transpose()));
  Matrix Hmid(k, k), Hrad(k, k);
  IMatrix H;
  {
    UpwardScope up;
    const auto LQ = interval_cholesky(GQ);
    if (!LQ) return std::nullopt;
    H = mul(IMatrix(LQ->transpose()), mul(GP, *LQ));
    for (long i = 0; i < k; ++i)
      for (long j = 0; j <= i; ++j) {
        // The exact H is symmetric: both enclosures contain H_ij.
        const double lo = std::max(H(i, j).lower(), H(j, i).lower()), hi = std::min(H(i, j).upper(), H(j, i).upper());
        if (!(lo <= hi)) return std::nullopt;
        H(i, j) = H(j, i) = hull(lo, hi);
      }
  }
  const MidRad mr = to_midrad(H);
  Hmid = (mr.mid + mr.mid.transpose()) / 2;  // symmetric already up to the midpoint rounding
  {
    UpwardScope up;
    Hrad = mr.rad;
    for (long i = 0; i < k; ++i)
      for (long j = 0; j < k; ++j)  // |H − Hmid| ≤ rad + |mid − Hmid|, rounded up. Not fabs(mid − Hmid):
        // a negative difference rounded up is rounded towards 0, so its |·| could understate.
        Hrad(i, j) = mr.rad(i, j) + std::max(mr.mid(i, j) - Hmid(i, j), Hmid(i, j) - mr.mid(i, j));
  }
  if (!Hmid.allFinite() || !Hrad.allFinite()) return std::nullopt;
  const double lam_hi = (norm2_upper(Hmid) + norm2_upper_nonneg(Hrad)).value();
  Vector x;
  {
    RoundingGuard nearest(Rounding::nearest);
    Eigen::SelfAdjointEigenSolver<Matrix> es(Hmid);
    x = es.eigenvectors().col(k - 1);
  }
  double lam_lo = 0.0;
  {
    UpwardScope up;
    Interval num = point(0.0), den = point(0.0);
    for (long i = 0; i < k; ++i) {
      Interval hx = point(0.0);
      for (long j = 0; j < k; ++j) hx += H(i, j) * point(x(j));
      num += point(x(i)) * hx;
      den += square(point(x(i)));
    }
    lam_lo = std::max(0.0, (num / den).lower());
  }
  if (!(lam_hi >= lam_lo) || !std::isfinite(lam_hi)) return std::nullopt;
  return sqrt(MpInterval::hull(lam_lo, lam_hi));
}

}  // namespace

ModelQuantities model_quantities(const AttentionLayer& layer, double R) {
  ModelQuantities q;
  q.augmented = needs_augmentation(layer);
  q.R = R;
  const MpInterval r(R);
  q.R2 = r * r;
  if (q.augmented) q.R2 += MpInterval(1);
  std::optional<PaperFormEnclosure> pf;  // the generic route, built on first use
  auto generic = [&]() -> const PaperFormEnclosure& {
    if (!pf) {
      UpwardScope up;
      pf = paper_form_enclosure(layer, q.augmented);
    }
    return *pf;
  };
  for (std::size_t h = 0; h < layer.heads.size(); ++h) {
    const Head& hd = layer.heads[h];
    std::optional<MpInterval> a, v;
    if (!layer.paper_form && hd.dk() < layer.d) {
      a = lowrank_norm(with_bias(hd.Wq, hd.bq, q.augmented), with_bias(hd.Wk, hd.bk, q.augmented));
      if (a && hd.logit_divisor != 1) *a = *a / sqrt(MpInterval(static_cast<double>(hd.logit_divisor)));
    }
    if (!layer.paper_form && hd.Wv.rows() < layer.d) v = lowrank_norm(Matrix(hd.Wo.transpose()), hd.Wv);
    const bool a_lowrank = a.has_value(), v_lowrank = v.has_value();
    if (!a) a = norm_enclosure(generic().A[h]);
    if (!v) v = norm_enclosure(generic().V[h]);
    q.heads.push_back({*a, *v, a_lowrank, v_lowrank});
  }
  return q;
}

}  // namespace attnbound::proofs
