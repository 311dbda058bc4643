// linalg: MPFI variants (independent checker, matrices outside the double range).
#include <gtest/gtest.h>

#include <Eigen/SVD>
#include <cmath>
#include <random>

#include "linalg/linalg.hpp"
#include "stated_bounds.hpp"
#include "support.hpp"
namespace stated = attnbound::testing::stated;

using namespace attnbound;

namespace {

Matrix gaussian(Eigen::Index r, Eigen::Index c, std::mt19937_64& rng) {
  std::normal_distribution<double> nd;
  Matrix M(r, c);
  for (Eigen::Index i = 0; i < M.size(); ++i) M.data()[i] = nd(rng);
  return M;
}

MpMatrix to_mp(const Matrix& M) {
  MpMatrix R(M.rows(), M.cols());
  for (Eigen::Index i = 0; i < M.size(); ++i) R.data()[i] = MpInterval(M.data()[i]);
  return R;
}

Vector top_right_vector(const Matrix& M) {
  Eigen::JacobiSVD<Matrix> svd(M, Eigen::ComputeThinV);
  return svd.matrixV().col(0);
}

}  // namespace

TEST(LinalgMp, PureMpfiBoundIsSoundAndTight) {
  std::mt19937_64 rng(attnbound::testing::seed(401));
  for (auto [r, c] : {std::pair{1, 1}, {2, 5}, {5, 2}, {12, 12}, {40, 25}}) {
    const Matrix M = gaussian(r, c, rng);
    const MpMatrix Mp = to_mp(M);
    const double L = norm2_lower(Mp, top_right_vector(M)).value();
    const double U = norm2_upper(Mp, MpNormPath::mpfi).value();
    const double Ud = norm2_upper(Mp, MpNormPath::double_intervals).value();
    ASSERT_GE(U, L) << r << "x" << c;
    ASSERT_GE(Ud, L) << r << "x" << c;
    EXPECT_LE(U, L * (1 + stated::mp_norm2_gap(std::min(r, c)))) << r << "x" << c;
    EXPECT_LE(Ud, L * (1 + stated::mp_double_interval_gap(r, c))) << r << "x" << c;
    // The MPFI lower bound agrees with the double one.
    EXPECT_NEAR(norm2_lower(M, top_right_vector(M)).value() / L, 1.0, 1e-14);
  }
}

TEST(LinalgMp, IntervalEntriesNotRepresentableInDouble) {
  // Entries k/3 and intervals [k/7 ± 1e-30]: every member must be bounded.
  MpPrecision prec(200);
  const int n = 10;
  MpMatrix M(n, n);
  Matrix approx(n, n);
  for (int i = 0; i < n; ++i)
    for (int j = 0; j < n; ++j) {
      const int k = (i * 7 + j * 3) % 11 - 5;
      M(i, j) = (i + j) % 2 ? MpInterval(k) / MpInterval(3)
                            : MpInterval(k) / MpInterval(7) + MpInterval::from_decimal("1e-30") * MpInterval::hull(-1, 1);
      approx(i, j) = M(i, j).mid_approx();
    }
  const double L = norm2_lower(M, top_right_vector(approx)).value();
  const double U = norm2_upper(M).value();
  ASSERT_GT(L, 0.0);
  ASSERT_GE(U, L);
  EXPECT_LE(U, L * (1 + stated::mp_norm2_gap(n)));
  EXPECT_GE(norm2_upper(M, MpNormPath::double_intervals).value(), L);
}

TEST(LinalgMp, BadlyScaledBeyondDoubleRange) {
  std::mt19937_64 rng(attnbound::testing::seed(402));
  const Matrix M = gaussian(8, 6, rng);
  MpMatrix big = to_mp(M), tiny = to_mp(M), mixed = to_mp(M);
  for (Eigen::Index i = 0; i < big.size(); ++i) {
    mpfi_mul_2si(big.data()[i].raw(), big.data()[i].raw(), 1100);     // beyond DBL_MAX
    mpfi_mul_2si(tiny.data()[i].raw(), tiny.data()[i].raw(), -1100);  // below the subnormals
  }
  for (Eigen::Index j = 0; j < 6; ++j) mpfi_mul_2si(mixed(0, j).raw(), mixed(0, j).raw(), -3000);
  // Too large for a double bound: +inf is the only sound double answer.
  EXPECT_FALSE(norm2_upper(big, MpNormPath::mpfi).is_finite());
  // Below the double range: the bound rounds up to a tiny positive double.
  const double ut = norm2_upper(tiny, MpNormPath::mpfi).value();
  EXPECT_GT(ut, 0.0);
  EXPECT_LE(ut, 1e-300);
  EXPECT_GE(norm2_upper(tiny, MpNormPath::double_intervals).value(), 0.0);
  // One row scaled by 2^-3000: the norm is that of the other rows, both paths bound it.
  Matrix rest = M;
  rest.row(0).setZero();
  const double L = norm2_lower(rest, top_right_vector(rest)).value();
  const double um = norm2_upper(mixed, MpNormPath::mpfi).value();
  ASSERT_GE(um, L);
  EXPECT_LE(um, L * (1 + stated::mp_norm2_gap(6)));
  ASSERT_GE(norm2_upper(mixed, MpNormPath::double_intervals).value(), L);
}

TEST(LinalgMp, ZeroEmptyAndLowerEdgeCases) {
  EXPECT_EQ(norm2_upper(MpMatrix(0, 0)).value(), 0.0);
  MpMatrix Z(3, 2);
  for (Eigen::Index i = 0; i < Z.size(); ++i) Z.data()[i] = MpInterval(0);
  EXPECT_EQ(norm2_upper(Z, MpNormPath::mpfi).value(), 0.0);
  EXPECT_EQ(norm2_lower(Z, Vector::Ones(2)).value(), 0.0);
  EXPECT_EQ(norm2_lower(to_mp(Matrix::Ones(2, 2)), Vector::Zero(2)).value(), 0.0);
  EXPECT_THROW(norm2_lower(Z, Vector::Ones(3)), std::invalid_argument);
}
