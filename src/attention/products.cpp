#include "attention/products.hpp"

#include "linalg/linalg.hpp"

namespace attnbound::detail {

// Interval products go through linalg's midpoint-radius kernels (enclosures, see linalg.hpp).
template <>
Mat<Interval> mm(const Mat<Interval>& A, const Mat<Interval>& B) {
  return mul(A, B);
}
template <>
Mat<Interval> mmw(const Mat<Interval>& A, const Matrix& W) {
  return mul(A, W);
}
template <>
Mat<Interval> wmm(const Matrix& W, const Mat<Interval>& B) {
  return mul(W, B);
}
template <>
Mat<Interval> mm_exact<Interval>(const Matrix& A, const Matrix& B) {
  return mul_enclose(A, B);
}

}  // namespace attnbound::detail
