// Rigorous lower bounds of spectral norms: ‖M‖₂ >= ‖Mv‖₂ / ‖v‖₂ for any v ≠ 0 (docs/linalg.md §5).
#include <cmath>
#include <stdexcept>

#include "linalg/detail.hpp"
#include "linalg/linalg.hpp"

namespace attnbound {

LowerBound ratio_lower(const IVector& Mv, const Vector& v) {
  detail::require_gradual_underflow("ratio_lower");
  if (!v.allFinite()) return LowerBound::zero();
  UpwardScope up;
  // ‖y‖² >= Σ mig(y_i)² for every y in the box; the interval sums keep both directions exact.
  Interval num = point(0.0);
  for (Eigen::Index i = 0; i < Mv.size(); ++i) {
    const double m = mig(Mv(i));
    if (!std::isfinite(m)) return LowerBound::zero();  // an entry with an infinite lower end: unusable
    num += square(point(m));
  }
  Interval den = point(0.0);
  for (Eigen::Index i = 0; i < v.size(); ++i) den += square(point(v(i)));
  if (!(den.upper() > 0) || !std::isfinite(den.upper())) return LowerBound::zero();
  const Interval ratio = sqrt(num / den);
  const double lo = ratio.lower();
  return std::isfinite(lo) && lo > 0 ? LowerBound::proved(lo) : LowerBound::zero();
}

LowerBound norm2_lower(const IMatrix& M, const Vector& v) {
  if (M.cols() != v.size()) throw std::invalid_argument("norm2_lower: size mismatch");
  return ratio_lower(mul(M, v), v);
}

LowerBound norm2_lower(const Matrix& M, const Vector& v) {
  if (M.cols() != v.size()) throw std::invalid_argument("norm2_lower: size mismatch");
  const Matrix V = v;
  const IMatrix y = mul_enclose(M, V);
  return ratio_lower(y.col(0), v);
}

}  // namespace attnbound
