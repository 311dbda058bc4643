// Internal: the matrix products the attention templates are written in, dispatched per scalar.
//   double        Eigen's GEMM.
//   Interval      linalg's midpoint-radius enclosures (directed-rounding GEMMs): this is what makes
//                 interval attention affordable at GPT-2 width.
//   MpInterval,   a plain loop (Eigen's product kernels need comparisons these types do not
//   Dual          have, and these paths serve small problems).
// Each product encloses the exact product of its (enclosed) operands for rigorous scalars.
#pragma once

#include <type_traits>

#include "core/core.hpp"

namespace attnbound::detail {

/// c += a · b; scalars with a cheaper in-place form (MultiDual) overload it next to their type.
template <class T>
void add_product(T& c, const T& a, const T& b) {
  c += a * b;
}

/// Plain i-k-j product for scalars without a fast kernel; B may be a double matrix.
template <class T, class TB>
Mat<T> loop_product(const Mat<T>& A, const Mat<TB>& B) {
  Mat<T> C = Mat<T>::Constant(A.rows(), B.cols(), T(0.0));
  for (Eigen::Index j = 0; j < B.cols(); ++j)
    for (Eigen::Index k = 0; k < A.cols(); ++k) {
      const auto& b = B(k, j);
      if constexpr (std::is_same_v<TB, double>) {
        if (b == 0.0) continue;  // exact: skipping a zero term changes nothing
      }
      const T bk(b);
      for (Eigen::Index i = 0; i < A.rows(); ++i) add_product(C(i, j), A(i, k), bk);
    }
  return C;
}

/// A · B.
template <class T>
Mat<T> mm(const Mat<T>& A, const Mat<T>& B) {
  if constexpr (std::is_same_v<T, double>) return A * B;
  else return loop_product(A, B);
}
/// A · W for an exact double (weight) matrix W.
template <class T>
Mat<T> mmw(const Mat<T>& A, const Matrix& W) {
  if constexpr (std::is_same_v<T, double>) return A * W;
  else return loop_product(A, W);
}
/// W · B for an exact double (weight) matrix W.
template <class T>
Mat<T> wmm(const Matrix& W, const Mat<T>& B) {
  if constexpr (std::is_same_v<T, double>) return W * B;
  else return loop_product(Mat<T>(W.template cast<T>()), B);
}

template <>
Mat<Interval> mm(const Mat<Interval>& A, const Mat<Interval>& B);
template <>
Mat<Interval> mmw(const Mat<Interval>& A, const Matrix& W);
template <>
Mat<Interval> wmm(const Matrix& W, const Mat<Interval>& B);

/// Product of two exact double matrices, enclosed in T.
template <class T>
Mat<T> mm_exact(const Matrix& A, const Matrix& B) {
  if constexpr (std::is_same_v<T, double>) return A * B;
  else return loop_product(Mat<T>(A.template cast<T>()), B);
}
template <>
Mat<Interval> mm_exact<Interval>(const Matrix& A, const Matrix& B);

}  // namespace attnbound::detail
