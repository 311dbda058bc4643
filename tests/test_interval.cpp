#include <gtest/gtest.h>

#include <random>

#include "core/core.hpp"
#include "support.hpp"

using namespace attnbound;
using attnbound::testing::Big;

namespace {
// Exact rational check: does [lo, hi] contain op(a, b) computed at 256 bits?
template <class Op>
bool contains_mpfr(const Interval& r, double a, double b, Op op) {
  Big A(a, 256), B(b, 256), R(256);
  op(R.get(), A.get(), B.get(), MPFR_RNDN);
  return R.inside(r.lower(), r.upper());
}
}  // namespace

TEST(Interval, ArithmeticContainsExactResultAtPoints) {
  std::mt19937_64 rng(attnbound::testing::seed(3));
  std::uniform_real_distribution<double> d(-10.0, 10.0);
  std::uniform_int_distribution<int> e(-40, 40);
  UpwardScope up;
  for (int i = 0; i < 100000; ++i) {
    double a = std::ldexp(d(rng), e(rng)), b = std::ldexp(d(rng), e(rng));
    Interval A = point(a), B = point(b);
    ASSERT_TRUE(contains_mpfr(A + B, a, b, mpfr_add));
    ASSERT_TRUE(contains_mpfr(A - B, a, b, mpfr_sub));
    ASSERT_TRUE(contains_mpfr(A * B, a, b, mpfr_mul));
    ASSERT_TRUE(contains_mpfr(A / B, a, b, mpfr_div));
    // Each result is at most one ulp wide (one rounding per endpoint).
    Interval p = A * B;
    ASSERT_LE(p.upper(), std::nextafter(p.lower(), INFINITY));
  }
}

TEST(Interval, ExpOfIntervalIsMonotoneEnclosure) {
  std::mt19937_64 rng(attnbound::testing::seed(5));
  std::uniform_real_distribution<double> d(-50.0, 50.0), w(0.0, 1.0);
  UpwardScope up;
  for (int i = 0; i < 20000; ++i) {
    double lo = d(rng), hi = lo + w(rng);
    Interval x = hull(lo, hi);
    Interval y = exp(x);
    // Monotonicity: a sub-interval maps into the image.
    double t = lo + (hi - lo) * w(rng);
    Interval yt = exp(point(t));
    ASSERT_LE(y.lower(), yt.lower());
    ASSERT_GE(y.upper(), yt.upper());
    Big ref(t, 256);
    mpfr_exp(ref.get(), ref.get(), MPFR_RNDN);
    ASSERT_TRUE(ref.inside(y.lower(), y.upper()));
  }
}

TEST(Interval, IdentityExpSum) {
  // exp(a) exp(b) must intersect exp(a + b): both contain the true value.
  std::mt19937_64 rng(attnbound::testing::seed(8));
  std::uniform_real_distribution<double> d(-300.0, 300.0);
  UpwardScope up;
  for (int i = 0; i < 20000; ++i) {
    Interval a = point(d(rng)), b = point(d(rng));
    Interval l = exp(a) * exp(b), r = exp(a + b);
    ASSERT_FALSE(certainly_less(l, r) || certainly_less(r, l));
  }
}

TEST(Interval, SqrtAndLogContain) {
  UpwardScope up;
  Interval two = point(2.0);
  Interval s = sqrt(two);
  Big ref(2.0, 256);
  mpfr_sqrt(ref.get(), ref.get(), MPFR_RNDN);
  EXPECT_TRUE(ref.inside(s.lower(), s.upper()));
  EXPECT_LT(s.lower(), s.upper());
  Interval l = log(point(10.0));
  Big r10(10.0, 256);
  mpfr_log(r10.get(), r10.get(), MPFR_RNDN);
  EXPECT_TRUE(r10.inside(l.lower(), l.upper()));
  Interval third = point(1.0) / point(3.0);
  EXPECT_LT(third.lower(), third.upper());  // not a zero-width interval (the -frounding-math trap)
}

TEST(Interval, ComparisonsAreCertainOrPossible) {
  UpwardScope up;
  Interval a = hull(1.0, 2.0), b = hull(1.5, 3.0), c = hull(2.5, 3.0);
  EXPECT_FALSE(certainly_less(a, b));
  EXPECT_TRUE(possibly_less(a, b));
  EXPECT_TRUE(certainly_less(a, c));
  Interval e = hull(NAN, NAN);
  EXPECT_TRUE(is_empty(e));
  EXPECT_FALSE(certainly_less(e, c));
  EXPECT_FALSE(certainly_less(c, e));
}

TEST(Interval, ZeroTimesInfinityIsNeverAFiniteClaim) {
  UpwardScope up;
  Interval z = point(0.0), inf = hull(1.0, INFINITY);
  Interval p = z * inf;
  // Either empty (no information) or containing 0: never a wrong finite claim.
  EXPECT_TRUE(is_empty(p) || contains(p, 0.0));
}

TEST(IntervalDeathTest, OperationWithoutUpwardRoundingAborts) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(
      {
        RoundingGuard g(Rounding::nearest);
        volatile double a = 1.0;
        Interval x = point(a) + point(3.0);
        (void)x;
      },
      "without upward rounding");
}
