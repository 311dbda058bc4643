// The cluster tier (THEORY.md §3, "Cluster reduction", unmasked layers): at a point whose tokens
// take C distinct positions, ‖J‖ = max(‖J_sym‖, max_{m_c >= 2} ‖D_c‖). The reduced operators come
// from the shared cluster_operators template in MPFI; the checker trusts the reduction theorem
// (docs/certificate.md, "What the checker trusts").
#include <Eigen/SVD>

#include "attention/cluster.hpp"
#include "internal.hpp"
#include "linalg/linalg.hpp"

namespace attnbound::check {

namespace {

struct Operator {
  std::string name;
  MpMatrix M;
};

std::vector<Operator> reduced_operators(const AttentionLayer& layer, const Matrix& X) {
  if (layer.mask != Mask::none) throw Invalid("cluster evidence needs an unmasked layer (the model is causal)");
  const ClusteredInput in = clusters_of(X);
  ClusterOperators<MpInterval> ops = cluster_operators<MpInterval>(layer, in);
  std::vector<Operator> out;
  out.push_back({"J_sym (" + std::to_string(in.Y.rows()) + " clusters)", std::move(ops.Jsym)});
  for (std::size_t c = 0; c < ops.D.size(); ++c)
    if (in.m[c] >= 2) out.push_back({"D_" + std::to_string(c), std::move(ops.D[c])});
  return out;
}

/// Upper bound of ‖M‖ <= U proved? (MPFI test for small operators, linalg otherwise.)
bool norm_at_most(const MpMatrix& M, double U) {
  if (std::min(M.rows(), M.cols()) <= kMpDenseLimit) return norm_below_mp(M, MpInterval(U));
  return norm2_upper(M, MpNormPath::double_intervals).value() <= U;
}

}  // namespace

std::string prove_cluster_upper(const AttentionLayer& layer, const Matrix& X, double U) {
  if (!(U >= 0)) throw Invalid("claim.upper " + dec(U) + " is negative");
  const std::vector<Operator> ops = reduced_operators(layer, X);
  for (const Operator& op : ops)
    if (!norm_at_most(op.M, U))
      throw Invalid("‖" + op.name + "‖ <= " + dec(U) + " not proved: the checker's bound is " +
                    dec(norm2_upper(op.M).value()));
  return "cluster reduction: " + std::to_string(ops.size()) + " reduced operators, each of norm < U";
}

MpInterval cluster_lower(const AttentionLayer& layer, const Matrix& X) {
  MpInterval best(0);
  for (const Operator& op : reduced_operators(layer, X)) {
    // Direction: the float top right singular vector of the midpoint (no guarantee needed).
    Matrix mid(op.M.rows(), op.M.cols());
    for (Eigen::Index k = 0; k < op.M.size(); ++k) mid.data()[k] = op.M.data()[k].mid_approx();
    Vector v;
    {
      RoundingGuard nearest(Rounding::nearest);
      v = Eigen::JacobiSVD<Matrix>(mid, Eigen::ComputeThinV).matrixV().col(0);
    }
    MpInterval num(0), den(0);
    for (Eigen::Index i = 0; i < op.M.rows(); ++i) {
      MpInterval y(0);
      for (Eigen::Index j = 0; j < op.M.cols(); ++j) y += op.M(i, j) * MpInterval(v(j));
      num += square(y);
    }
    for (Eigen::Index j = 0; j < v.size(); ++j) den += square(MpInterval(v(j)));
    if (!certainly_positive(den)) continue;
    const MpInterval r = sqrt(num / den);
    if (r.lower_down() > best.lower_down()) best = r;
  }
  return best;
}

}  // namespace attnbound::check
