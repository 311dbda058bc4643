#include "proofs/witness_build.hpp"

#include <Eigen/Eigenvalues>
#include <algorithm>
#include <cmath>

#include "attention/paper_form.hpp"
#include "region/region.hpp"

namespace attnbound::proofs::detail {

std::optional<LB1Direction> lb1_direction(const AttentionLayer& layer, long head, double R) {
  LB1Direction out;
  out.head = head;
  Matrix A;
  {
    RoundingGuard nearest(Rounding::nearest);
    A = attnbound::approx::paper_form(layer, false).A.at(static_cast<std::size_t>(head));
    Eigen::SelfAdjointEigenSolver<Matrix> es(Matrix((A + A.transpose()) / 2));
    const long d = A.rows();
    if (!(es.eigenvalues()(d - 1) > 0)) return std::nullopt;
    out.w = (R / 2) * es.eigenvectors().col(d - 1);
  }
  const BallProduct one{1, layer.d, R};
  for (int guard = 0; guard < 200 && !one.certainly_contains(Matrix(2.0 * out.w.transpose())); ++guard)
    out.w *= (1.0 - 0x1p-40);
  if (!one.certainly_contains(Matrix(2.0 * out.w.transpose()))) return std::nullopt;
  RoundingGuard nearest(Rounding::nearest);
  out.c = out.w.dot(A * out.w);
  if (!(out.c > 0)) return std::nullopt;
  return out;
}

long cluster_k(long n, double c) {
  const double e = std::exp(-c);
  long k = std::lround(static_cast<double>(n) * e / (1 + e));
  return std::clamp<long>(k, 1, std::max<long>(1, n - 1));
}

namespace {
ClusteredWitness two_clusters(const LB1Direction& w, long long first, long long rest) {
  ClusteredWitness cw;
  const long d = w.w.size();
  cw.in.Y.resize(2, d);
  cw.in.Y.row(0) = 2.0 * w.w.transpose();  // exact: doubling
  cw.in.Y.row(1) = w.w.transpose();
  cw.in.m = {first, rest};
  cw.dir = Matrix::Zero(2, d);
  cw.dir.row(0) = w.w.transpose();
  return cw;
}
}  // namespace

ClusteredWitness lb1_clustered(const LB1Direction& w, long n) {
  ClusteredWitness cw = two_clusters(w, 1, n - 1);
  cw.name = "LB1(head " + std::to_string(w.head) + "): x_1 = 2w, x_2..x_n = w, direction e_1⊗w";
  return cw;
}

ClusteredWitness lbcluster_clustered(const LB1Direction& w, long n, long k) {
  ClusteredWitness cw = two_clusters(w, k, n - k);
  cw.name = "LB-cluster(head " + std::to_string(w.head) + ", k=" + std::to_string(k) +
            "): k tokens at 2w, n−k at w, direction w on the first cluster";
  return cw;
}

std::vector<ClusteredWitness> engine_witnesses(const AttentionLayer& layer, long head, double R, long n) {
  AttentionLayer one = layer;
  one.heads = {layer.heads.at(static_cast<std::size_t>(head))};
  std::vector<ClusteredWitness> out;
  for (const Witness& w : attnbound::approx::lb1_witnesses(one, 2, R)) {
    const std::string tag = w.name.substr(0, w.name.find('(')) + "(head " + std::to_string(head) + ")";
    ClusteredWitness cw;
    cw.in.Y = w.X;
    cw.dir = Matrix::Zero(2, w.X.cols());
    cw.dir.row(0) = w.dir.row(0);
    cw.in.m = {1, n - 1};
    cw.name = tag;
    out.push_back(cw);
    // Logit gap of the far token as seen from a near one (float): the c of THEORY.md LB-cluster.
    const auto pf = attnbound::approx::paper_form(one, false);
    const double c = w.X.row(1).dot(pf.A[0] * Vector(w.X.row(0).transpose() - w.X.row(1).transpose()));
    const long k = c > 0 ? cluster_k(n, c) : 1;
    if (k > 1) {
      cw.in.m = {k, n - k};
      cw.name = tag + " as LB-cluster, k=" + std::to_string(k);
      out.push_back(cw);
    }
  }
  return out;
}

}  // namespace attnbound::proofs::detail
