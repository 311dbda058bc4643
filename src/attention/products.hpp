// Internal: the matrix products the attention templates are written in, dispatched per scalar.
//   double        Eigen's GEMM.
//   Interval      linalg's midpoint-radius enclosures (directed-rounding GEMMs): this is what makes
//                 interval attention affordable at GPT-2 width.
//   MpInterval,   a plain loop (Eigen's product kernels need comparisons these types do not
//   Dual          have, and these paths serve small problems).
// Each product encloses the exact product of its (enclosed) operands for rigorous scalars.
#pragma once

#include <type_traits>
#include <vector>

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

/// Deviations from a softmax mean, written without dependency: for the weights p_0..p_{K−1} of one
/// softmax row (Σ_k p_k = 1) and rows G_0..G_{K−1} of G (K × c), returns the K × c matrix
///   Δ_l = G_l − Σ_k p_k G_k = (1 − p_l) G_l − Σ_{k≠l} p_k G_k.
/// The two forms agree exactly for exact p; the right one encloses better (G_l appears once, with
/// the weight 1 − p_l instead of 1 and p_l on two sides) and is exactly 0 when the row sees a
/// single key (p_0 = 1): the softmax is then constant, and so is the Jacobian row (issue 15). The
/// sums over k ≠ l come from prefix and suffix sums, O(K·c). `p` holds the K visible weights.
template <class T>
Mat<T> deviations_from_mean(const Mat<T>& p, const Mat<T>& G) {
  const Eigen::Index K = G.rows(), c = G.cols();
  Mat<T> pre = Mat<T>::Constant(K + 1, c, T(0.0));  // pre.row(k) = Σ_{t<k} p_t G_t
  for (Eigen::Index k = 0; k < K; ++k)
    for (Eigen::Index a = 0; a < c; ++a) pre(k + 1, a) = pre(k, a) + p(k) * G(k, a);
  Mat<T> D(K, c);
  std::vector<T> suf(static_cast<std::size_t>(c), T(0.0));  // Σ_{t>l} p_t G_t
  for (Eigen::Index l = K - 1; l >= 0; --l) {
    const T w = T(1.0) - p(l);
    for (Eigen::Index a = 0; a < c; ++a) {
      D(l, a) = w * G(l, a) - (pre(l, a) + suf[static_cast<std::size_t>(a)]);
      suf[static_cast<std::size_t>(a)] += p(l) * G(l, a);
    }
  }
  return D;
}

}  // namespace attnbound::detail
