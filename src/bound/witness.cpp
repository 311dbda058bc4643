// Lower-bound witnesses: constructions from THEORY.md §3 (approximate) and their rigorous value.
#include <Eigen/Eigenvalues>
#include <cmath>

#include "bound/bound.hpp"
#include "linalg/linalg.hpp"

namespace attnbound {

namespace {
template <class T>
Mat<T> as(const Matrix& X) {
  Mat<T> Y(X.rows(), X.cols());
  for (Eigen::Index i = 0; i < X.rows(); ++i)
    for (Eigen::Index a = 0; a < X.cols(); ++a) Y(i, a) = T(X(i, a));
  return Y;
}
}  // namespace

LowerBound evaluate_witness(const AttentionLayer& layer, const Matrix& X, const Matrix& dir) {
  if (dir.rows() != X.rows() || dir.cols() != X.cols() || !(dir.array() != 0).any())
    return LowerBound::zero();
  UpwardScope up;
  const auto s = forward<Interval>(layer, as<Interval>(X));
  const IMatrix y = jvp<Interval>(layer, s, as<Interval>(dir));
  return ratio_lower(flatten<Interval>(y), flatten<double>(dir));
}

namespace approx {

namespace {
struct SymEigen {
  double lmax, lmin;
  Vector umax, umin;
};
SymEigen sym_eigen(const Matrix& A) {
  Eigen::SelfAdjointEigenSolver<Matrix> es(Matrix((A + A.transpose()) / 2));
  const long d = A.rows();
  return {es.eigenvalues()(d - 1), es.eigenvalues()(0), es.eigenvectors().col(d - 1),
          es.eigenvectors().col(0)};
}
Matrix row_direction(long n, const Vector& u, long rows = 1) {
  Matrix D = Matrix::Zero(n, u.size());
  for (long i = 0; i < rows && i < n; ++i) D.row(i) = u.transpose();
  return D;
}
}  // namespace

std::vector<Witness> lb1_witnesses(const AttentionLayer& layer, long n, double R) {
  RoundingGuard nearest(Rounding::nearest);
  const PaperForm pf = paper_form(layer, false);
  const BallProduct ball{n, layer.d, R};
  std::vector<Witness> out;
  for (std::size_t h = 0; h < pf.A.size(); ++h) {
    const SymEigen e = sym_eigen(pf.A[h]);
    const std::string tag = "LB1(head " + std::to_string(h) + ")";
    if (e.lmax > 0) {
      Matrix X(n, layer.d);
      for (long i = 0; i < n; ++i) X.row(i) = (i == 0 ? R : R / 2) * e.umax.transpose();
      out.push_back({tag, ball.project(X), row_direction(n, e.umax)});
    }
    if (e.lmin < 0 && e.lmax <= -8 * e.lmin) {
      Matrix X(n, layer.d);
      for (long i = 0; i < n; ++i) X.row(i) = (i == 0 ? -R : R) * e.umin.transpose();
      out.push_back({"LB1-mirrored(head " + std::to_string(h) + ")", ball.project(X),
                     row_direction(n, e.umin)});
    }
  }
  return out;
}

Witness lb_cluster_witness(const AttentionLayer& layer, long n, double R, long head) {
  RoundingGuard nearest(Rounding::nearest);
  const PaperForm pf = paper_form(layer, false);
  const SymEigen e = sym_eigen(pf.A.at(static_cast<std::size_t>(head)));
  const double c = std::max(e.lmax, 0.0) * R * R / 4;
  long k = std::lround(static_cast<double>(n) * std::exp(-c) / (1 + std::exp(-c)));
  k = std::clamp<long>(k, 1, std::max<long>(1, n - 1));
  Matrix X(n, layer.d);
  for (long i = 0; i < n; ++i) X.row(i) = (i < k ? R : R / 2) * e.umax.transpose();
  const BallProduct ball{n, layer.d, R};
  return {"LB-cluster(head " + std::to_string(head) + ", k=" + std::to_string(k) + ")",
          ball.project(X), row_direction(n, e.umax / std::sqrt(static_cast<double>(k)), k)};
}

}  // namespace approx

}  // namespace attnbound
