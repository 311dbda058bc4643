// linalg: norms of interval matrices, non-negative matrices (Collatz–Wielandt) and rigorous
// lower bounds (ratio_lower / norm2_lower).
//
// References are rigorous lower bounds computed in MPFI at 256 bits: ‖Xv‖/‖v‖ for a member X and
// v its top right singular vector (double SVD), and for non-negative B the Collatz–Wielandt
// *lower* bound min_i (Bv)_i / v_i <= ρ(B) (any v > 0). An upper bound below such a number is
// wrong.
#include <gtest/gtest.h>
#include <mpfi.h>
#include <mpfr.h>

#include <Eigen/SVD>
#include <cmath>
#include <limits>
#include <random>

#include "linalg/linalg.hpp"
#include "stated_bounds.hpp"
#include "support.hpp"
namespace stated = attnbound::testing::stated;

using namespace attnbound;

namespace {

double mpfi_left_down(mpfi_srcptr x) {
  mpfr_t lo;
  mpfr_init2(lo, mpfi_get_prec(x));
  mpfi_get_left(lo, x);
  const double r = mpfr_get_d(lo, MPFR_RNDD);
  mpfr_clear(lo);
  return r;
}

/// Rigorous lower bound of ‖M v‖/‖v‖ (MPFI, 256 bits).
double ratio_lower_ref(const Matrix& M, const Vector& v) {
  mpfi_t y, t, num, den;
  for (auto* p : {&y, &t, &num, &den}) mpfi_init2(*p, 256);
  mpfi_set_ui(num, 0);
  mpfi_set_ui(den, 0);
  for (Eigen::Index j = 0; j < v.size(); ++j) {
    mpfi_set_d(t, v(j));
    mpfi_sqr(t, t);
    mpfi_add(den, den, t);
  }
  for (Eigen::Index i = 0; i < M.rows(); ++i) {
    mpfi_set_ui(y, 0);
    for (Eigen::Index j = 0; j < M.cols(); ++j) {
      mpfi_set_d(t, M(i, j));
      mpfi_mul_d(t, t, v(j));
      mpfi_add(y, y, t);
    }
    mpfi_sqr(y, y);
    mpfi_add(num, num, y);
  }
  mpfi_div(num, num, den);
  mpfi_sqrt(num, num);
  const double r = mpfi_left_down(num);
  for (auto* p : {&y, &t, &num, &den}) mpfi_clear(*p);
  return r;
}

double sigma_lower_ref(const Matrix& M) {
  Eigen::JacobiSVD<Matrix> svd(M, Eigen::ComputeThinV);
  return ratio_lower_ref(M, svd.matrixV().col(0));
}

/// Rigorous Collatz–Wielandt lower bound min_i (Bv)_i / v_i of ρ(B) for B >= 0, v > 0.
double perron_lower_ref(const Matrix& B, const Vector& v) {
  mpfi_t s, t;
  mpfi_init2(s, 256);
  mpfi_init2(t, 256);
  double best = std::numeric_limits<double>::infinity();
  for (Eigen::Index i = 0; i < B.rows(); ++i) {
    mpfi_set_ui(s, 0);
    for (Eigen::Index j = 0; j < B.cols(); ++j) {
      mpfi_set_d(t, B(i, j));
      mpfi_mul_d(t, t, v(j));
      mpfi_add(s, s, t);
    }
    mpfi_div_d(s, s, v(i));
    best = std::min(best, mpfi_left_down(s));
  }
  mpfi_clear(s);
  mpfi_clear(t);
  return best;
}

Matrix gaussian(Eigen::Index r, Eigen::Index c, std::mt19937_64& rng) {
  std::normal_distribution<double> nd;
  Matrix M(r, c);
  for (Eigen::Index i = 0; i < M.size(); ++i) M.data()[i] = nd(rng);
  return M;
}

Matrix uniform_nonneg(Eigen::Index r, Eigen::Index c, std::mt19937_64& rng) {
  std::uniform_real_distribution<double> u(0.0, 1.0);
  Matrix M(r, c);
  for (Eigen::Index i = 0; i < M.size(); ++i) M.data()[i] = u(rng);
  return M;
}

/// A member of [mid ± rad] (entries clamped into the enclosure produced by to_intervals).
Matrix member(const MidRad& A, std::mt19937_64& rng) {
  std::uniform_real_distribution<double> u(-1.0, 1.0);
  const IMatrix I = to_intervals(A);
  Matrix X(A.mid.rows(), A.mid.cols());
  for (Eigen::Index i = 0; i < X.size(); ++i) {
    const double x = A.mid.data()[i] + u(rng) * A.rad.data()[i];
    X.data()[i] = std::min(std::max(x, I.data()[i].lower()), I.data()[i].upper());
  }
  return X;
}

}  // namespace

