// linalg: enclosed matrix products (mul, mul_enclose, MidRad conversions).
//
// Reference: the exact product of double matrices, computed entry by entry with MPFR at 4096 bits
// (every product of two doubles is exact in 106 bits and the test data span < 2400 binary orders
// of magnitude, so each sum is exact). Interval inputs are checked at exact points inside them:
// vertices (the extreme points, most likely to escape) and random interior doubles.
#include <gtest/gtest.h>
#include <mpfr.h>

#include <cmath>
#include <limits>
#include <random>
#include <stdexcept>

#include <immintrin.h>

#include "linalg/linalg.hpp"
#include "support.hpp"

using namespace attnbound;
using attnbound::testing::Big;

namespace {

constexpr mpfr_prec_t kExactBits = 4096;

/// Exact (A·B)(i, j) in `out` (A, B double matrices).
void exact_entry(const Matrix& A, const Matrix& B, Eigen::Index i, Eigen::Index j, Big& out) {
  Big term(kExactBits);
  mpfr_set_zero(out.get(), 1);
  for (Eigen::Index k = 0; k < A.cols(); ++k) {
    mpfr_set_d(term.get(), A(i, k), MPFR_RNDN);
    mpfr_mul_d(term.get(), term.get(), B(k, j), MPFR_RNDN);  // exact
    mpfr_add(out.get(), out.get(), term.get(), MPFR_RNDN);   // exact at 4096 bits
  }
}

/// Number of entries of C (all, or `samples` random ones) that do not contain the exact A·B.
long violations(const IMatrix& C, const Matrix& A, const Matrix& B, std::mt19937_64* rng = nullptr,
                int samples = 0) {
  Big exact(kExactBits);
  long bad = 0;
  auto check = [&](Eigen::Index i, Eigen::Index j) {
    exact_entry(A, B, i, j, exact);
    if (!exact.inside(C(i, j).lower(), C(i, j).upper())) ++bad;
  };
  if (rng && samples > 0) {
    std::uniform_int_distribution<Eigen::Index> ri(0, C.rows() - 1), rj(0, C.cols() - 1);
    for (int s = 0; s < samples; ++s) check(ri(*rng), rj(*rng));
  } else {
    for (Eigen::Index j = 0; j < C.cols(); ++j)
      for (Eigen::Index i = 0; i < C.rows(); ++i) check(i, j);
  }
  return bad;
}

/// Random doubles biased toward nasty cases: wide exponent range, exact zeros, near-cancelling
/// pairs, values whose products are subnormal.
double nasty(std::mt19937_64& rng) {
  std::uniform_real_distribution<double> u(-1.0, 1.0);
  std::uniform_int_distribution<int> kind(0, 19), ex(-40, 40);
  switch (kind(rng)) {
    case 0: return 0.0;
    case 1: return std::ldexp(u(rng), -560);  // products with each other are subnormal
    case 2: return 1.0 + std::ldexp(u(rng), -50);
    case 3: return -1.0;
    default: return std::ldexp(u(rng), ex(rng));
  }
}

Matrix nasty_matrix(Eigen::Index r, Eigen::Index c, std::mt19937_64& rng) {
  Matrix M(r, c);
  for (Eigen::Index i = 0; i < M.size(); ++i) M.data()[i] = nasty(rng);
  return M;
}

/// An interval matrix around `mid` with random radii (zero, tiny, relative, huge).
IMatrix around(const Matrix& mid, std::mt19937_64& rng) {
  UpwardScope up;
  std::uniform_int_distribution<int> kind(0, 4);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  IMatrix A(mid.rows(), mid.cols());
  for (Eigen::Index i = 0; i < mid.size(); ++i) {
    const double m = mid.data()[i];
    double r = 0.0;
    switch (kind(rng)) {
      case 0: r = 0.0; break;
      case 1: r = std::abs(m) * 1e-15 * u(rng); break;
      case 2: r = std::abs(m) * 1e-3 * u(rng); break;
      case 3: r = 2.0 * u(rng); break;
      default: r = std::abs(m) * u(rng); break;
    }
    A.data()[i] = from_mid_rad(m, r);
  }
  return A;
}

/// A double inside each entry: a vertex (lower or upper end) or a random interior point.
Matrix member(const IMatrix& A, std::mt19937_64& rng) {
  std::uniform_int_distribution<int> pick(0, 2);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  Matrix X(A.rows(), A.cols());
  for (Eigen::Index i = 0; i < A.size(); ++i) {
    const double lo = A.data()[i].lower(), hi = A.data()[i].upper();
    const int p = pick(rng);
    double x = p == 0 ? lo : p == 1 ? hi : lo + (hi - lo) * u(rng);
    X.data()[i] = std::min(std::max(x, lo), hi);
  }
  return X;
}

struct Shape {
  Eigen::Index n, k, m;
};
const Shape kShapes[] = {{1, 1, 1}, {3, 5, 2}, {1, 40, 7}, {9, 1, 4}, {17, 33, 9}, {12, 300, 5}, {6, 64, 70}, {40, 70, 1}, {1, 70, 30}};

bool all_proper(const IMatrix& C) {
  for (Eigen::Index i = 0; i < C.size(); ++i)
    if (!(C.data()[i].lower() <= C.data()[i].upper())) return false;
  return true;
}

}  // namespace

