// Verified positive definiteness by a floating-point Cholesky factorisation (Rump, BIT 46, 2006).
//
// Theorem (docs/linalg.md §3.2). Let A be real symmetric of dimension n whose off-diagonal entries
// are doubles, c >= (n+1)u/(1 − 2(n+1)u)·tr(A) + 4nη(2(n+1) + max A_ii), A_ii >= 0, 4(n+2)u < 1,
// and Ã the double matrix with Ã_ij = A_ij (i ≠ j), Ã_ii <= A_ii − c. If the round-to-nearest
// Cholesky of Ã, computed with any summation order and true divisions, runs to completion with
// positive pivots and finite entries, then A ≻ 0. (Proof: Ã + Δ = L̃L̃ᵀ with
// |Δ| <= γ_{n+1}|L̃||L̃ᵀ| + underflow terms, ‖|L̃|‖² <= ‖L̃‖_F² <= tr(Ã)/(1 − γ_{n+1}), so
// λmin(A) >= c + λmin(Ã) > c − ‖Δ‖ >= 0.) We use the one-step-larger constants
// (n+2)u/(1 − 2(n+2)u) and 8nη(2(n+2) + max A_ii).
//
// The factorisation below is ours, not Eigen's LLT (which multiplies by reciprocals: one rounding
// more than the model): a right-looking blocked algorithm whose trailing updates are Eigen GEMMs in
// round-to-nearest (alpha = −1 is exact there), with unblocked columns that divide.
#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>

#include "core/interval.hpp"
#include "linalg/detail.hpp"

