// Row-wise softmax for every scalar. Interval rows use the exact range over the logit box with a
// single directed exp per endpoint (NUMERICS.md, "Softmax over interval logits"):
//   with m = max_k u_k, EU_k >= e^{u_k - m}, ED_k <= e^{l_k - m},
//   p_j >= ED_j / (ED_j + Σ_{k≠j} EU_k),   p_j <= EU_j / (EU_j + Σ_{k≠j} ED_k),
// which is 1 / (1 + Σ_{k≠j} e^{s_k - s_j}) at the extreme corner of the box for each side.
// The sums over k ≠ j come from prefix and suffix sums (no cancellation).
#include "attention/attention.hpp"

#include <algorithm>
#include <cmath>

namespace attnbound {

namespace {

inline long visible(Mask mask, long i, long n) { return mask == Mask::causal ? i + 1 : n; }

// Directed helpers valid under upward rounding (Interval code runs in an UpwardScope).
inline double pin(double x) {
  asm volatile("" : "+x"(x));
  return x;
}
inline double up_add(double a, double b) { return pin(a + b); }
inline double dn_add(double a, double b) { return -pin((-a) - b); }
inline double up_sub(double a, double b) { return pin(a - b); }
inline double dn_sub(double a, double b) { return -pin(b - a); }
inline double up_div(double a, double b) { return pin(a / b); }
inline double dn_div(double a, double b) { return -pin((-a) / b); }

void softmax_row_interval(const Mat<Interval>& S, Mat<Interval>& P, long i, long K,
                          std::vector<double>& eu, std::vector<double>& ed,
                          std::vector<double>& pre_u, std::vector<double>& pre_d) {
  if (K == 1) {
    P(i, 0) = point(1.0);
    return;
  }
  double m = -INFINITY;
  for (long k = 0; k < K; ++k) m = std::max(m, S(i, k).upper());
  for (long k = 0; k < K; ++k) {
    eu[k] = detail::exp_up(up_sub(S(i, k).upper(), m));
    ed[k] = detail::exp_down(dn_sub(S(i, k).lower(), m));
  }
  // prefix sums: pre[k] = Σ_{t<k}; suffix accumulated on the fly.
  pre_u[0] = 0.0;
  pre_d[0] = 0.0;
  for (long k = 0; k < K; ++k) {
    pre_u[k + 1] = up_add(pre_u[k], eu[k]);
    pre_d[k + 1] = dn_add(pre_d[k], ed[k]);
  }
  double suf_u = 0.0, suf_d = 0.0;
  for (long j = K - 1; j >= 0; --j) {
    const double others_u = up_add(pre_u[j], suf_u);
    const double others_d = dn_add(pre_d[j], suf_d);
    double lo = dn_div(ed[j], up_add(ed[j], others_u));
    double hi = up_div(eu[j], dn_add(eu[j], others_d));
    if (!(lo >= 0.0)) lo = 0.0;  // also NaN
    if (!(hi <= 1.0)) hi = 1.0;
    P(i, j) = Interval(lo, hi, true);
    suf_u = up_add(suf_u, eu[j]);
    suf_d = dn_add(suf_d, ed[j]);
  }
}

}  // namespace

template <class T>
Mat<T> softmax_rows(const Mat<T>& S, Mask mask) {
  const long n = S.rows();
  Mat<T> P = Mat<T>::Constant(n, S.cols(), T(0.0));
  if constexpr (std::is_same_v<T, Interval>) {
    if (!rounding_is_upward()) detail::rounding_violation("softmax_rows<Interval>");
    std::vector<double> eu(S.cols()), ed(S.cols()), pu(S.cols() + 1), pd(S.cols() + 1);
    for (long i = 0; i < n; ++i) softmax_row_interval(S, P, i, visible(mask, i, S.cols()), eu, ed, pu, pd);
  } else if constexpr (std::is_same_v<T, MpInterval>) {
    // Same exact-range formula with MPFI: endpoints as exact points, sums as intervals.
    for (long i = 0; i < n; ++i) {
      const long K = visible(mask, i, S.cols());
      if (K == 1) {
        P(i, 0) = MpInterval(1.0);
        continue;
      }
      double mshift = -INFINITY;
      for (long k = 0; k < K; ++k) mshift = std::max(mshift, S(i, k).upper_up());
      const MpInterval m(mshift);
      std::vector<MpInterval> eu(K), ed(K);
      for (long k = 0; k < K; ++k) {
        eu[k] = exp(S(i, k).upper_point() - m).upper_point();
        ed[k] = exp(S(i, k).lower_point() - m).lower_point();
      }
      // Σ_{k≠j} as prefix + suffix enclosures (no subtraction, O(K) per row: the checker runs
      // this at n = 1024, where recomputing each sum from scratch was O(n³) MPFI additions).
      std::vector<MpInterval> pre_u(K + 1), pre_d(K + 1);
      pre_u[0] = MpInterval(0.0);
      pre_d[0] = MpInterval(0.0);
      for (long k = 0; k < K; ++k) {
        pre_u[k + 1] = pre_u[k] + eu[k];
        pre_d[k + 1] = pre_d[k] + ed[k];
      }
      MpInterval suf_u(0.0), suf_d(0.0);
      for (long j = K - 1; j >= 0; --j) {
        const MpInterval ou = pre_u[j] + suf_u, od = pre_d[j] + suf_d;
        MpInterval lo = (ed[j] / (ed[j] + ou)).lower_point();
        MpInterval hi = (eu[j] / (eu[j] + od)).upper_point();
        P(i, j) = hull(lo, hi);
        suf_u += eu[j];
        suf_d += ed[j];
      }
    }
  } else if constexpr (is_rigorous_v<T>) {
    // Rigorous duals (Dual<Interval>): value and derivative enclosed through the dependency-reducing
    // form P_ij = 1 / Σ_k exp(S_ik − S_ij), O(K²) per row; used on small boxes only.
    using std::exp;
    for (long i = 0; i < n; ++i) {
      const long K = visible(mask, i, S.cols());
      for (long j = 0; j < K; ++j) {
        T z(1.0);
        for (long k = 0; k < K; ++k)
          if (k != j) z += exp(S(i, k) - S(i, j));
        P(i, j) = T(1.0) / z;
      }
    }
  } else {
    // double / Dual<double>: the usual max-shifted form (no guarantee).
    using std::exp;
    for (long i = 0; i < n; ++i) {
      const long K = visible(mask, i, S.cols());
      T m = S(i, 0);
      for (long k = 1; k < K; ++k)
        if (S(i, k) > m) m = S(i, k);
      T z(0.0);
      for (long k = 0; k < K; ++k) {
        P(i, k) = exp(S(i, k) - m);
        z += P(i, k);
      }
      for (long k = 0; k < K; ++k) P(i, k) /= z;
    }
  }
  return P;
}

template Mat<double> softmax_rows<double>(const Mat<double>&, Mask);
template Mat<Interval> softmax_rows<Interval>(const Mat<Interval>&, Mask);
template Mat<MpInterval> softmax_rows<MpInterval>(const Mat<MpInterval>&, Mask);
template Mat<Dual<double>> softmax_rows<Dual<double>>(const Mat<Dual<double>>&, Mask);
template Mat<Dual<Interval>> softmax_rows<Dual<Interval>>(const Mat<Dual<Interval>>&, Mask);

template Mat<IntervalJet> softmax_rows<IntervalJet>(const Mat<IntervalJet>&, Mask);
}  // namespace attnbound