TEST(LinalgProduct, MulEncloseContainsExactProduct) {
  std::mt19937_64 rng(attnbound::testing::seed(101));
  for (int rep = 0; rep < 3; ++rep)
    for (const Shape& s : kShapes) {
      const Matrix A = nasty_matrix(s.n, s.k, rng), B = nasty_matrix(s.k, s.m, rng);
      const IMatrix C = mul_enclose(A, B);
      ASSERT_EQ(violations(C, A, B), 0) << s.n << "x" << s.k << "x" << s.m;
    }
}

TEST(LinalgProduct, MulEncloseIsTight) {
  // Directed GEMMs: width <= 2 γ^dir_k |A||B| entrywise (u = 2^-52 per directed rounding).
  std::mt19937_64 rng(attnbound::testing::seed(102));
  std::normal_distribution<double> nd;
  Matrix A(20, 200), B(200, 15);
  for (Eigen::Index i = 0; i < A.size(); ++i) A.data()[i] = nd(rng);
  for (Eigen::Index i = 0; i < B.size(); ++i) B.data()[i] = nd(rng);
  const IMatrix C = mul_enclose(A, B);
  const Matrix AB = A.cwiseAbs() * B.cwiseAbs();
  const double g = 200 * 0x1p-52 / (1 - 200 * 0x1p-52);
  for (Eigen::Index i = 0; i < C.size(); ++i)
    ASSERT_LE(C.data()[i].upper() - C.data()[i].lower(), 2 * g * AB.data()[i] + 1e-300);
}

TEST(LinalgProduct, IntervalTimesPointContainsEveryMemberProduct) {
  std::mt19937_64 rng(attnbound::testing::seed(103));
  for (const Shape& s : kShapes) {
    const IMatrix A = around(nasty_matrix(s.n, s.k, rng), rng);
    const Matrix B = nasty_matrix(s.k, s.m, rng);
    IMatrix C;
    {
      UpwardScope up;
      C = mul(A, B);
    }
    ASSERT_TRUE(all_proper(C));
    for (int p = 0; p < 4; ++p) ASSERT_EQ(violations(C, member(A, rng), B), 0) << s.n << "x" << s.k;
    // The prepared-weight variant computes the same enclosure.
    UpwardScope up;
    const IMatrix P = mul(A, PreparedMatrix(B));
    for (Eigen::Index i = 0; i < C.size(); ++i) {
      ASSERT_EQ(P.data()[i].lower(), C.data()[i].lower());
      ASSERT_EQ(P.data()[i].upper(), C.data()[i].upper());
    }
  }
}

TEST(LinalgProduct, PointTimesIntervalContainsEveryMemberProduct) {
  std::mt19937_64 rng(attnbound::testing::seed(104));
  for (const Shape& s : kShapes) {
    const Matrix A = nasty_matrix(s.n, s.k, rng);
    const IMatrix B = around(nasty_matrix(s.k, s.m, rng), rng);
    UpwardScope up;
    const IMatrix C = mul(A, B);
    for (int p = 0; p < 4; ++p) ASSERT_EQ(violations(C, A, member(B, rng)), 0);
    const IMatrix P = mul(PreparedMatrix(A), B);
    for (Eigen::Index i = 0; i < C.size(); ++i) {
      ASSERT_EQ(P.data()[i].lower(), C.data()[i].lower());
      ASSERT_EQ(P.data()[i].upper(), C.data()[i].upper());
    }
  }
}

TEST(LinalgProduct, IntervalTimesIntervalContainsEveryMemberProduct) {
  std::mt19937_64 rng(attnbound::testing::seed(105));
  for (const Shape& s : kShapes) {
    const IMatrix A = around(nasty_matrix(s.n, s.k, rng), rng);
    const IMatrix B = around(nasty_matrix(s.k, s.m, rng), rng);
    UpwardScope up;
    const IMatrix C = mul(A, B);
    for (int p = 0; p < 4; ++p) ASSERT_EQ(violations(C, member(A, rng), member(B, rng)), 0);
  }
}

