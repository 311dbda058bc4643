#include "attention/attention.hpp"
#include "attention/products.hpp"

namespace attnbound {

namespace {
template <class T>
void add_row_bias(Mat<T>& M, const Vector& b) {
  for (Eigen::Index j = 0; j < M.cols(); ++j) {
    if (b(j) == 0.0) continue;
    const T bj = ScalarTraits<T>::from(b(j));
    for (Eigen::Index i = 0; i < M.rows(); ++i) M(i, j) += bj;
  }
}
}  // namespace

template <class T>
ForwardState<T> forward(const AttentionLayer& layer, const Mat<T>& X) {
  using detail::mm;
  using detail::mmw;
  ForwardState<T> s;
  s.X = X;
  const long n = X.rows();
  s.Y = Mat<T>::Constant(n, layer.d, T(0.0));
  for (const Head& h : layer.heads) {
    Mat<T> Q = layer.paper_form ? X : mmw<T>(X, Matrix(h.Wq.transpose()));
    Mat<T> K = mmw<T>(X, Matrix(h.Wk.transpose()));
    Mat<T> V = mmw<T>(X, Matrix(h.Wv.transpose()));
    add_row_bias(Q, h.bq);
    add_row_bias(K, h.bk);
    add_row_bias(V, h.bv);
    const T scale = ScalarTraits<T>::inv_sqrt(h.logit_divisor);
    Mat<T> S = mm<T>(Q, Mat<T>(K.transpose()));
    if (h.logit_divisor != 1) S *= scale;
    Mat<T> P = softmax_rows(S, layer.mask);
    Mat<T> O = mm<T>(P, V);
    s.Y += layer.paper_form ? O : mmw<T>(O, Matrix(h.Wo.transpose()));
    s.Q.push_back(std::move(Q));
    s.K.push_back(std::move(K));
    s.V.push_back(std::move(V));
    s.P.push_back(std::move(P));
    s.scale.push_back(scale);
  }
  add_row_bias(s.Y, layer.bo);
  return s;
}

template ForwardState<double> forward<double>(const AttentionLayer&, const Mat<double>&);
template ForwardState<Interval> forward<Interval>(const AttentionLayer&, const Mat<Interval>&);
template ForwardState<MpInterval> forward<MpInterval>(const AttentionLayer&, const Mat<MpInterval>&);
template ForwardState<Dual<double>> forward<Dual<double>>(const AttentionLayer&, const Mat<Dual<double>>&);
template ForwardState<Dual<Interval>> forward<Dual<Interval>>(const AttentionLayer&, const Mat<Dual<Interval>>&);

template ForwardState<IntervalJet> forward<IntervalJet>(const AttentionLayer&, const Mat<IntervalJet>&);
}  // namespace attnbound
