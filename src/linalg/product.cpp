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
#include <utility>

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

namespace {

/// Am·B enclosed, given W >= Ar + γ_{k+2}|Am| and |B|.
MidRad core_interval_point(const Matrix& Am, const Matrix& W, const Matrix& B, const Matrix& Babs) {
  const Index n = Am.rows(), k = Am.cols(), m = B.cols();
  const double tail = underflow_tail(k);
  MidRad C{Matrix(n, m), Matrix(n, m)};
  split_output(n, k, m, [&](Index r0, Index rn, Index c0, Index cn) {
    auto mid = C.mid.block(r0, c0, rn, cn);
    auto rad = C.rad.block(r0, c0, rn, cn);
    gemm_nearest(Am.middleRows(r0, rn), B.middleCols(c0, cn), mid);
    gemm_up(W.middleRows(r0, rn), Babs.middleCols(c0, cn), rad);
    finish_up(mid, rad, nullptr, tail);
  });
  return C;
}

/// A·Bm enclosed, given |A| and X >= Br + γ_{k+2}|Bm|.
MidRad core_point_interval(const Matrix& A, const Matrix& Aabs, const Matrix& Bm, const Matrix& X) {
  const Index n = A.rows(), k = A.cols(), m = Bm.cols();
  const double tail = underflow_tail(k);
  MidRad C{Matrix(n, m), Matrix(n, m)};
  split_output(n, k, m, [&](Index r0, Index rn, Index c0, Index cn) {
    auto mid = C.mid.block(r0, c0, rn, cn);
    auto rad = C.rad.block(r0, c0, rn, cn);
    gemm_nearest(A.middleRows(r0, rn), Bm.middleCols(c0, cn), mid);
    gemm_up(Aabs.middleRows(r0, rn), X.middleCols(c0, cn), rad);
    finish_up(mid, rad, nullptr, tail);
  });
  return C;
}

/// The two pieces an interval operand contributes to a product with a point matrix: its
/// midpoint and W = fl_up(rad + γ|mid|), computed from the IMatrix in one pass (the formulas of
/// to_midrad followed by the weighting, without materialising rad).
struct Weighted {
  Matrix mid, w;
};

__attribute__((noinline)) Weighted weighted_from(const IMatrix& A, double g) {
  detail::require_gradual_underflow("mul");
  RoundingGuard up(Rounding::upward);
  Weighted r{Matrix(A.rows(), A.cols()), Matrix(A.rows(), A.cols())};
  const Interval* a = A.data();
  double* mid = r.mid.data();
  double* w = r.w.data();
  for (Index i = 0; i < A.size(); ++i) {
    const double lo = a[i].lower(), hi = a[i].upper();
    const double m = 0.5 * lo + 0.5 * hi;
    const double d1 = hi - m, d2 = m - lo;
    const double rad = d1 > d2 ? d1 : d2;
    const double am = m < 0 ? -m : m;
    const bool finite = (lo - lo == 0.0) & (hi - hi == 0.0);
    mid[i] = finite ? m : 0.0;
    w[i] = finite ? rad + g * am : kInf;
  }
  return r;
}

double gamma_for(Index k) { return detail::gamma_up(static_cast<long>(k) + 2); }

}  // namespace

PreparedMatrix::PreparedMatrix(Matrix m) : value_(std::move(m)), abs_(value_.cwiseAbs()) {}

MidRad mul(const MidRad& A, const Matrix& B) {
  check_midrad(A, "mul");
  check_inner(A.mid.cols(), B.rows(), "mul");
  return core_interval_point(A.mid, weighted_up(A.rad, A.mid, gamma_for(A.mid.cols())), B, B.cwiseAbs());
}
MidRad mul(const MidRad& A, const PreparedMatrix& B) {
  check_midrad(A, "mul");
  check_inner(A.mid.cols(), B.value().rows(), "mul");
  return core_interval_point(A.mid, weighted_up(A.rad, A.mid, gamma_for(A.mid.cols())), B.value(),
                             B.abs());
}
MidRad mul(const Matrix& A, const MidRad& B) {
  check_midrad(B, "mul");
  check_inner(A.cols(), B.mid.rows(), "mul");
  return core_point_interval(A, A.cwiseAbs(), B.mid, weighted_up(B.rad, B.mid, gamma_for(A.cols())));
}
MidRad mul(const PreparedMatrix& A, const MidRad& B) {
  check_midrad(B, "mul");
  check_inner(A.value().cols(), B.mid.rows(), "mul");
  return core_point_interval(A.value(), A.abs(), B.mid,
                             weighted_up(B.rad, B.mid, gamma_for(A.value().cols())));
}

