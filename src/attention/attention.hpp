// attnbound/attention — one implementation of multi-head attention and its derivatives, written
// once as templates over the scalar and instantiated for
//   double        (approximate; feeds approx:: estimates and witness search),
//   Interval      (rigorous enclosures; callers hold an UpwardScope),
//   MpInterval    (rigorous at any precision; the checker's arithmetic),
//   Dual<double>  (forward-mode second derivatives for gradient ascent; approximate),
//   Dual<Interval> (value and directional derivative enclosed over a box: the centred forms),
//   IntervalJet   (value and all partial derivatives over a box in one pass: the mean-value
//                 Jacobian of the branch-and-bound leaf; forward and jacobian only).
//
// Guarantee for rigorous T: every returned entry encloses the exact value of the same formula at
// every input inside the input enclosure X (and exact weights). For double/Dual: none.
//
// Conventions (THEORY.md §1–2, model/layer.hpp): tokens are the rows of the n×d input X. The
// flattened index of token i, coordinate a is i·d + a, so the dense Jacobian J has
//   J(i·d + a, l·d + b) = ∂f(X)_{i,a} / ∂X_{l,b}.
// Under a causal mask, blocks with l > i are exactly zero (for every T).
#pragma once

#include <vector>

#include "core/core.hpp"
#include "model/layer.hpp"