TEST(LinalgProduct, PointIntervalsGiveNarrowResults) {
  // Point operands: the radius is the a-priori term γ_{k+2}|A||B| + 2kη plus its rounding.
  std::mt19937_64 rng(attnbound::testing::seed(106));
  std::normal_distribution<double> nd;
  Matrix A(30, 100), B(100, 20);
  for (Eigen::Index i = 0; i < A.size(); ++i) A.data()[i] = nd(rng);
  for (Eigen::Index i = 0; i < B.size(); ++i) B.data()[i] = nd(rng);
  const MidRad C = mul(MidRad{A, Matrix::Zero(30, 100)}, B);
  const Matrix AB = A.cwiseAbs() * B.cwiseAbs();
  const double g = 102 * 0x1p-53 / (1 - 102 * 0x1p-53);
  for (Eigen::Index i = 0; i < AB.size(); ++i) {
    ASSERT_LE(C.rad.data()[i], 1.01 * g * AB.data()[i] + 1e-300);
    ASSERT_GE(C.rad.data()[i], 0.0);
  }
  // Sub-intervals give sub-results (monotonicity of the radius formula): widening A widens C.
  IMatrix Ai = to_intervals(MidRad{A, Matrix::Constant(30, 100, 1e-3)});
  UpwardScope up;
  const IMatrix wide = mul(Ai, B);
  const IMatrix narrow = mul(to_intervals(MidRad{A, Matrix::Zero(30, 100)}), B);
  for (Eigen::Index i = 0; i < wide.size(); ++i) {
    ASSERT_LE(wide.data()[i].lower(), narrow.data()[i].lower());
    ASSERT_GE(wide.data()[i].upper(), narrow.data()[i].upper());
  }
}

TEST(LinalgProduct, MidRadRoundTripEncloses) {
  std::mt19937_64 rng(attnbound::testing::seed(107));
  const IMatrix A = around(nasty_matrix(13, 11, rng), rng);
  const MidRad mr = to_midrad(A);
  const IMatrix back = to_intervals(mr);
  for (Eigen::Index i = 0; i < A.size(); ++i) {
    ASSERT_LE(back.data()[i].lower(), A.data()[i].lower());
    ASSERT_GE(back.data()[i].upper(), A.data()[i].upper());
    ASSERT_GE(mr.rad.data()[i], 0.0);
  }
}

TEST(LinalgProduct, TwoThreadsStillEnclose) {
  std::mt19937_64 rng(attnbound::testing::seed(108));
  const Matrix Am = nasty_matrix(180, 160, rng), B = nasty_matrix(160, 170, rng);  // > 4e6 work
  const IMatrix A = around(Am, rng);
  LinalgThreads two(2);
  UpwardScope up;
  const Matrix Bt = B.transpose();
  const IMatrix At = A.transpose();
  const IMatrix C1 = mul(A, B), C2 = mul(Bt, At);
  const IMatrix C3 = mul(A, to_intervals(MidRad{B, Matrix::Zero(160, 170)}));
  const IMatrix C4 = mul_enclose(Am, B);
  for (int p = 0; p < 2; ++p) {
    const Matrix X = member(A, rng);
    ASSERT_EQ(violations(C1, X, B, &rng, 300), 0);
    ASSERT_EQ(violations(C3, X, B, &rng, 300), 0);
    const Matrix Xt = X.transpose();
    ASSERT_EQ(violations(C2, Bt, Xt, &rng, 300), 0);
  }
  ASSERT_EQ(violations(C4, Am, B, &rng, 300), 0);
}

TEST(LinalgProduct, NonFiniteInputsGiveEntireEntriesNeverNaN) {
  UpwardScope up;
  const double inf = std::numeric_limits<double>::infinity();
  IMatrix A(2, 2);
  A << hull(-inf, 1.0), point(2.0), point(0.5), Interval(std::nan(""), std::nan(""), true);
  Matrix B(2, 2);
  B << 1.0, 0.0, 3.0, 1e308;
  const IMatrix C = mul(A, B);
  ASSERT_TRUE(all_proper(C));
  for (Eigen::Index i = 0; i < C.size(); ++i) EXPECT_TRUE(C.data()[i].lower() == -inf && C.data()[i].upper() == inf);
  Matrix H(2, 2);
  H << 1e308, 1e308, 1e308, -1e308;
  const IMatrix O = mul_enclose(H, H);  // overflow: entire or one-sided infinite, never NaN
  ASSERT_TRUE(all_proper(O));
  const IMatrix P = mul(to_intervals(MidRad{H, Matrix::Zero(2, 2)}), H);
  ASSERT_TRUE(all_proper(P));
}

