#include "proofs/witness_build.hpp"

#include <Eigen/Eigenvalues>
#include <algorithm>
#include <cmath>

#include "linalg/linalg.hpp"
#include "region/region.hpp"

namespace attnbound::proofs::detail {

namespace {

Matrix head_A(const Head& h) {
  return h.Wq.transpose() * h.Wk / std::sqrt(static_cast<double>(h.logit_divisor));
}

}  // namespace

SymExtremes sym_extremes(const AttentionLayer& layer, long head) {
  RoundingGuard nearest(Rounding::nearest);
  const Head& h = layer.heads.at(static_cast<std::size_t>(head));
  SymExtremes e;
  const long d = layer.d;
  if (d <= 64 || 4 * h.dk() >= d) {
    const Matrix A = head_A(h);
    Eigen::SelfAdjointEigenSolver<Matrix> es(Matrix((A + A.transpose()) / 2));
    e.lmax = es.eigenvalues()(d - 1);
    e.lmin = es.eigenvalues()(0);
    e.umax = es.eigenvectors().col(d - 1);
    e.umin = es.eigenvectors().col(0);
    return e;
  }
  const double s = 1.0 / (2.0 * std::sqrt(static_cast<double>(h.logit_divisor)));
  auto sym = [&](const Vector& x) -> Vector { return s * (h.Wq.transpose() * (h.Wk * x) + h.Wk.transpose() * (h.Wq * x)); };
  const auto top = attnbound::approx::top_eigen_symmetric(sym, d, 400, 1e-13);
  const auto bottom = attnbound::approx::top_eigen_symmetric([&](const Vector& x) -> Vector { return -sym(x); }, d, 400, 1e-13);
  e.lmax = top.lambda.value();
  e.umax = top.v;
  e.lmin = -bottom.lambda.value();
  e.umin = bottom.v;
  return e;
}

std::optional<LB1Direction> lb1_direction(const AttentionLayer& layer, long head, double R) {
  const SymExtremes e = sym_extremes(layer, head);
  if (!(e.lmax > 0)) return std::nullopt;
  LB1Direction out;
  out.head = head;
  out.w = (R / 2) * e.umax;
  const BallProduct one{1, layer.d, R};
  for (int guard = 0; guard < 200 && !one.certainly_contains(Matrix(2.0 * out.w.transpose())); ++guard)
    out.w *= (1.0 - 0x1p-40);
  if (!one.certainly_contains(Matrix(2.0 * out.w.transpose()))) return std::nullopt;
  RoundingGuard nearest(Rounding::nearest);
  const Head& h = layer.heads[static_cast<std::size_t>(head)];
  out.c = (h.Wq * out.w).dot(h.Wk * out.w) / std::sqrt(static_cast<double>(h.logit_divisor));
  if (!(out.c > 0)) return std::nullopt;
  return out;
}

long cluster_k(long n, double c) {
  const double e = std::exp(-c);
  long k = std::lround(static_cast<double>(n) * e / (1 + e));
  return std::clamp<long>(k, 1, std::max<long>(1, n - 1));
}

namespace {

ClusteredWitness two_clusters(const Matrix& Y, const Vector& dir, long long first, long long rest, std::string name) {
  ClusteredWitness cw;
  cw.name = std::move(name);
  cw.in.Y = Y;
  cw.in.m = {first, rest};
  cw.dir = Matrix::Zero(2, Y.cols());
  cw.dir.row(0) = dir.transpose();
  return cw;
}

}  // namespace

ClusteredWitness lb1_clustered(const LB1Direction& w, long n) {
  Matrix Y(2, w.w.size());
  Y.row(0) = 2.0 * w.w.transpose();  // exact: doubling
  Y.row(1) = w.w.transpose();
  return two_clusters(Y, w.w, 1, n - 1,
                      "LB1(head " + std::to_string(w.head) + "): x_1 = 2w, x_2..x_n = w, direction e_1⊗w");
}

ClusteredWitness lbcluster_clustered(const LB1Direction& w, long n, long k) {
  Matrix Y(2, w.w.size());
  Y.row(0) = 2.0 * w.w.transpose();
  Y.row(1) = w.w.transpose();
  return two_clusters(Y, w.w, k, n - k,
                      "LB-cluster(head " + std::to_string(w.head) + ", k=" + std::to_string(k) +
                          "): k tokens at 2w, n−k at w, direction w on the first cluster");
}

std::vector<ClusteredWitness> head_witnesses(const AttentionLayer& layer, long head, double R, long n,
                                             bool with_cluster) {
  const SymExtremes e = sym_extremes(layer, head);
  const BallProduct two{2, layer.d, R};
  const std::string tag = "(head " + std::to_string(head) + ")";
  std::vector<ClusteredWitness> out;
  RoundingGuard nearest(Rounding::nearest);
  const Head& hd = layer.heads[static_cast<std::size_t>(head)];
  const double s = 1.0 / std::sqrt(static_cast<double>(hd.logit_divisor));
  // Each two-position witness, then its LB-cluster variant: k far tokens, with k/(n−k) ≈ e^{−c} for
  // the logit gap c = y_2ᵀA(y_1 − y_2) that a near token sees.
  auto add = [&](const Matrix& Y, const Vector& u, const std::string& name) {
    out.push_back(two_clusters(Y, u, 1, n - 1, name));
    if (!with_cluster) return;
    const Vector y1 = Y.row(0).transpose(), y2 = Y.row(1).transpose();
    const double c = s * (hd.Wq * y2).dot(hd.Wk * (y1 - y2));
    if (!(c > 0)) return;
    const long k = cluster_k(n, c);
    if (k > 1) out.push_back(two_clusters(Y, u, k, n - k, name + " as LB-cluster, k=" + std::to_string(k)));
  };
  if (e.lmax > 0) {
    Matrix Y(2, layer.d);
    Y.row(0) = R * e.umax.transpose();
    Y.row(1) = (R / 2) * e.umax.transpose();
    add(two.project(Y), e.umax, "LB1" + tag);
  }
  if (e.lmin < 0 && e.lmax <= -8 * e.lmin) {
    Matrix Y(2, layer.d);
    Y.row(0) = -R * e.umin.transpose();
    Y.row(1) = R * e.umin.transpose();
    add(two.project(Y), e.umin, "LB1-mirrored" + tag);
  }
  return out;
}

}  // namespace attnbound::proofs::detail