namespace attnbound::detail {

namespace {
using Eigen::Index;
using MRef = Eigen::Ref<Matrix>;
constexpr Index kOuter = 256;  // panel width (trailing updates are GEMMs of this depth)
constexpr Index kInner = 32;   // column block inside a panel
constexpr Index kChunk = 256;  // column chunk of the trailing update handed to one thread

inline double pin(double x) {
  asm volatile("" : "+x"(x));
  return x;
}

/// Columns [q, q + qb) of the factor, left-looking within the block (contributions of columns
/// < q are already subtracted). Returns the failing column or -1.
Index factor_columns(MRef A, Index q, Index qb) {
  const Index n = A.rows();
  for (Index j = q; j < q + qb; ++j) {
    const Index len = n - j;
    if (j > q)
      A.col(j).tail(len).noalias() -=
          A.block(j, q, len, j - q) * A.row(j).segment(q, j - q).transpose();
    const double piv = A(j, j);
    if (!(piv > 0) || !std::isfinite(piv)) return j;
    const double d = pin(std::sqrt(pin(piv)));
    A(j, j) = d;
    double* c = &A.coeffRef(j, j);
    for (Index i = 1; i < len; ++i) c[i] = c[i] / d;  // true division (the proof's model)
  }
  return -1;
}

/// A(r:, r:) lower −= L Lᵀ restricted to the columns [c0, c0 + w), with L = A(r:, k:k+kb)
/// (rows aligned with A's rows from r on).
void update_columns(MRef A, Index r, Index k, Index kb, Index c0, Index w) {
  const Index n = A.rows();
  const auto L = A.block(r, k, n - r, kb);
  const auto Lc = L.middleRows(c0 - r, w);
  A.block(c0, c0, w, w).triangularView<Eigen::Lower>() -= Lc * Lc.transpose();
  const Index below = n - (c0 + w);
  if (below > 0) A.block(c0 + w, c0, below, w).noalias() -= L.bottomRows(below) * Lc.transpose();
}

/// Factors the panel A(k:, k:k+kb) (all earlier panels already applied).
Index factor_panel(MRef A, Index k, Index kb) {
  for (Index q = k; q < k + kb; q += kInner) {
    const Index qb = std::min(kInner, k + kb - q);
    const Index fail = factor_columns(A, q, qb);
    if (fail >= 0) return fail;
    const Index rest = k + kb - (q + qb);
    if (rest > 0) update_columns(A, q + qb, q, qb, q + qb, rest);
  }
  return -1;
}

}  // namespace

long cholesky_lower_rn(Eigen::Ref<Matrix> A, int threads) {
  if (A.rows() != A.cols()) throw std::invalid_argument("cholesky_lower_rn: not square");
  RoundingGuard nearest(Rounding::nearest);
  const Index n = A.rows();
  for (Index k = 0; k < n; k += kOuter) {
    const Index kb = std::min(kOuter, n - k);
    const Index fail = factor_panel(A, k, kb);
    if (fail >= 0) return static_cast<long>(fail);
    const Index s = k + kb;
    if (s >= n) break;
    const Index chunks = (n - s + kChunk - 1) / kChunk;
    const double work = static_cast<double>(n - s) * static_cast<double>(n - s) * static_cast<double>(kb);
    parallel_chunks(work >= 4.0e6 ? threads : 1, chunks, Rounding::nearest, [&](long c) {
      const Index c0 = s + c * kChunk;
      update_columns(A, s, k, kb, c0, std::min(kChunk, n - c0));
    });
  }
  for (Index j = 0; j < n; ++j)
    if (!A.col(j).tail(n - j).allFinite()) return static_cast<long>(j);
  return -1;
}

__attribute__((noinline)) double rump_shift_up(long n, double trace, double maxdiag) {
  if (!(trace >= 0) || !(maxdiag >= 0)) return std::numeric_limits<double>::infinity();
  UpwardScope up;
  const double m = static_cast<double>(n) + 2.0;  // exact
  double ku = pin(m * kUnitRoundoff);               // exact
  if (!(ku < 0.125)) return std::numeric_limits<double>::infinity();  // 4(n+2)u < 1/2
  const double den = -pin(pin(2.0 * ku) - 1.0);    // <= 1 − 2(n+2)u
  const double kappa = pin(ku / den);               // >= (n+2)u / (1 − 2(n+2)u)
  const double a = pin(kappa * trace);
  const double b = pin(pin(pin(8.0 * static_cast<double>(n)) * pin(pin(2.0 * m) + maxdiag)) * kEta);
  return pin(a + b);
}

namespace {
/// work_ii = fl_down(lo_i − c) (= −fl_up(c − lo_i)); returns false if one is not > 0.
__attribute__((noinline)) bool set_shifted_diagonal(Eigen::Ref<Matrix> work, const Vector& lo,
                                                    double c) {
  UpwardScope up;
  bool ok = true;
  for (Index i = 0; i < work.rows(); ++i) {
    const double d = -pin(pin(c) - pin(lo(i)));
    work(i, i) = d;
    ok = ok && d > 0;
  }
  return ok;
}

__attribute__((noinline)) bool trace_and_max_up(const Vector& hi, double& trace, double& maxdiag) {
  UpwardScope up;
  trace = 0.0;
  maxdiag = 0.0;
  for (Index i = 0; i < hi.size(); ++i) {
    const double h = hi(i);
    if (!(h >= 0) || !std::isfinite(h)) return false;
    trace = pin(trace + h);
    maxdiag = std::max(maxdiag, h);
  }
  return std::isfinite(trace);
}
}  // namespace

bool prove_pd_lower(Eigen::Ref<Matrix> work, const Vector& diag_lo, const Vector& diag_hi,
                    int threads) {
  const Index n = work.rows();
  if (work.cols() != n || diag_lo.size() != n || diag_hi.size() != n)
    throw std::invalid_argument("prove_pd_lower: size mismatch");
  if (n == 0) return true;
  double trace = 0, maxdiag = 0;
  if (!trace_and_max_up(diag_hi, trace, maxdiag)) return false;
  const double c = rump_shift_up(static_cast<long>(n), trace, maxdiag);
  if (!std::isfinite(c)) return false;
  if (!set_shifted_diagonal(work, diag_lo, c)) return false;
  return cholesky_lower_rn(work, threads) == -1;
}

}  // namespace attnbound::detail