TEST(LinalgProduct, EmptyShapesAndMismatch) {
  UpwardScope up;
  const IMatrix C = mul(IMatrix(3, 0), Matrix(0, 4));
  ASSERT_EQ(C.rows(), 3);
  ASSERT_EQ(C.cols(), 4);
  for (Eigen::Index i = 0; i < C.size(); ++i) EXPECT_TRUE(C.data()[i].lower() <= 0 && C.data()[i].upper() >= 0);
  EXPECT_THROW(mul(IMatrix(3, 2), Matrix(3, 2)), std::invalid_argument);
  EXPECT_THROW(mul_enclose(Matrix(3, 2), Matrix(3, 2)), std::invalid_argument);
  EXPECT_THROW(mul(MidRad{Matrix(2, 2), Matrix(2, 3)}, Matrix(2, 2)), std::invalid_argument);
}

TEST(LinalgProduct, AnyCallerModeAndModeIsRestored) {
  std::mt19937_64 rng(attnbound::testing::seed(109));
  const Matrix A = nasty_matrix(7, 19, rng), B = nasty_matrix(19, 5, rng);
  const IMatrix Ai = around(A, rng);
  for (Rounding mode : {Rounding::nearest, Rounding::downward, Rounding::toward_zero, Rounding::upward}) {
    IMatrix C, D;
    {
      RoundingGuard g(mode);
      C = mul_enclose(A, B);
      D = mul(Ai, B);
      ASSERT_EQ(current_rounding(), mode);
    }
    ASSERT_EQ(violations(C, A, B), 0);
    ASSERT_EQ(violations(D, member(Ai, rng), B), 0);
  }
}

// ---- the checks have teeth -------------------------------------------------------------------

namespace {
/// A deliberately broken product: midpoint in round-to-nearest, radius Ar|B| only (no rounding
/// error term). Written with the same kind of GEMMs as the real one.
IMatrix broken_mul(const IMatrix& A, const Matrix& B) {
  MidRad a = to_midrad(A);
  Matrix mid = a.mid * B;
  Matrix rad;
  {
    RoundingGuard up(Rounding::upward);
    rad.noalias() = a.rad * B.cwiseAbs();
  }
  return to_intervals(MidRad{mid, rad});
}
}  // namespace

TEST(LinalgProduct, MutantWithoutRoundingErrorTermIsCaught) {
  std::mt19937_64 rng(attnbound::testing::seed(110));
  long caught = 0;
  for (const Shape& s : kShapes) {
    if (s.k < 5) continue;
    const Matrix A = nasty_matrix(s.n, s.k, rng), B = nasty_matrix(s.k, s.m, rng);
    const IMatrix Ap = to_intervals(MidRad{A, Matrix::Zero(s.n, s.k)});
    caught += violations(broken_mul(Ap, B), A, B);
    UpwardScope up;
    ASSERT_EQ(violations(mul(Ap, B), A, B), 0);
  }
  EXPECT_GT(caught, 0) << "the containment check failed to expose the broken product";
}

TEST(LinalgProduct, RefusesFlushToZero) {
  // FTZ/DAZ would break every underflow term (an upward-rounded tiny value flushed to 0).
  const unsigned saved = _mm_getcsr();
  _mm_setcsr(saved | 0x8040u);
  bool threw_mul = false, threw_norm = false;
  try {
    (void)mul_enclose(Matrix::Ones(2, 2), Matrix::Ones(2, 2));
  } catch (const std::runtime_error&) {
    threw_mul = true;
  }
  try {
    (void)norm2_upper(Matrix::Ones(3, 3));
  } catch (const std::runtime_error&) {
    threw_norm = true;
  }
  _mm_setcsr(saved);
  EXPECT_TRUE(threw_mul);
  EXPECT_TRUE(threw_norm);
}

TEST(LinalgProduct, MalformedMidRadIsRejected) {
  EXPECT_THROW(to_intervals(MidRad{Matrix::Ones(2, 2), -Matrix::Ones(2, 2)}), std::invalid_argument);
  EXPECT_THROW(to_intervals(MidRad{Matrix::Ones(2, 2), Matrix::Ones(2, 1)}), std::invalid_argument);
  EXPECT_THROW(mul(MidRad{Matrix::Ones(2, 2), -Matrix::Ones(2, 2)}, Matrix::Ones(2, 2)), std::invalid_argument);
}
