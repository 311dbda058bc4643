#include <gtest/gtest.h>

#include <random>

#include "core/core.hpp"
#include "support.hpp"

using namespace attnbound;
using attnbound::testing::Big;

TEST(MpInterval, DefaultPrecisionIs128AndScoped) {
  EXPECT_EQ(MpInterval::default_precision(), 128);
  {
    MpPrecision p(300);
    MpInterval x(1.0);
    EXPECT_GE(x.precision(), 300);
  }
  EXPECT_EQ(MpInterval::default_precision(), 128);
}

TEST(MpInterval, ArithmeticContainsAndIsNarrow) {
  std::mt19937_64 rng(attnbound::testing::seed(13));
  std::uniform_real_distribution<double> d(-5.0, 5.0), m(0.5, 5.0);
  for (int i = 0; i < 20000; ++i) {
    double a = d(rng), b = (i % 2 ? 1 : -1) * m(rng);
    MpInterval r = exp(MpInterval(a) * MpInterval(b) + MpInterval(a) / MpInterval(b));
    Big A(a, 512), B(b, 512), P(512), Q(512);
    mpfr_mul(P.get(), A.get(), B.get(), MPFR_RNDN);
    mpfr_div(Q.get(), A.get(), B.get(), MPFR_RNDN);
    mpfr_add(P.get(), P.get(), Q.get(), MPFR_RNDN);
    mpfr_exp(P.get(), P.get(), MPFR_RNDN);
    mpfr_t lo, hi;
    mpfr_init2(lo, 128);
    mpfr_init2(hi, 128);
    mpfi_get_left(lo, r.raw());
    mpfi_get_right(hi, r.raw());
    ASSERT_LE(mpfr_cmp(lo, P.get()), 0);
    ASSERT_GE(mpfr_cmp(hi, P.get()), 0);
    mpfr_clear(lo);
    mpfr_clear(hi);
    ASSERT_LT(r.width_up(), 1e-30 * std::max(1.0, std::abs(r.mid_approx())));
  }
}

TEST(MpInterval, DecimalInputIsEnclosed) {
  MpInterval tenth = MpInterval::from_decimal("0.1");
  EXPECT_FALSE(tenth.contains(0.1));  // 0.1 (double) is not one tenth
  EXPECT_TRUE(tenth.contains(MpInterval::from_decimal("0.1")));
  EXPECT_THROW(MpInterval::from_decimal("zero point one"), std::invalid_argument);
}

TEST(MpInterval, ToIntervalIsOutward) {
  MpInterval third = MpInterval(1) / MpInterval(3);
  UpwardScope up;
  Interval t = third.to_interval();
  EXPECT_LT(t.lower(), t.upper());
  EXPECT_TRUE(MpInterval(t).contains(third));
}

TEST(MpInterval, CertainComparisons) {
  MpInterval a = MpInterval::hull(1.0, 2.0), b = MpInterval::hull(2.5, 3.0);
  EXPECT_TRUE(certainly_less(a, b));
  EXPECT_FALSE(certainly_less(b, a));
  EXPECT_TRUE(certainly_positive(a));
  EXPECT_FALSE(certainly_positive(MpInterval::hull(-1.0, 1.0)));
}
