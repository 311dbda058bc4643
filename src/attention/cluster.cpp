#include <map>

#include "attention/cluster.hpp"
#include "attention/products.hpp"

namespace attnbound {

namespace {

template <class T>
T from_count(long long m) {
  return ScalarTraits<T>::from(static_cast<double>(m));  // exact for m < 2^53
}

template <class T>
ClusterOperators<T> cluster_operators_impl(const AttentionLayer& layer, const ClusteredInput& in) {
  using detail::mm;
  using detail::mmw;
  using std::exp;
  using std::sqrt;
  const long C = in.Y.rows(), d = layer.d;
  ClusterOperators<T> out;
  out.Jsym = Mat<T>::Constant(C * d, C * d, T(0.0));
  out.D.assign(C, Mat<T>::Constant(d, d, T(0.0)));
  Mat<T> Y(C, d);
  for (long c = 0; c < C; ++c)
    for (long a = 0; a < d; ++a) Y(c, a) = T(in.Y(c, a));
  for (const Head& h : layer.heads) {
    auto affine = [&](const Matrix& W, const Vector& b) {
      Mat<T> M = mmw<T>(Y, Matrix(W.transpose()));
      for (long c = 0; c < C; ++c)
        for (long j = 0; j < M.cols(); ++j) M(c, j) += T(b(j));
      return M;
    };
    const Mat<T> Q = affine(h.Wq, h.bq), K = affine(h.Wk, h.bk), V = affine(h.Wv, h.bv);
    const T scale = ScalarTraits<T>::inv_sqrt(h.logit_divisor);
    Mat<T> S = mm<T>(Q, Mat<T>(K.transpose()));
    if (h.logit_divisor != 1) S *= scale;
    // w_ce = 1 / Σ_e' (m_e'/m_e) exp(s_ce' − s_ce): the dependency-reducing form.
    Mat<T> w(C, C);
    for (long c = 0; c < C; ++c)
      for (long e = 0; e < C; ++e) {
        T z(1.0);
        for (long f = 0; f < C; ++f)
          if (f != e) z += from_count<T>(in.m[f]) / from_count<T>(in.m[e]) * exp(S(c, f) - S(c, e));
        w(c, e) = T(1.0) / z;
      }
    const Mat<T> U = mmw<T>(V, Matrix(h.Wo.transpose()));  // rows W_O v_e
    const Mat<T> Ubar = mm<T>(w, U);                       // rows W_O v̄_c
    Mat<T> Bq = mmw<T>(Q, h.Wk), Gk = mmw<T>(K, h.Wq);
    if (h.logit_divisor != 1) {
      Bq *= scale;
      Gk *= scale;
    }
    const Mat<T> WoWv = detail::mm_exact<T>(h.Wo, h.Wv);
    for (long c = 0; c < C; ++c)
      for (long e = 0; e < C; ++e) {
        const T f = sqrt(from_count<T>(in.m[c]) / from_count<T>(in.m[e])) * w(c, e);
        for (long b = 0; b < d; ++b)
          for (long a = 0; a < d; ++a) {
            out.Jsym(c * d + a, e * d + b) += f * (WoWv(a, b) + (U(e, a) - Ubar(c, a)) * Bq(c, b));
            out.D[c](a, b) += w(c, e) * (U(e, a) - Ubar(c, a)) * Gk(e, b);
          }
      }
  }
  for (long c = 0; c < C; ++c)
    for (long b = 0; b < d; ++b)
      for (long a = 0; a < d; ++a) out.Jsym(c * d + a, c * d + b) += out.D[c](a, b);
  return out;
}

}  // namespace

template <class T>
ClusterOperators<T> cluster_operators(const AttentionLayer& layer, const ClusteredInput& in) {
  return cluster_operators_impl<T>(layer, in);
}
template ClusterOperators<double> cluster_operators<double>(const AttentionLayer&, const ClusteredInput&);
template ClusterOperators<Interval> cluster_operators<Interval>(const AttentionLayer&, const ClusteredInput&);
template ClusterOperators<MpInterval> cluster_operators<MpInterval>(const AttentionLayer&, const ClusteredInput&);

ClusteredInput clusters_of(const Matrix& X) {
  std::map<std::vector<double>, long> index;
  ClusteredInput ci;
  std::vector<std::vector<double>> rows;
  for (Eigen::Index i = 0; i < X.rows(); ++i) {
    std::vector<double> r(X.cols());
    for (Eigen::Index a = 0; a < X.cols(); ++a) r[a] = X(i, a);
    auto it = index.find(r);
    if (it == index.end()) {
      index.emplace(r, static_cast<long>(rows.size()));
      rows.push_back(r);
      ci.m.push_back(1);
    } else {
      ++ci.m[it->second];
    }
  }
  ci.Y.resize(static_cast<Eigen::Index>(rows.size()), X.cols());
  for (std::size_t c = 0; c < rows.size(); ++c)
    for (Eigen::Index a = 0; a < X.cols(); ++a) ci.Y(static_cast<Eigen::Index>(c), a) = rows[c][a];
  return ci;
}

}  // namespace attnbound
