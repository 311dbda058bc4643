// Certified brackets at clustered inputs through the cluster reduction (attention/cluster.hpp).
#include <Eigen/SVD>
#include <chrono>
#include <cmath>

#include "bound/cluster.hpp"
#include "linalg/linalg.hpp"

namespace attnbound {

namespace {

// Rigorous lower bound ‖M v‖/‖v‖ for an interval matrix and its float top right singular vector.
LowerBound top_lower(const IMatrix& M, const Matrix& Mmid, Vector* v_out) {
  Eigen::JacobiSVD<Matrix> svd(Mmid, Eigen::ComputeThinV);
  Vector v = svd.matrixV().col(0);
  if (v_out) *v_out = v;
  return norm2_lower(M, v);
}

Matrix mid_of(const IMatrix& M) {
  Matrix R(M.rows(), M.cols());
  for (Eigen::Index i = 0; i < M.rows(); ++i)
    for (Eigen::Index j = 0; j < M.cols(); ++j) R(i, j) = 0.5 * M(i, j).lower() + 0.5 * M(i, j).upper();
  return R;
}

}  // namespace

Bracket certify_clustered(const AttentionLayer& layer, const ClusteredInput& in) {
  if (layer.mask != Mask::none)
    throw std::invalid_argument("the cluster reduction needs an unmasked layer");
  const auto t0 = std::chrono::steady_clock::now();
  long long n = 0;
  for (long long m : in.m) n += m;
  Bracket b;
  IMatrix Jsym;
  std::vector<IMatrix> D;
  {
    UpwardScope up;
    auto ops = cluster_operators<Interval>(layer, in);
    Jsym = std::move(ops.Jsym);
    D = std::move(ops.D);
  }
  Vector v;
  const Matrix Jmid = mid_of(Jsym);
  b.lower = top_lower(Jsym, Jmid, &v);
  b.upper = norm2_upper(Jsym);
  double est = Eigen::JacobiSVD<Matrix>(Jmid).singularValues()(0);
  std::string which = "cluster-constant modes";
  for (std::size_t c = 0; c < D.size(); ++c) {
    if (in.m[c] < 2) continue;
    const Matrix Dm = mid_of(D[c]);
    Vector vc;
    const LowerBound lc = top_lower(D[c], Dm, &vc);
    b.upper = max(b.upper, norm2_upper(D[c]));
    est = std::max(est, Eigen::JacobiSVD<Matrix>(Dm).singularValues()(0));
    if (lc.value() > b.lower.value()) {
      b.lower = lc;
      which = "within-cluster modes of cluster " + std::to_string(c);
    }
  }
  b.estimate = Estimate(est);
  b.lower_method = "cluster reduction (" + std::to_string(in.Y.rows()) + " clusters, n=" +
                   std::to_string(n) + "): " + which + ", ‖Mv‖/‖v‖ in interval arithmetic";
  b.upper_method = "cluster reduction: verified norms of J_sym and of every D_c";
  b.upper_evidence = UpperEvidence{"cluster", Matrix()};
  b.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return b;
}

}  // namespace attnbound
