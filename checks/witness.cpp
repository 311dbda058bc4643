// witness_ratio: the lower-bound evidence ‖J(X) v‖ / ‖v‖ at the exact point X: in MPFI through the
// shared forward and JVP templates (n·d <= kMpDenseLimit), in directed GEMMs with MPFI softmax
// beyond kDenseLimit (forward_directed.cpp), else as the product of the checker's Jacobian
// enclosure with v. Any X in the region and any v ≠ 0 give a lower bound of
// sup_{X∈S} ‖J(X)‖ (THEORY.md §2), so the claim only needs the lower endpoint.
#include "internal.hpp"
#include "linalg/linalg.hpp"

namespace attnbound::check {

namespace {
MpMatrix as_mp(const Matrix& M) {
  MpMatrix R(M.rows(), M.cols());
  for (Eigen::Index k = 0; k < M.size(); ++k) R.data()[k] = MpInterval(M.data()[k]);
  return R;
}
}  // namespace

MpInterval witness_ratio(const AttentionLayer& layer, const Matrix& X, const Matrix& v, JacobianCache& cache) {
  MpInterval num(0), den(0);
  for (Eigen::Index k = 0; k < v.size(); ++k) den += square(MpInterval(v.data()[k]));
  // Too large for a dense Jacobian: the JVP in directed GEMMs with MPFI softmax (an all-MPFI JVP
  // took 73 s at n = 64, d = 768 and grows like n·d² + n²·d).
  if (X.size() > kDenseLimit) return witness_ratio_directed(layer, X, v);
  if (X.size() <= kMpDenseLimit) {
    // Small: the JVP template in MPFI (memory O(n·d)).
    const ForwardState<MpInterval> s = forward<MpInterval>(layer, as_mp(X));
    const MpMatrix y = jvp<MpInterval>(layer, s, as_mp(v));
    for (Eigen::Index k = 0; k < y.size(); ++k) num += square(y.data()[k]);
    return sqrt(num / den);
  }
  // Large: y = J v from the Jacobian enclosure, |y − mid·v| <= rad·|v|, in upward rounding; then
  // ‖y‖² >= Σ mig(y_i)² (an interval whose lower end is that bound).
  const MidRad& J = cache.at(X);
  const Vector vf = flatten<double>(v), neg_v = -vf;
  Vector up, nup, rad;
  {
    UpwardScope upward;
    up.noalias() = J.mid * vf;
    nup.noalias() = J.mid * neg_v;
    rad.noalias() = J.rad * vf.cwiseAbs();
    up += rad;
    nup += rad;
  }
  for (Eigen::Index i = 0; i < up.size(); ++i) {
    const double mig = -nup(i) > 0 ? -nup(i) : (up(i) < 0 ? -up(i) : 0.0);
    num += square(MpInterval(mig));
  }
  return sqrt(num.lower_point() / den);
}

}  // namespace attnbound::check
