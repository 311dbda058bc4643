// Matrix vocabulary shared by every module: dense Eigen matrices over each scalar type, and the
// midpoint-radius form of an interval matrix used by the fast verified products and norms.
#pragma once

#include <Eigen/Core>

#include "core/interval.hpp"
#include "core/mp_interval.hpp"

namespace attnbound {

template <class T>
using Mat = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic>;
template <class T>
using Vec = Eigen::Matrix<T, Eigen::Dynamic, 1>;

using Matrix = Mat<double>;
using Vector = Vec<double>;
using IMatrix = Mat<Interval>;
using IVector = Vec<Interval>;
using MpMatrix = Mat<MpInterval>;
using MpVector = Vec<MpInterval>;

/// The interval matrix {M : |M - mid| <= rad entrywise}; rad >= 0.
struct MidRad {
  Matrix mid, rad;
};

}  // namespace attnbound
