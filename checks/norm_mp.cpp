// gram_below_mp: the checker's own spectral-norm test, at a threshold given by the certificate.
//
// To prove sup_{M ∈ M} ‖M‖₂² < t2 it suffices that t2·I − MᵀM is positive definite for every
// member. G ⊇ {MᵀM} is enclosed in MPFI (the smaller Gram side); an interval Cholesky of t2·I − G
// whose every pivot interval is certainly positive proves it: for each member, the exact Cholesky
// pivots lie in the computed pivot intervals (induction over the steps, inclusion isotonicity), so
// they are all positive. No candidate search is needed: the threshold is the claim.
#include "internal.hpp"

namespace attnbound::check {

bool gram_below_mp(const MpMatrix& M, const MpInterval& t2) {
  const bool right = M.cols() <= M.rows();  // G = MᵀM (N = cols) or MMᵀ (N = rows)
  const Eigen::Index N = right ? M.cols() : M.rows(), K = right ? M.rows() : M.cols();
  auto x = [&](Eigen::Index k, Eigen::Index i) -> const MpInterval& { return right ? M(k, i) : M(i, k); };
  for (Eigen::Index k = 0; k < M.size(); ++k)
    if (M.data()[k].is_empty()) return false;
  if (!certainly_positive(t2)) return false;

  // A = t2·I − G, lower triangle.
  MpMatrix A(N, N);
  MpInterval tmp;
  for (Eigen::Index j = 0; j < N; ++j)
    for (Eigen::Index i = j; i < N; ++i) {
      MpInterval acc(0);
      for (Eigen::Index k = 0; k < K; ++k) {
        if (i == j) mpfi_sqr(tmp.raw(), x(k, i).raw());  // the square, without dependency
        else mpfi_mul(tmp.raw(), x(k, i).raw(), x(k, j).raw());
        mpfi_add(acc.raw(), acc.raw(), tmp.raw());
      }
      A(i, j) = i == j ? t2 - acc : -acc;
    }
  // In-place interval Cholesky (lower).
  for (Eigen::Index j = 0; j < N; ++j) {
    MpInterval s = A(j, j);
    for (Eigen::Index k = 0; k < j; ++k) {
      mpfi_sqr(tmp.raw(), A(j, k).raw());
      mpfi_sub(s.raw(), s.raw(), tmp.raw());
    }
    if (!certainly_positive(s)) return false;
    const MpInterval ljj = sqrt(s);
    A(j, j) = ljj;
    for (Eigen::Index i = j + 1; i < N; ++i) {
      MpInterval a = A(i, j);
      for (Eigen::Index k = 0; k < j; ++k) {
        mpfi_mul(tmp.raw(), A(i, k).raw(), A(j, k).raw());
        mpfi_sub(a.raw(), a.raw(), tmp.raw());
      }
      mpfi_div(a.raw(), a.raw(), ljj.raw());
      A(i, j) = a;
    }
  }
  return true;
}

}  // namespace attnbound::check
