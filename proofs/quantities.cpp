// Verified model quantities for the statements: two-sided enclosures of ‖A_h‖ and ‖V_h‖ (of the
// augmented Ã_h, Ṽ_h when the layer has query/key biases) and of the radius R² (or R² + 1).
//
// Why both sides: a statement's value S(a, v, R) is increasing in a and v, so
// S ∈ [S(a_lo, v_lo), S(a_hi, v_hi)]. The lower end is what "holds" is compared with (certified
// upper ≤ S.lo), the upper end what "refuted" is compared with (certified lower > S.hi). One-sided
// norms would make one of the two verdicts unsound.
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

}  // namespace

ModelQuantities model_quantities(const AttentionLayer& layer, double R) {
  ModelQuantities q;
  q.augmented = needs_augmentation(layer);
  q.R = R;
  const MpInterval r(R);
  q.R2 = r * r;
  if (q.augmented) q.R2 += MpInterval(1);
  PaperFormEnclosure pf;
  {
    UpwardScope up;
    pf = paper_form_enclosure(layer, q.augmented);
  }
  for (std::size_t h = 0; h < pf.A.size(); ++h) q.heads.push_back({norm_enclosure(pf.A[h]), norm_enclosure(pf.V[h])});
  return q;
}

}  // namespace attnbound::proofs
