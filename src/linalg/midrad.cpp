// Conversions between interval matrices and their midpoint-radius form (docs/linalg.md §2).
#include <cmath>
#include <limits>
#include <stdexcept>

#include "linalg/detail.hpp"
#include "linalg/linalg.hpp"

namespace attnbound {

namespace {
constexpr double kInf = std::numeric_limits<double>::infinity();

inline double pin(double x) {
  asm volatile("" : "+x"(x));
  return x;
}
}  // namespace

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
    if (std::isfinite(lo) && std::isfinite(hi)) {
      // Any m works as long as rad is measured from the same m; both differences round up.
      const double m = pin(pin(0.5 * lo) + pin(0.5 * hi));
      const double d1 = pin(hi - m), d2 = pin(m - lo);
      mid[i] = m;
      rad[i] = d1 > d2 ? d1 : d2;
    } else {
      mid[i] = 0.0;  // unbounded or empty ("no information"): the entire line
      rad[i] = kInf;
    }
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
    if (std::isfinite(m) && std::isfinite(d)) {
      const double hi = pin(m + d);
      const double lo = -pin(d - m);  // -(fl_up(d - m)) <= m - d
      out[i] = Interval(lo, hi, true);
    } else {
      out[i] = Interval(-kInf, kInf, true);
    }
  }
  return r;
}

}  // namespace attnbound
