// linalg: approximate helpers (no guarantee; they feed the rigorous code). Compared with Eigen's
// dense SVD / eigen-solvers.
#include <gtest/gtest.h>

#include <Eigen/Eigenvalues>
#include <Eigen/SVD>
#include <cmath>
#include <random>

#include "linalg/linalg.hpp"
#include "support.hpp"

using namespace attnbound;

namespace {
Matrix gaussian(Eigen::Index r, Eigen::Index c, std::mt19937_64& rng) {
  std::normal_distribution<double> nd;
  Matrix M(r, c);
  for (Eigen::Index i = 0; i < M.size(); ++i) M.data()[i] = nd(rng);
  return M;
}
}  // namespace

TEST(LinalgApprox, TopSingularMatchesDenseSvd) {
  std::mt19937_64 rng(attnbound::testing::seed(501));
  for (auto [r, c] : {std::pair{1, 1}, {3, 8}, {8, 3}, {100, 70}, {300, 300}}) {
    const Matrix M = gaussian(r, c, rng);
    Eigen::JacobiSVD<Matrix> svd(M, Eigen::ComputeThinU | Eigen::ComputeThinV);
    const approx::TopSingular t = approx::top_singular(M);
    EXPECT_TRUE(t.converged) << r << "x" << c;
    EXPECT_NEAR(t.sigma.value() / svd.singularValues()(0), 1.0, 1e-12) << r << "x" << c;
    EXPECT_NEAR(std::abs(t.v.dot(svd.matrixV().col(0))), 1.0, 1e-6);
    EXPECT_NEAR(std::abs(t.u.dot(svd.matrixU().col(0))), 1.0, 1e-6);
    EXPECT_NEAR(t.v.norm(), 1.0, 1e-12);
    EXPECT_LE((M * t.v - t.sigma.value() * t.u).norm(), 1e-10 * t.sigma.value());
    EXPECT_NEAR(approx::norm2(M).value() / svd.singularValues()(0), 1.0, 1e-12);
  }
}

TEST(LinalgApprox, MatrixFreeCallbacksAndDeterminism) {
  std::mt19937_64 rng(attnbound::testing::seed(502));
  const Matrix M = gaussian(90, 60, rng);
  int calls = 0;
  auto mv = [&](const Vector& x) {
    ++calls;
    return Vector(M * x);
  };
  auto mtv = [&](const Vector& y) { return Vector(M.transpose() * y); };
  const approx::TopSingular a = approx::top_singular(mv, mtv, 60, 500, 1e-13);
  const approx::TopSingular b = approx::top_singular(mv, mtv, 60, 500, 1e-13);
  EXPECT_EQ(a.sigma.value(), b.sigma.value());  // deterministic start vector
  EXPECT_EQ(a.v, b.v);
  EXPECT_LE(a.iterations, 500);
  EXPECT_GE(calls, 2 * a.iterations);
  const approx::TopSingular capped = approx::top_singular(mv, mtv, 60, 3, 1e-13);
  EXPECT_EQ(capped.iterations, 3);
  EXPECT_LE(capped.sigma.value(), a.sigma.value() * (1 + 1e-12));
}

TEST(LinalgApprox, DegenerateInputs) {
  const approx::TopSingular z = approx::top_singular(Matrix::Zero(5, 4));
  EXPECT_EQ(z.sigma.value(), 0.0);
  EXPECT_EQ(approx::norm2(Matrix(0, 0)).value(), 0.0);
  Matrix r1 = Vector::LinSpaced(50, 1, 2) * Vector::LinSpaced(40, -1, 1).transpose();
  EXPECT_NEAR(approx::top_singular(r1).sigma.value(),
              Vector::LinSpaced(50, 1, 2).norm() * Vector::LinSpaced(40, -1, 1).norm(), 1e-10);
  // Equal singular values (orthogonal matrix): any unit vector is a top vector.
  Eigen::HouseholderQR<Matrix> qr(Matrix::Random(70, 70));
  const Matrix Q = qr.householderQ() * Matrix::Identity(70, 70);
  EXPECT_NEAR(approx::top_singular(Q).sigma.value(), 1.0, 1e-12);
}

TEST(LinalgApprox, TopEigenSymmetric) {
  std::mt19937_64 rng(attnbound::testing::seed(503));
  for (int n : {1, 5, 250, 450}) {  // 450 > the 200-vector basis: exercises restarts
    const Matrix X = gaussian(n, n, rng);
    const Matrix S = X + X.transpose();
    Eigen::SelfAdjointEigenSolver<Matrix> es(S, Eigen::EigenvaluesOnly);
    const approx::TopEigen t = approx::top_eigen_symmetric([&](const Vector& x) { return Vector(S * x); },
                                                           n, 3000, 1e-12);
    const double lmax = es.eigenvalues().maxCoeff();
    const double scale = es.eigenvalues().cwiseAbs().maxCoeff();
    EXPECT_NEAR(t.lambda.value(), lmax, 1e-9 * scale) << n;
    EXPECT_NEAR(t.v.norm(), 1.0, 1e-12);
  }
}
