#include <gtest/gtest.h>

#include <type_traits>

#include "core/core.hpp"

using namespace attnbound;

static_assert(!std::is_convertible_v<Estimate, UpperBound>, "an Estimate never becomes a bound");
static_assert(!std::is_convertible_v<Estimate, LowerBound>);
static_assert(!std::is_convertible_v<double, UpperBound>, "bounds are made only through proved()");
static_assert(!std::is_convertible_v<double, LowerBound>);
static_assert(!std::is_convertible_v<UpperBound, LowerBound>);
// No UpperBound - UpperBound: the difference of two upper bounds bounds nothing.
template <class A, class B>
concept Subtractable = requires(A a, B b) { a - b; };
static_assert(!Subtractable<UpperBound, UpperBound>);
static_assert(!Subtractable<LowerBound, LowerBound>);
static_assert(Subtractable<UpperBound, LowerBound>);

TEST(Bounds, DirectedScalarOps) {
  EXPECT_GT(add_up(1.0, 0x1p-60), 1.0);
  EXPECT_EQ(add_down(1.0, 0x1p-60), 1.0);
  EXPECT_GT(div_up(1.0, 3.0), div_down(1.0, 3.0));
  EXPECT_GT(sqrt_up(2.0), sqrt_down(2.0));
  EXPECT_EQ(current_rounding(), Rounding::nearest);  // no leak
}

TEST(Bounds, NaNMeansNoInformation) {
  EXPECT_EQ(UpperBound::proved(NAN).value(), INFINITY);
  EXPECT_EQ(LowerBound::proved(NAN).value(), -INFINITY);
  UpwardScope up;
  Enclosure e(hull(NAN, NAN));
  EXPECT_EQ(e.upper().value(), INFINITY);
}

TEST(Bounds, OperationsKeepTheirSide) {
  UpperBound u = UpperBound::proved(1.0);
  LowerBound l = LowerBound::proved(1.0);
  EXPECT_GT((u + UpperBound::proved(0x1p-60)).value(), 1.0);
  EXPECT_EQ((l + LowerBound::proved(0x1p-60)).value(), 1.0);
  EXPECT_GE((u - LowerBound::proved(1.0 / 3)).value(), 1.0 - 1.0 / 3);
  EXPECT_GT(UpperBound::proved(2.0).sqrt().value(), LowerBound::proved(2.0).sqrt().value());
  EXPECT_EQ((UpperBound::proved(-1.0) * u).value(), INFINITY);  // precondition violated: no claim
  EXPECT_TRUE(certainly_below(UpperBound::proved(1.0), LowerBound::proved(1.5)));
  EXPECT_FALSE(certainly_below(UpperBound::proved(NAN), LowerBound::proved(1.5)));
}