namespace attnbound {

/// Everything the derivatives need at one input X, computed once by forward().
template <class T>
struct ForwardState {
  Mat<T> X;                     // n × d input
  std::vector<Mat<T>> Q, K, V;  // per head: n × d_k, n × d_k, n × d_v (biases included)
  std::vector<Mat<T>> P;        // per head: n × n attention weights (0 where masked)
  std::vector<T> scale;         // per head: 1/sqrt(logit_divisor)
  Mat<T> Y;                     // n × d output f(X)
  long n() const { return X.rows(); }
};

/// f(X) and the intermediate quantities. Precondition: X has layer.d columns, n >= 1.
template <class T>
ForwardState<T> forward(const AttentionLayer& layer, const Mat<T>& X);

/// Jacobian-vector product J(X)·Ẋ (Ẋ is n × d; the result is n × d).
template <class T>
Mat<T> jvp(const AttentionLayer& layer, const ForwardState<T>& s, const Mat<T>& Xdot);

/// Vector-Jacobian product J(X)ᵀ·Ȳ (Ȳ is n × d; the result is n × d).
template <class T>
Mat<T> vjp(const AttentionLayer& layer, const ForwardState<T>& s, const Mat<T>& Ybar);

/// The dense Jacobian, (n·d) × (n·d), from the closed form of THEORY.md §2 (not by differentiation).
template <class T>
Mat<T> jacobian(const AttentionLayer& layer, const ForwardState<T>& s);

/// Per-head factors of the closed form, shared by every row of the Jacobian (jacobian.cpp):
/// U = rows W_O v_l, B = s·rows q_iᵀW_K, G = s·rows k_jᵀW_Q, WoWv = W_O W_V (enclosed). The
/// deviations U_l − Ū_i are formed per query row in jacobian_rows (deviations_from_mean).
template <class T>
struct JacobianFactors {
  std::vector<Mat<T>> U, B, G, WoWv;
};
template <class T>
JacobianFactors<T> jacobian_factors(const AttentionLayer& layer, const ForwardState<T>& s);
/// Rows {i·d + a : a ∈ rows} of the dense Jacobian (|rows| × n·d), by the same formula as
/// jacobian() (which is this, row block by row block) and with the same guarantee (for rigorous T
/// every entry encloses the exact value). Precondition: 0 <= i < n, every a in [0, d).
/// The distributed tier forms its block-cyclic panel with it without ever holding J.
template <class T>
Mat<T> jacobian_rows(const AttentionLayer& layer, const ForwardState<T>& s, const JacobianFactors<T>& f,
                     long i, const std::vector<long>& rows);

/// Row-wise softmax of logits S (n × n) under a mask; masked entries are exactly 0.
/// For interval T each row uses the exact range of softmax over a box of logits
/// (p_j is increasing in s_j and decreasing in every other s_k), which is the dependency-free
/// form P_ij = 1 / Σ_k exp(s_ik − s_ij) with every difference enclosed from its endpoints.
template <class T>
Mat<T> softmax_rows(const Mat<T>& S, Mask mask);

// Explicit instantiations live in the .cpp files of this module.
#define ATTNBOUND_ATTENTION_EXTERN(T)                                                      \
  extern template ForwardState<T> forward<T>(const AttentionLayer&, const Mat<T>&);       \
  extern template Mat<T> jvp<T>(const AttentionLayer&, const ForwardState<T>&, const Mat<T>&); \
  extern template Mat<T> vjp<T>(const AttentionLayer&, const ForwardState<T>&, const Mat<T>&); \
  extern template Mat<T> softmax_rows<T>(const Mat<T>&, Mask);
ATTNBOUND_ATTENTION_EXTERN(double)
ATTNBOUND_ATTENTION_EXTERN(Interval)
ATTNBOUND_ATTENTION_EXTERN(MpInterval)
ATTNBOUND_ATTENTION_EXTERN(Dual<double>)
ATTNBOUND_ATTENTION_EXTERN(Dual<Interval>)
#undef ATTNBOUND_ATTENTION_EXTERN
extern template ForwardState<IntervalJet> forward<IntervalJet>(const AttentionLayer&, const Mat<IntervalJet>&);
extern template Mat<IntervalJet> softmax_rows<IntervalJet>(const Mat<IntervalJet>&, Mask);
extern template Mat<double> jacobian<double>(const AttentionLayer&, const ForwardState<double>&);
extern template Mat<Interval> jacobian<Interval>(const AttentionLayer&, const ForwardState<Interval>&);
extern template Mat<MpInterval> jacobian<MpInterval>(const AttentionLayer&, const ForwardState<MpInterval>&);
extern template Mat<Dual<Interval>> jacobian<Dual<Interval>>(const AttentionLayer&, const ForwardState<Dual<Interval>>&);
extern template Mat<IntervalJet> jacobian<IntervalJet>(const AttentionLayer&, const ForwardState<IntervalJet>&);
extern template JacobianFactors<double> jacobian_factors<double>(const AttentionLayer&, const ForwardState<double>&);
extern template JacobianFactors<Interval> jacobian_factors<Interval>(const AttentionLayer&, const ForwardState<Interval>&);
extern template Mat<Interval> jacobian_rows<Interval>(const AttentionLayer&, const ForwardState<Interval>&,
                                                      const JacobianFactors<Interval>&, long, const std::vector<long>&);
extern template Mat<double> jacobian_rows<double>(const AttentionLayer&, const ForwardState<double>&,
                                                  const JacobianFactors<double>&, long, const std::vector<long>&);

// ---- flattening helpers: n × d token matrix <-> vector of length n·d (index i·d + a) ----------
template <class T>
Vec<T> flatten(const Mat<T>& X) {
  Vec<T> v(X.size());
  for (Eigen::Index i = 0; i < X.rows(); ++i)
    for (Eigen::Index a = 0; a < X.cols(); ++a) v(i * X.cols() + a) = X(i, a);
  return v;
}
template <class T>
Mat<T> unflatten(const Vec<T>& v, Eigen::Index n, Eigen::Index d) {
  Mat<T> X(n, d);
  for (Eigen::Index i = 0; i < n; ++i)
    for (Eigen::Index a = 0; a < d; ++a) X(i, a) = v(i * d + a);
  return X;
}

namespace approx {

/// Float estimate of ‖J(X)‖₂ by matrix-free power iteration on JᵀJ through jvp/vjp, with the top
/// singular vectors (as n × d matrices: J·right ≈ sigma·left). No guarantee.
struct JacobianNormEstimate {
  Estimate sigma{0.0};
  Matrix left, right;
  int iterations = 0;
  bool converged = false;
};
/// `start` (optional) warm-starts the iteration with a right vector.
JacobianNormEstimate jacobian_norm(const AttentionLayer& layer, const Matrix& X, int max_iter = 500,
                                   double rel_tol = 1e-13, const Matrix* start = nullptr);

}  // namespace approx

}  // namespace attnbound