TEST(LinalgIntervalNorm, BoundsEveryMemberAndTheSignVertex) {
  std::mt19937_64 rng(attnbound::testing::seed(301));
  const std::pair<int, int> shapes[] = {{1, 1}, {6, 4}, {4, 6}, {40, 40}, {120, 30}};
  for (auto [r, c] : shapes)
    for (double rel : {0.0, 1e-9, 1e-4, 0.3}) {
      const Matrix mid = gaussian(r, c, rng);
      const MidRad A{mid, rel * uniform_nonneg(r, c, rng)};
      const NormProof p = norm2_upper_proof(A);
      const double U = p.bound.value();
      for (int s = 0; s < 3; ++s) ASSERT_GE(U, sigma_lower_ref(member(A, rng))) << r << "x" << c;
      // The sign vertex mid + sign(u vᵀ)∘rad from mid's singular vectors: the member that
      // grows the top singular value at first order.
      Eigen::JacobiSVD<Matrix> svd(mid, Eigen::ComputeThinU | Eigen::ComputeThinV);
      const Matrix S = (svd.matrixU().col(0) * svd.matrixV().col(0).transpose()).cwiseSign();
      Matrix vertex = mid + S.cwiseProduct(A.rad);
      const IMatrix I = to_intervals(A);
      for (Eigen::Index i = 0; i < vertex.size(); ++i)
        vertex.data()[i] = std::min(std::max(vertex.data()[i], I.data()[i].lower()), I.data()[i].upper());
      const double Lv = sigma_lower_ref(vertex);
      ASSERT_GE(U, Lv);
      // Tightness: U ≤ ‖mid‖(1 + gap) + ‖rad‖ and Lv ≥ ‖mid‖ − ‖vertex − mid‖ ≥ ‖mid‖ − ‖rad‖
      // (|vertex − mid| ≤ rad, monotonicity), so U − Lv ≤ 2‖rad‖ + gap; radn ≥ ‖rad‖.
      const double radn = rel == 0 ? 0 : norm2_upper_nonneg(A.rad).value();
      EXPECT_LE(U, Lv * (1 + stated::norm2_gap_of(r, c)) + 2 * radn) << r << "x" << c << " rel " << rel;
      EXPECT_NE(p.method.find("collatz"), std::string::npos);
    }
}

TEST(LinalgIntervalNorm, IMatrixAndMidRadAgreeAndZeroRadiusIsThePointBound) {
  std::mt19937_64 rng(attnbound::testing::seed(302));
  const Matrix mid = gaussian(30, 20, rng);
  const MidRad A{mid, 1e-3 * uniform_nonneg(30, 20, rng)};
  IMatrix I;
  {
    UpwardScope up;
    I = to_intervals(A);
  }
  const double ui = norm2_upper(I).value(), um = norm2_upper(A).value();
  EXPECT_NEAR(ui / um, 1.0, 2 * stated::norm2_gap(20, 30) + 4 * stated::u * std::sqrt(20.0));  // ±u per entry in the conversion
  EXPECT_GE(ui, sigma_lower_ref(member(A, rng)));
  const double point = norm2_upper(mid).value();
  EXPECT_EQ(norm2_upper(MidRad{mid, Matrix::Zero(30, 20)}).value(), point);
}

TEST(LinalgIntervalNorm, UnboundedEntriesGiveInfinity) {
  UpwardScope up;
  IMatrix I = IMatrix::Constant(3, 3, point(1.0));
  I(1, 2) = hull(-std::numeric_limits<double>::infinity(), 2.0);
  EXPECT_FALSE(norm2_upper(I).is_finite());
  I(1, 2) = Interval(std::nan(""), std::nan(""), true);
  EXPECT_FALSE(norm2_upper(I).is_finite());
  EXPECT_THROW(norm2_upper(MidRad{Matrix::Ones(2, 2), -Matrix::Ones(2, 2)}), std::invalid_argument);
}

TEST(LinalgIntervalNorm, PerronUpperOnKnownAndRandomMatrices) {
  std::mt19937_64 rng(attnbound::testing::seed(303));
  // Exactly known spectral radii.
  EXPECT_GE(perron_upper(Matrix::Ones(7, 7)).value(), 7.0);
  EXPECT_LE(perron_upper(Matrix::Ones(7, 7)).value(), 7.0 * (1 + stated::collatz_gap(7)));
  Matrix cycle = Matrix::Zero(5, 5);  // periodic: power iteration alone would oscillate
  for (int i = 0; i < 5; ++i) cycle(i, (i + 1) % 5) = 2.0;
  EXPECT_GE(perron_upper(cycle).value(), 2.0);
  EXPECT_LE(perron_upper(cycle).value(), 2.0 * (1 + stated::collatz_gap(5)));
  Matrix reducible = Matrix::Zero(4, 4);  // block triangular with a zero block
  reducible.topLeftCorner(2, 2) << 1, 2, 3, 4;
  reducible(3, 0) = 5;
  const double rho_red = (5 + std::sqrt(33.0)) / 2;
  EXPECT_GE(perron_upper(reducible).value(), rho_red * (1 - 1e-15));
  EXPECT_LE(perron_upper(reducible, 40).value(), rho_red * (1 + 1e-6));
  EXPECT_EQ(perron_upper(Matrix::Zero(3, 3)).value(), 0.0);
  EXPECT_EQ(perron_upper(Matrix(0, 0)).value(), 0.0);
  // Random non-negative matrices against the rigorous lower Collatz bound at the Perron vector.
  for (int n : {1, 3, 50, 200}) {
    const Matrix B = uniform_nonneg(n, n, rng);
    Vector v = Vector::Ones(n);
    for (int s = 0; s < 100; ++s) v = (B * v).normalized();
    const double lo = perron_lower_ref(B, v);
    const double up = perron_upper(B).value();
    ASSERT_GE(up, lo);
    EXPECT_LE(up, lo * (1 + stated::collatz_gap(n) + stated::gamma(n + 2)));  // + the reference's own rounding
  }
  EXPECT_THROW(perron_upper(-Matrix::Ones(2, 2)), std::invalid_argument);
  EXPECT_THROW(perron_upper(Matrix::Ones(2, 3)), std::invalid_argument);
  Matrix bad = Matrix::Ones(2, 2);
  bad(0, 1) = std::numeric_limits<double>::infinity();
  EXPECT_FALSE(perron_upper(bad).is_finite());
}

