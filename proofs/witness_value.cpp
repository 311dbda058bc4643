// Rigorous two-sided values of ‖J(X) v‖ / ‖v‖ at exact inputs: the evidence behind lower-type
// statements (and behind refutations of upper-type ones).
//
// Clustered inputs, unmasked layers: J leaves the cluster-constant subspace invariant and acts there
// as J_sym in the isometric coordinates ζ_c = √m_c z_c (attention/cluster.hpp), so for a
// cluster-constant v, ‖Jv‖ = ‖J_sym ζ‖ and ‖v‖ = ‖ζ‖ — exact, at a cost independent of n.
// Everything else: interval forward + JVP on the n × d input.
#include <cmath>

#include "attention/attention.hpp"
#include "proofs/theorems.hpp"

namespace attnbound::proofs {

long long ClusteredWitness::n() const {
  long long s = 0;
  for (long long m : in.m) s += m;
  return s;
}

Matrix ClusteredWitness::tokens() const {
  Matrix X(static_cast<Eigen::Index>(n()), in.Y.cols());
  Eigen::Index row = 0;
  for (Eigen::Index c = 0; c < in.Y.rows(); ++c)
    for (long long k = 0; k < in.m[c]; ++k) X.row(row++) = in.Y.row(c);
  return X;
}

Matrix ClusteredWitness::direction() const {
  Matrix D(static_cast<Eigen::Index>(n()), dir.cols());
  Eigen::Index row = 0;
  for (Eigen::Index c = 0; c < dir.rows(); ++c)
    for (long long k = 0; k < in.m[c]; ++k) D.row(row++) = dir.row(c);
  return D;
}

namespace {

// [√(Σ mig(y)² / ‖v‖²_hi), √(Σ mag(y)² / ‖v‖²_lo)] (requires UpwardScope).
NormRatio ratio_of(const IVector& y, const Interval& v2, std::string method) {
  NormRatio r;
  Interval lo2 = point(0.0), hi2 = point(0.0);
  for (Eigen::Index i = 0; i < y.size(); ++i) {
    lo2 += square(point(mig(y(i))));
    hi2 += square(point(mag(y(i))));
  }
  if (!(v2.lower() > 0)) return r;
  const double lo = sqrt(lo2 / v2).lower();  // each quotient enclosed: take the safe ends
  const double hi = sqrt(hi2 / v2).upper();
  r.evaluated = std::isfinite(hi) && lo >= 0;
  r.lo = r.evaluated ? lo : 0.0;
  r.hi = r.evaluated ? hi : std::numeric_limits<double>::infinity();
  r.method = std::move(method);
  return r;
}

}  // namespace

NormRatio witness_ratio(const AttentionLayer& layer, const Matrix& X, const Matrix& dir) {
  UpwardScope up;
  IMatrix Xi(X.rows(), X.cols()), Vi(X.rows(), X.cols());
  Interval v2 = point(0.0);
  for (Eigen::Index i = 0; i < X.rows(); ++i)
    for (Eigen::Index a = 0; a < X.cols(); ++a) {
      Xi(i, a) = point(X(i, a));
      Vi(i, a) = point(dir(i, a));
      v2 += square(Vi(i, a));
    }
  const auto s = forward<Interval>(layer, Xi);
  const IMatrix y = jvp<Interval>(layer, s, Vi);
  return ratio_of(flatten<Interval>(y), v2, "interval forward + JVP at the " + std::to_string(X.rows()) + "-token input");
}

NormRatio witness_ratio(const AttentionLayer& layer, const ClusteredWitness& w, double work_limit) {
  const double n = static_cast<double>(w.n());
  if (layer.mask == Mask::none) {
    UpwardScope up;
    const auto ops = cluster_operators<Interval>(layer, w.in);
    const long C = w.in.Y.rows(), d = w.in.Y.cols();
    IVector zeta(C * d);
    Interval v2 = point(0.0);
    for (long c = 0; c < C; ++c) {
      const Interval root = sqrt(point(static_cast<double>(w.in.m[c])));
      for (long a = 0; a < d; ++a) {
        zeta(c * d + a) = root * point(w.dir(c, a));
        v2 += point(static_cast<double>(w.in.m[c])) * square(point(w.dir(c, a)));
      }
    }
    IVector y(C * d);
    for (long r = 0; r < C * d; ++r) {
      Interval acc = point(0.0);
      for (long k = 0; k < C * d; ++k) acc += ops.Jsym(r, k) * zeta(k);
      y(r) = acc;
    }
    return ratio_of(y, v2, "cluster reduction (" + std::to_string(C) + " clusters, n=" + std::to_string(w.n()) +
                               "): ‖J_sym ζ‖/‖ζ‖ in interval arithmetic");
  }
  const double work = n * n * static_cast<double>(layer.d) * static_cast<double>(layer.n_heads());
  if (work > work_limit || n * static_cast<double>(layer.d) > 5e7) {
    NormRatio r;
    r.method = "not evaluated: interval attention at n=" + std::to_string(w.n()) + " exceeds the work limit";
    return r;
  }
  return witness_ratio(layer, w.tokens(), w.direction());
}

}  // namespace attnbound::proofs
