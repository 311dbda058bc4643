#include "attention/products.hpp"

namespace attnbound::detail {

// TEMPORARY: scalar interval loops until linalg's midpoint-radius kernels land.
template <>
Mat<Interval> mm(const Mat<Interval>& A, const Mat<Interval>& B) {
  return loop_product(A, B);
}
template <>
Mat<Interval> mmw(const Mat<Interval>& A, const Matrix& W) {
  return loop_product(A, W);
}
template <>
Mat<Interval> wmm(const Matrix& W, const Mat<Interval>& B) {
  return loop_product(Mat<Interval>(W.cast<Interval>()), B);
}
template <>
Mat<Interval> mm_exact<Interval>(const Matrix& A, const Matrix& B) {
  return loop_product(Mat<Interval>(A.cast<Interval>()), B);
}

}  // namespace attnbound::detail
