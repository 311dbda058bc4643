// exp/log enclosures against MPFR at 256 bits on >= 10^6 arguments each, biased to the corners:
// the whole range -745..709, subnormal results, +-0, tiny arguments, huge negative logit
// differences, thresholds and infinities.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "core/core.hpp"
#include "support.hpp"

using namespace attnbound;
using attnbound::testing::Big;

namespace {

std::vector<double> exp_arguments(std::uint64_t s, std::size_t count) {
  std::mt19937_64 rng(s);
  std::vector<double> xs = {0.0, -0.0, 1.0, -1.0, 0x1p-1074, -0x1p-1074, 0x1p-60, -0x1p-60,
                            709.0, 709.78, 709.7827128933839, 709.79, 709.8, -708.39, -708.4,
                            -744.44, -745.13, -745.1332191019411, -745.2, -1e3, -1e300,
                            std::numeric_limits<double>::infinity(),
                            -std::numeric_limits<double>::infinity(), 0.34657359027997264,
                            -0.34657359027997264, 0.6931471805599453, -0.6931471805599453};
  std::uniform_real_distribution<double> full(-745.2, 709.8), unit(-1.0, 1.0),
      sub(-745.2, -708.0), logit(-60.0, 0.0);
  std::uniform_int_distribution<int> kk(-1075, 1024);
  while (xs.size() < count) {
    switch (xs.size() % 6) {
      case 0: xs.push_back(full(rng)); break;
      case 1: xs.push_back(unit(rng)); break;
      case 2: xs.push_back(sub(rng)); break;           // subnormal results
      case 3: xs.push_back(logit(rng)); break;         // softmax logit differences
      case 4: xs.push_back(kk(rng) * 0.6931471805599453 + unit(rng) * 1e-6); break;  // near k ln2
      case 5: xs.push_back(std::ldexp(unit(rng), -std::uniform_int_distribution<int>(1, 1070)(rng))); break;
    }
  }
  return xs;
}

// Counts arguments whose enclosure [lo(x), hi(x)] misses exp(x) at 256 bits.
template <class Lo, class Hi>
std::size_t exp_violations(const std::vector<double>& xs, Lo lo, Hi hi) {
  Big ref(256);
  std::size_t bad = 0;
  for (double x : xs) {
    double l, h;
    {
      UpwardScope up;
      l = lo(x);
      h = hi(x);
    }
    mpfr_set_d(ref.get(), x, MPFR_RNDN);
    mpfr_exp(ref.get(), ref.get(), MPFR_RNDN);  // 256-bit value; the bracket is ~53 bits wide
    if (!ref.inside(l, h)) ++bad;
  }
  return bad;
}

}  // namespace

TEST(Elementary, ExpContainsMpfrOnAMillionArguments) {
  auto xs = exp_arguments(attnbound::testing::seed(20261126), 1'000'000);
  EXPECT_EQ(exp_violations(xs, detail::exp_down, detail::exp_up), 0u);
}

TEST(Elementary, ExpIsTight) {
  // Normal-range results: the enclosure is at most 4 ulps wide.
  std::mt19937_64 rng(attnbound::testing::seed(7));
  std::uniform_real_distribution<double> d(-700.0, 700.0);
  for (int i = 0; i < 100000; ++i) {
    double x = d(rng), l, h;
    {
      UpwardScope up;
      l = detail::exp_down(x);
      h = detail::exp_up(x);
    }
    double ulps = (h - l) / (std::nextafter(l, INFINITY) - l);
    ASSERT_LE(ulps, 4.0) << "x = " << x;
  }
}

TEST(Elementary, ExpSpecialValues) {
  UpwardScope up;
  EXPECT_EQ(detail::exp_down(0.0), 1.0);
  EXPECT_EQ(detail::exp_up(0.0), 1.0);
  EXPECT_EQ(detail::exp_down(-INFINITY), 0.0);
  EXPECT_EQ(detail::exp_up(-INFINITY), 0.0);
  EXPECT_EQ(detail::exp_up(INFINITY), INFINITY);
  EXPECT_GT(detail::exp_up(-746.0), 0.0);  // exp(-746) > 0: the upper bound may not be 0
  EXPECT_EQ(detail::exp_down(NAN), 0.0);   // no information: widest answer
  EXPECT_EQ(detail::exp_up(NAN), INFINITY);
}

TEST(Elementary, CheckerCatchesGlibcExpUnderUpwardRounding) {
  // Mutation: std::exp called under upward rounding is not an upper bound (NUMERICS.md). The
  // containment check above must be able to see that, or it proves nothing.
  auto xs = exp_arguments(11, 200000);
  auto bad = exp_violations(xs, [](double x) { return std::exp(x); },
                            [](double x) { return std::exp(x); });
  EXPECT_GT(bad, 0u);
}

TEST(Elementary, LogContainsMpfrOnAMillionArguments) {
  std::mt19937_64 rng(attnbound::testing::seed(99));
  std::uniform_real_distribution<double> e(-1074.0, 1023.0), m(1.0, 2.0);
  Big ref(256);
  std::size_t bad = 0;
  for (int i = 0; i < 1'000'000; ++i) {
    double x = (i % 10 == 0) ? m(rng) : std::ldexp(m(rng), static_cast<int>(e(rng)));
    double l = detail::log_down(x), h = detail::log_up(x);
    mpfr_set_d(ref.get(), x, MPFR_RNDN);
    mpfr_log(ref.get(), ref.get(), MPFR_RNDN);
    if (!ref.inside(l, h)) ++bad;
  }
  EXPECT_EQ(bad, 0u);
  EXPECT_EQ(detail::log_down(1.0), 0.0);
  EXPECT_EQ(detail::log_up(1.0), 0.0);
  EXPECT_EQ(detail::log_down(0.0), -INFINITY);
}