namespace {

/// [Am ± Ar]·[Bm ± Br] enclosed, given |Am|, X >= Br + γ|Bm| and Y >= |Bm| + Br.
MidRad core_interval_interval(const Matrix& Am, const Matrix& Aabs, const Matrix& Ar,
                              const Matrix& Bm, const Matrix& X, const Matrix& Y) {
  const Index n = Am.rows(), k = Am.cols(), m = Bm.cols();
  const double tail = underflow_tail(k);
  MidRad C{Matrix(n, m), Matrix(n, m)};
  split_output(n, k, m, [&](Index r0, Index rn, Index c0, Index cn) {
    auto mid = C.mid.block(r0, c0, rn, cn);
    auto rad = C.rad.block(r0, c0, rn, cn);
    Matrix extra(rn, cn);
    gemm_nearest(Am.middleRows(r0, rn), Bm.middleCols(c0, cn), mid);
    gemm_up(Aabs.middleRows(r0, rn), X.middleCols(c0, cn), rad);
    gemm_up(Ar.middleRows(r0, rn), Y.middleCols(c0, cn), extra);
    finish_up(mid, rad, &extra, tail);
  });
  return C;
}

/// Left operand of an interval × interval product, from an IMatrix in one pass: mid, |mid|, rad.
struct LeftPieces {
  Matrix mid, abs_mid, rad;
  bool point = true;  // every radius is 0
};

__attribute__((noinline)) LeftPieces left_pieces(const IMatrix& A) {
  detail::require_gradual_underflow("mul");
  RoundingGuard up(Rounding::upward);
  LeftPieces r{Matrix(A.rows(), A.cols()), Matrix(A.rows(), A.cols()), Matrix(A.rows(), A.cols())};
  const Interval* a = A.data();
  bool point = true;
  for (Index i = 0; i < A.size(); ++i) {
    const double lo = a[i].lower(), hi = a[i].upper();
    const double m = 0.5 * lo + 0.5 * hi;
    const double d1 = hi - m, d2 = m - lo;
    const bool finite = (lo - lo == 0.0) & (hi - hi == 0.0);
    const double mid = finite ? m : 0.0;
    const double rad = finite ? (d1 > d2 ? d1 : d2) : kInf;
    r.mid.data()[i] = mid;
    r.abs_mid.data()[i] = mid < 0 ? -mid : mid;
    r.rad.data()[i] = rad;
    point &= rad == 0.0;
  }
  r.point = point;
  return r;
}

/// Right operand, in one pass: mid, X = fl_up(rad + γ|mid|), Y = fl_up(|mid| + rad).
struct RightPieces {
  Matrix mid, x, y;
};

__attribute__((noinline)) RightPieces right_pieces(const IMatrix& B, double g) {
  RoundingGuard up(Rounding::upward);
  RightPieces r{Matrix(B.rows(), B.cols()), Matrix(B.rows(), B.cols()), Matrix(B.rows(), B.cols())};
  const Interval* b = B.data();
  for (Index i = 0; i < B.size(); ++i) {
    const double lo = b[i].lower(), hi = b[i].upper();
    const double m = 0.5 * lo + 0.5 * hi;
    const double d1 = hi - m, d2 = m - lo;
    const double rad = d1 > d2 ? d1 : d2;
    const double am = m < 0 ? -m : m;
    const bool finite = (lo - lo == 0.0) & (hi - hi == 0.0);
    r.mid.data()[i] = finite ? m : 0.0;
    r.x.data()[i] = finite ? rad + g * am : kInf;
    r.y.data()[i] = finite ? am + rad : kInf;
  }
  return r;
}

}  // namespace

MidRad mul(const MidRad& A, const MidRad& B) {
  check_midrad(A, "mul");
  check_midrad(B, "mul");
  check_inner(A.mid.cols(), B.mid.rows(), "mul");
  if (A.rad.isZero(0.0)) return mul(A.mid, B);
  if (B.rad.isZero(0.0)) return mul(A, B.mid);
  const double g = gamma_for(A.mid.cols());
  return core_interval_interval(A.mid, A.mid.cwiseAbs(), A.rad, B.mid,
                                weighted_up(B.rad, B.mid, g), abs_plus_up(B.mid, B.rad));
}

IMatrix mul(const IMatrix& A, const IMatrix& B) {
  check_inner(A.cols(), B.rows(), "mul");
  const LeftPieces a = left_pieces(A);
  const RightPieces b = right_pieces(B, gamma_for(A.cols()));
  if (a.point) return to_intervals(core_point_interval(a.mid, a.abs_mid, b.mid, b.x));
  return to_intervals(core_interval_interval(a.mid, a.abs_mid, a.rad, b.mid, b.x, b.y));
}

IMatrix mul(const IMatrix& A, const Matrix& B) {
  check_inner(A.cols(), B.rows(), "mul");
  const Weighted a = weighted_from(A, gamma_for(A.cols()));
  return to_intervals(core_interval_point(a.mid, a.w, B, B.cwiseAbs()));
}

IMatrix mul(const Matrix& A, const IMatrix& B) {
  check_inner(A.cols(), B.rows(), "mul");
  const Weighted b = weighted_from(B, gamma_for(A.cols()));
  return to_intervals(core_point_interval(A, A.cwiseAbs(), b.mid, b.w));
}

IMatrix mul(const IMatrix& A, const PreparedMatrix& B) {
  check_inner(A.cols(), B.value().rows(), "mul");
  const Weighted a = weighted_from(A, gamma_for(A.cols()));
  return to_intervals(core_interval_point(a.mid, a.w, B.value(), B.abs()));
}

IMatrix mul(const PreparedMatrix& A, const IMatrix& B) {
  check_inner(A.value().cols(), B.rows(), "mul");
  const Weighted b = weighted_from(B, gamma_for(A.value().cols()));
  return to_intervals(core_point_interval(A.value(), A.abs(), b.mid, b.w));
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
