// JVP and VJP (THEORY.md §2 in factored form). With s = logit scale, per head:
//   Ṡ = s (Q̇ Kᵀ + Q K̇ᵀ),  Ṗ_ij = P_ij (Ṡ_ij − Σ_k P_ik Ṡ_ik),  Ẏ = Σ_h (Ṗ V + P V̇) W_Oᵀ
// and the adjoint of each step for the VJP. Masked P entries are exact zeros, so masked
// positions contribute exactly nothing.
#include "attention/attention.hpp"
#include "attention/products.hpp"

namespace attnbound {

namespace {
// R_ij = P_ij (G_ij − Σ_k P_ik G_ik): the softmax Jacobian applied row-wise, with the deviation
// in the dependency-free form of deviations_from_mean (exactly 0 when row i sees a single key;
// masked P_ik are exact zeros and add nothing).
template <class T>
Mat<T> softmax_pullback(const Mat<T>& P, const Mat<T>& G) {
  Mat<T> R(P.rows(), P.cols());
  for (Eigen::Index i = 0; i < P.rows(); ++i) {
    const Mat<T> dev = detail::deviations_from_mean<T>(Mat<T>(P.row(i).transpose()), Mat<T>(G.row(i).transpose()));
    for (Eigen::Index j = 0; j < P.cols(); ++j) R(i, j) = P(i, j) * dev(j, 0);
  }
  return R;
}
}  // namespace

template <class T>
Mat<T> jvp(const AttentionLayer& layer, const ForwardState<T>& s, const Mat<T>& Xd) {
  using detail::mm;
  using detail::mmw;
  const long n = s.n();
  Mat<T> Yd = Mat<T>::Constant(n, layer.d, T(0.0));
  for (std::size_t h = 0; h < layer.heads.size(); ++h) {
    const Head& H = layer.heads[h];
    Mat<T> Qd = layer.paper_form ? Xd : mmw<T>(Xd, Matrix(H.Wq.transpose()));
    Mat<T> Kd = mmw<T>(Xd, Matrix(H.Wk.transpose()));
    Mat<T> Vd = mmw<T>(Xd, Matrix(H.Wv.transpose()));
    Mat<T> Sd = mm<T>(Qd, Mat<T>(s.K[h].transpose())) + mm<T>(s.Q[h], Mat<T>(Kd.transpose()));
    if (H.logit_divisor != 1) Sd *= s.scale[h];
    Mat<T> Pd = softmax_pullback(s.P[h], Sd);
    Mat<T> Od = mm<T>(Pd, s.V[h]) + mm<T>(s.P[h], Vd);
    Yd += layer.paper_form ? Od : mmw<T>(Od, Matrix(H.Wo.transpose()));
  }
  return Yd;
}

template <class T>
Mat<T> vjp(const AttentionLayer& layer, const ForwardState<T>& s, const Mat<T>& Yb) {
  using detail::mm;
  using detail::mmw;
  const long n = s.n();
  Mat<T> Xb = Mat<T>::Constant(n, layer.d, T(0.0));
  for (std::size_t h = 0; h < layer.heads.size(); ++h) {
    const Head& H = layer.heads[h];
    Mat<T> Ob = layer.paper_form ? Yb : mmw<T>(Yb, H.Wo);
    Mat<T> Pb = mm<T>(Ob, Mat<T>(s.V[h].transpose()));
    Mat<T> Vb = mm<T>(Mat<T>(s.P[h].transpose()), Ob);
    Mat<T> Sb = softmax_pullback(s.P[h], Pb);
    if (H.logit_divisor != 1) Sb *= s.scale[h];
    Mat<T> Qb = mm<T>(Sb, s.K[h]);
    Mat<T> Kb = mm<T>(Mat<T>(Sb.transpose()), s.Q[h]);
    Xb += layer.paper_form ? Qb : mmw<T>(Qb, H.Wq);
    Xb += mmw<T>(Kb, H.Wk);
    Xb += mmw<T>(Vb, H.Wv);
  }
  return Xb;
}

#define ATTNBOUND_INSTANTIATE(T)                                                        \
  template Mat<T> jvp<T>(const AttentionLayer&, const ForwardState<T>&, const Mat<T>&); \
  template Mat<T> vjp<T>(const AttentionLayer&, const ForwardState<T>&, const Mat<T>&);
ATTNBOUND_INSTANTIATE(double)
ATTNBOUND_INSTANTIATE(Interval)
ATTNBOUND_INSTANTIATE(MpInterval)
ATTNBOUND_INSTANTIATE(Dual<double>)
ATTNBOUND_INSTANTIATE(Dual<Interval>)
#undef ATTNBOUND_INSTANTIATE

}  // namespace attnbound