TEST(LinalgIntervalNorm, NonnegativeNormUpper) {
  std::mt19937_64 rng(attnbound::testing::seed(304));
  for (auto [r, c] : {std::pair{1, 1}, {5, 9}, {9, 5}, {80, 80}}) {
    const Matrix B = uniform_nonneg(r, c, rng);
    const double L = sigma_lower_ref(B);
    const double U = norm2_upper_nonneg(B).value();
    ASSERT_GE(U, L);
    EXPECT_LE(U, L * (1 + stated::nonneg_norm_gap(r, c)));
  }
  EXPECT_EQ(norm2_upper_nonneg(Matrix::Zero(4, 2)).value(), 0.0);
  EXPECT_THROW(norm2_upper_nonneg(-Matrix::Ones(2, 2)), std::invalid_argument);
}

TEST(LinalgIntervalNorm, LowerBoundsSandwichTheNorm) {
  std::mt19937_64 rng(attnbound::testing::seed(305));
  for (auto [r, c] : {std::pair{1, 1}, {7, 3}, {3, 7}, {60, 60}}) {
    const Matrix M = gaussian(r, c, rng);
    const auto ts = approx::top_singular(M);
    const double lower = norm2_lower(M, ts.v).value();
    const double upper = norm2_upper(M).value();
    const double L = sigma_lower_ref(M);
    ASSERT_LE(lower, upper);
    EXPECT_GE(lower, L * (1 - 1e-12));  // tight at the singular vector
    // Interval version: the lower bound holds for every member, so it is below each member's norm.
    const MidRad A{M, 1e-6 * uniform_nonneg(r, c, rng)};
    IMatrix I;
    {
      UpwardScope up;
      I = to_intervals(A);
    }
    const double li = norm2_lower(I, ts.v).value();
    ASSERT_LE(li, sigma_lower_ref(member(A, rng)) * (1 + stated::norm2_lower_deficit(c)) + 1e-300);
    ASSERT_LE(li, lower);
    EXPECT_GE(li, lower * (1 - 1e-4));
    ASSERT_LE(li, norm2_upper(I).value());
  }
}

TEST(LinalgIntervalNorm, RatioLowerUsesMignitude) {
  UpwardScope up;
  IVector y(3);
  y << hull(-1.0, 2.0), hull(3.0, 4.0), hull(-6.0, -5.0);  // mig = 0, 3, 5
  Vector v(2);
  v << 3.0, 4.0;  // ‖v‖ = 5
  const double r = ratio_lower(y, v).value();
  EXPECT_LE(r, std::sqrt(34.0) / 5);
  EXPECT_GE(r, std::sqrt(34.0) / 5 * (1 - 8 * stated::u));
  EXPECT_EQ(ratio_lower(y, Vector::Zero(2)).value(), 0.0);
  y(1) = hull(-std::numeric_limits<double>::infinity(), 4.0);
  EXPECT_LE(ratio_lower(y, v).value(), 1.0);  // = 5/5 with the middle entry dropped
  EXPECT_THROW(norm2_lower(IMatrix(2, 3), Vector::Ones(2)), std::invalid_argument);
}

TEST(LinalgIntervalNorm, OverflowInsideCollatzGivesInfinityNeverZero) {
  // |B|v overflows to inf and a zero entry then meets it (0·inf = NaN): no information.
  Matrix B = Matrix::Zero(3, 3);
  B(0, 0) = B(0, 1) = 1e308;
  B(2, 2) = 1.0;
  const double u = norm2_upper_nonneg(B).value();
  EXPECT_TRUE(u >= 1e308) << u;
  const double p = perron_upper(B.transpose() * 1.0).value();
  EXPECT_TRUE(p >= 1e308) << p;
  Matrix C = Matrix::Zero(3, 3);
  C(0, 1) = C(0, 2) = 1e308;
  C(1, 0) = 1e308;
  EXPECT_TRUE(perron_upper(C).value() >= 1e308);
}
