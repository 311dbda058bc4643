// Conversions between interval matrices and their midpoint-radius form (docs/linalg.md §2).
#include <cmath>
#include <limits>
#include <stdexcept>

#include "linalg/detail.hpp"
#include "linalg/linalg.hpp"

namespace attnbound {

namespace {
constexpr double kInf = std::numeric_limits<double>::infinity();
}  // namespace

// Both conversions run entirely under upward rounding (no value is computed under two modes, so
// no barriers are needed) and are branch-free so that they vectorise: they sit on the hot path of
// every interval product.

__attribute__((noinline)) MidRad to_midrad(const IMatrix& A) {
  detail::require_gradual_underflow("to_midrad");
  UpwardScope up;
  MidRad r{Matrix(A.rows(), A.cols()), Matrix(A.rows(), A.cols())};
  const Eigen::Index n = A.size();
  const Interval* a = A.data();
  double* mid = r.mid.data();
  double* rad = r.rad.data();
  for (Eigen::Index i = 0; i < n; ++i) {
    const double lo = a[i].lower(), hi = a[i].upper();
    // Any m works as long as rad is measured from the same m; both differences round up.
    const double m = 0.5 * lo + 0.5 * hi;
    const double d1 = hi - m, d2 = m - lo;
    // Unbounded or empty ("no information") entries become the entire line: x − x == 0 exactly
    // when x is finite.
    const bool finite = (lo - lo == 0.0) & (hi - hi == 0.0);
    mid[i] = finite ? m : 0.0;
    rad[i] = finite ? (d1 > d2 ? d1 : d2) : kInf;
  }
  return r;
}

__attribute__((noinline)) IMatrix to_intervals(const MidRad& A) {
  detail::require_gradual_underflow("to_intervals");
  if (A.mid.rows() != A.rad.rows() || A.mid.cols() != A.rad.cols())
    throw std::invalid_argument("to_intervals: mid and rad have different shapes");
  if ((A.rad.array() < 0).any()) throw std::invalid_argument("to_intervals: negative radius");
  UpwardScope up;
  IMatrix r(A.mid.rows(), A.mid.cols());
  const Eigen::Index n = A.mid.size();
  const double* mid = A.mid.data();
  const double* rad = A.rad.data();
  Interval* out = r.data();
  for (Eigen::Index i = 0; i < n; ++i) {
    const double m = mid[i], d = rad[i];
    const double hi = m + d;
    const double lo = -(d - m);  // -(fl_up(d − m)) <= m − d
    const bool finite = (m - m == 0.0) & (d - d == 0.0);
    out[i] = Interval(finite ? lo : -kInf, finite ? hi : kInf, true);
  }
  return r;
}

}  // namespace attnbound
