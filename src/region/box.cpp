#include <algorithm>
#include <cmath>

#include "region/region.hpp"

namespace attnbound {

Box Box::around(const Matrix& c, double eps) {
  Box b{c, c};
  UpwardScope up;
  for (Eigen::Index i = 0; i < c.rows(); ++i)
    for (Eigen::Index a = 0; a < c.cols(); ++a) {
      b.hi(i, a) = c(i, a) + eps;
      b.lo(i, a) = -((-c(i, a)) + eps);
    }
  return b;
}

Matrix Box::center() const {
  Matrix c(lo.rows(), lo.cols());
  RoundingGuard g(Rounding::nearest);
  for (Eigen::Index i = 0; i < lo.rows(); ++i)
    for (Eigen::Index a = 0; a < lo.cols(); ++a) {
      double m = lo(i, a) + (hi(i, a) - lo(i, a)) / 2;
      c(i, a) = std::clamp(m, lo(i, a), hi(i, a));
    }
  return c;
}

Matrix Box::widths_up() const {
  Matrix w(lo.rows(), lo.cols());
  UpwardScope up;
  for (Eigen::Index i = 0; i < lo.rows(); ++i)
    for (Eigen::Index a = 0; a < lo.cols(); ++a) w(i, a) = hi(i, a) - lo(i, a);
  return w;
}

IMatrix Box::enclosure() const {
  IMatrix X(lo.rows(), lo.cols());
  for (Eigen::Index i = 0; i < lo.rows(); ++i)
    for (Eigen::Index a = 0; a < lo.cols(); ++a) X(i, a) = hull(lo(i, a), hi(i, a));
  return X;
}

bool Box::certainly_contains(const Matrix& X) const {
  if (X.rows() != lo.rows() || X.cols() != lo.cols()) return false;
  return (X.array() >= lo.array()).all() && (X.array() <= hi.array()).all();
}

Matrix Box::project(const Matrix& X) const { return X.cwiseMax(lo).cwiseMin(hi); }

std::optional<std::pair<Box, Box>> Box::split(long i, long a) const {
  const double l = lo(i, a), h = hi(i, a);
  double m;
  {
    RoundingGuard g(Rounding::nearest);
    m = l + (h - l) / 2;
  }
  if (!(l < m && m < h)) return std::nullopt;
  Box left = *this, right = *this;
  left.hi(i, a) = m;
  right.lo(i, a) = m;
  return std::make_pair(std::move(left), std::move(right));
}

}  // namespace attnbound
