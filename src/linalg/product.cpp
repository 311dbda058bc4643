// Enclosed matrix products: midpoint-radius with a-priori error bounds (Rump 1999, 2012).
//
// Proof (docs/linalg.md §2). For A ∈ [Am ± Ar], B ∈ [Bm ± Br] (inner dimension k):
//   |AB − AmBm| <= |Am|Br + Ar(|Bm| + Br)                                   (exact algebra)
//   |fl_nearest(AmBm) − AmBm| <= γ_{k+2}|Am||Bm| + 2kη     (any summation order, FMA or not)
// so mid = fl_nearest(AmBm), rad = fl_up(|Am|(Br + γ|Bm|)) + fl_up(Ar(|Bm| + Br)) + 2kη encloses
// every AB: all radius quantities are non-negative, so an upward-rounded product or sum of them is
// >= its exact value whatever order the GEMM sums in.
//
// Rounding discipline (NUMERICS.md): every GEMM runs in its own noinline function that installs
// the mode it needs; only `noalias() = A*B` products are used (never `-=`, whose scaling by -1
// flips the rounding side); a lower bound is formed as -(fl_up((-A)·B)).
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>

#include "linalg/detail.hpp"
#include "linalg/linalg.hpp"

namespace attnbound {

namespace {

using Eigen::Index;
using CRef = Eigen::Ref<const Matrix>;
using MRef = Eigen::Ref<Matrix>;

constexpr double kInf = std::numeric_limits<double>::infinity();
/// Products with fewer multiply-adds than this run on the calling thread only.
constexpr double kParallelWork = 4.0e6;

void check_inner(Index a_cols, Index b_rows, const char* what) {
  detail::require_gradual_underflow(what);
  if (a_cols != b_rows)
    throw std::invalid_argument(std::string(what) + ": inner dimensions differ (" +
                                std::to_string(a_cols) + " vs " + std::to_string(b_rows) + ")");
}

void check_midrad(const MidRad& A, const char* what) {
  if (A.mid.rows() != A.rad.rows() || A.mid.cols() != A.rad.cols())
    throw std::invalid_argument(std::string(what) + ": mid and rad have different shapes");
  if ((A.rad.array() < 0).any())
    throw std::invalid_argument(std::string(what) + ": negative radius");
}

__attribute__((noinline)) void gemm_nearest(const CRef& A, const CRef& B, MRef C) {
  RoundingGuard g(Rounding::nearest);
  C.noalias() = A * B;
}

__attribute__((noinline)) void gemm_up(const CRef& A, const CRef& B, MRef C) {
  RoundingGuard g(Rounding::upward);
  C.noalias() = A * B;
}

/// X = fl_up(rad + g·|mid|) entrywise (non-negative operands: >= the exact value).
__attribute__((noinline)) Matrix weighted_up(const Matrix& rad, const Matrix& mid, double g) {
  RoundingGuard up(Rounding::upward);
  Matrix X(mid.rows(), mid.cols());
  X.array() = rad.array() + g * mid.array().abs();
  return X;
}

/// X = fl_up(|mid| + rad) entrywise.
__attribute__((noinline)) Matrix abs_plus_up(const Matrix& mid, const Matrix& rad) {
  RoundingGuard up(Rounding::upward);
  Matrix X(mid.rows(), mid.cols());
  X.array() = mid.array().abs() + rad.array();
  return X;
}

/// rad = fl_up(rad + extra + tail); entries whose mid or rad is not finite become mid 0, rad +inf
/// ("no information" instead of a NaN radius). Upward mode only, branch-free.
__attribute__((noinline)) void finish_up(MRef mid, MRef rad, const Matrix* extra, double tail) {
  RoundingGuard up(Rounding::upward);
  for (Index j = 0; j < rad.cols(); ++j) {
    double* m = mid.data() + j * mid.outerStride();
    double* r = rad.data() + j * rad.outerStride();
    const double* x = extra ? extra->data() + j * extra->outerStride() : nullptr;
    for (Index i = 0; i < rad.rows(); ++i) {
      const double v = (x ? r[i] + x[i] : r[i]) + tail;
      const bool finite = (v - v == 0.0) & (m[i] - m[i] == 0.0);
      m[i] = finite ? m[i] : 0.0;
      r[i] = finite ? v : kInf;
    }
  }
}

/// Splits the n×m output into `parts` blocks of rows (if n >= m) or columns, and calls
/// f(row0, rows, col0, cols) for each block on the linalg threads (upward mode by default; the
/// GEMM helpers install their own mode anyway).
template <class F>
void split_output(Index n, Index k, Index m, F&& f) {
  const int threads = detail::resolve_threads(0);
  const double work = static_cast<double>(n) * static_cast<double>(k) * static_cast<double>(m);
  int parts = (threads > 1 && work >= kParallelWork) ? threads : 1;
  const bool by_rows = n >= m;
  const Index len = by_rows ? n : m;
  if (len < parts) parts = static_cast<int>(std::max<Index>(len, 1));
  detail::parallel_chunks(parts, parts, Rounding::upward, [&](long p) {
    const Index b = len * p / parts, e = len * (p + 1) / parts;
    if (by_rows) f(b, e - b, Index(0), m);
    else f(Index(0), n, b, e - b);
  });
}

/// 2kη: the underflow term of a length-k dot product (exact: a multiple of the subnormal unit).
double underflow_tail(Index k) { return static_cast<double>(k) * 0x1p-1073; }

}  // namespace

MidRad mul(const MidRad& A, const Matrix& B) {
  check_midrad(A, "mul");
  check_inner(A.mid.cols(), B.rows(), "mul");
  const Index n = A.mid.rows(), k = A.mid.cols(), m = B.cols();
  const double g = detail::gamma_up(static_cast<long>(k) + 2);
  const Matrix W = weighted_up(A.rad, A.mid, g);  // Ar + γ|Am|
  const Matrix Babs = B.cwiseAbs();               // exact
  const double tail = underflow_tail(k);
  MidRad C{Matrix(n, m), Matrix(n, m)};
  split_output(n, k, m, [&](Index r0, Index rn, Index c0, Index cn) {
    auto mid = C.mid.block(r0, c0, rn, cn);
    auto rad = C.rad.block(r0, c0, rn, cn);
    gemm_nearest(A.mid.middleRows(r0, rn), B.middleCols(c0, cn), mid);
    gemm_up(W.middleRows(r0, rn), Babs.middleCols(c0, cn), rad);
    finish_up(mid, rad, nullptr, tail);
  });
  return C;
}

MidRad mul(const Matrix& A, const MidRad& B) {
  check_midrad(B, "mul");
  check_inner(A.cols(), B.mid.rows(), "mul");
  const Index n = A.rows(), k = A.cols(), m = B.mid.cols();
  const double g = detail::gamma_up(static_cast<long>(k) + 2);
  const Matrix X = weighted_up(B.rad, B.mid, g);  // Br + γ|Bm|
  const Matrix Aabs = A.cwiseAbs();
  const double tail = underflow_tail(k);
  MidRad C{Matrix(n, m), Matrix(n, m)};
  split_output(n, k, m, [&](Index r0, Index rn, Index c0, Index cn) {
    auto mid = C.mid.block(r0, c0, rn, cn);
    auto rad = C.rad.block(r0, c0, rn, cn);
    gemm_nearest(A.middleRows(r0, rn), B.mid.middleCols(c0, cn), mid);
    gemm_up(Aabs.middleRows(r0, rn), X.middleCols(c0, cn), rad);
    finish_up(mid, rad, nullptr, tail);
  });
  return C;
}

MidRad mul(const MidRad& A, const MidRad& B) {
  check_midrad(A, "mul");
  check_midrad(B, "mul");
  check_inner(A.mid.cols(), B.mid.rows(), "mul");
  if (A.rad.isZero(0.0)) return mul(A.mid, B);
  if (B.rad.isZero(0.0)) return mul(A, B.mid);
  const Index n = A.mid.rows(), k = A.mid.cols(), m = B.mid.cols();
  const double g = detail::gamma_up(static_cast<long>(k) + 2);
  const Matrix X = weighted_up(B.rad, B.mid, g);  // Br + γ|Bm|
  const Matrix Y = abs_plus_up(B.mid, B.rad);     // |Bm| + Br
  const Matrix Aabs = A.mid.cwiseAbs();
  const double tail = underflow_tail(k);
  MidRad C{Matrix(n, m), Matrix(n, m)};
  split_output(n, k, m, [&](Index r0, Index rn, Index c0, Index cn) {
    auto mid = C.mid.block(r0, c0, rn, cn);
    auto rad = C.rad.block(r0, c0, rn, cn);
    Matrix extra(rn, cn);
    gemm_nearest(A.mid.middleRows(r0, rn), B.mid.middleCols(c0, cn), mid);
    gemm_up(Aabs.middleRows(r0, rn), X.middleCols(c0, cn), rad);
    gemm_up(A.rad.middleRows(r0, rn), Y.middleCols(c0, cn), extra);
    finish_up(mid, rad, &extra, tail);
  });
  return C;
}

IMatrix mul(const IMatrix& A, const IMatrix& B) {
  check_inner(A.cols(), B.rows(), "mul");
  return to_intervals(mul(to_midrad(A), to_midrad(B)));
}

IMatrix mul(const IMatrix& A, const Matrix& B) {
  check_inner(A.cols(), B.rows(), "mul");
  return to_intervals(mul(to_midrad(A), B));
}

IMatrix mul(const Matrix& A, const IMatrix& B) {
  check_inner(A.cols(), B.rows(), "mul");
  return to_intervals(mul(A, to_midrad(B)));
}

IVector mul(const IMatrix& A, const Vector& x) {
  check_inner(A.cols(), x.rows(), "mul");
  const Matrix X = x;
  const IMatrix R = mul(A, X);
  return R.col(0);
}

IMatrix mul_enclose(const Matrix& A, const Matrix& B) {
  check_inner(A.cols(), B.rows(), "mul_enclose");
  const Index n = A.rows(), k = A.cols(), m = B.cols();
  // Negate the smaller operand (exact); the lower bound is -fl_up(-(A·B)).
  const bool negate_a = A.size() <= B.size();
  const Matrix Neg = negate_a ? Matrix(-A) : Matrix(-B);
  Matrix hi(n, m), neg_lo(n, m);
  split_output(n, k, m, [&](Index r0, Index rn, Index c0, Index cn) {
    gemm_up(A.middleRows(r0, rn), B.middleCols(c0, cn), hi.block(r0, c0, rn, cn));
    if (negate_a)
      gemm_up(Neg.middleRows(r0, rn), B.middleCols(c0, cn), neg_lo.block(r0, c0, rn, cn));
    else
      gemm_up(A.middleRows(r0, rn), Neg.middleCols(c0, cn), neg_lo.block(r0, c0, rn, cn));
  });
  IMatrix C(n, m);
  for (Index j = 0; j < m; ++j)
    for (Index i = 0; i < n; ++i) {
      const double h = hi(i, j), l = -neg_lo(i, j);
      if (std::isnan(h) || std::isnan(l)) C(i, j) = Interval(-kInf, kInf, true);
      else C(i, j) = Interval(l, h, true);
    }
  return C;
}

}  // namespace attnbound
