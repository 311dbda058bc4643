// Point brackets: tight, sound (sandwich around a 256-bit reference), and estimate inside.
#include <gtest/gtest.h>

#include "bound/bound.hpp"
#include "linalg/linalg.hpp"
#include "random_layers.hpp"
#include "support.hpp"

using namespace attnbound;
using namespace attnbound::testing;

TEST(BoundPoint, RandomLayersAreTightAndContainTheEstimate) {
  std::mt19937_64 rng(seed(3001));
  for (int trial = 0; trial < 40; ++trial) {
    LayerSpec sp = random_spec(rng, 16, 4);
    const long n = std::uniform_int_distribution<long>(1, 16)(rng);
    AttentionLayer L = random_layer(sp, rng);
    Matrix X = random_tokens(n, sp.d, 1.0, rng);
    Bracket b = certify_point(L, X);
    ASSERT_GT(b.lower.value(), 0.0) << "trial " << trial;
    ASSERT_LE(b.lower.value(), b.upper.value()) << "trial " << trial;
    EXPECT_LE(b.upper.value() / b.lower.value() - 1, 1e-9)
        << "trial " << trial << " d=" << sp.d << " n=" << n << " H=" << sp.heads;
    EXPECT_LE(b.lower.value(), b.estimate.value() * (1 + 1e-12));
    EXPECT_GE(b.upper.value(), b.estimate.value() * (1 - 1e-12));
  }
}

TEST(BoundPoint, BracketContainsHighPrecisionNorm) {
  // The 256-bit Jacobian's norm (sandwiched by the MP lower bound at its own top vector and the
  // MP upper bound) must overlap [lower, upper].
  std::mt19937_64 rng(seed(3002));
  for (int trial = 0; trial < 10; ++trial) {
    LayerSpec sp = random_spec(rng, 4, 2);
    const long n = std::uniform_int_distribution<long>(1, 4)(rng);
    AttentionLayer L = random_layer(sp, rng);
    Matrix X = random_tokens(n, sp.d, 1.0, rng);
    Bracket b = certify_point(L, X);
    MpPrecision prec(256);
    MpMatrix J = jacobian<MpInterval>(L, forward<MpInterval>(L, cast_tokens<MpInterval>(X)));
    const Vector v = flatten<double>(b.witness->dir);
    const double mp_lower = norm2_lower(J, v).value();
    ASSERT_LE(mp_lower, b.upper.value()) << "upper claim below a 256-bit lower bound, trial " << trial;
  }
}

TEST(BoundPoint, LowerBoundFailsWhenTheDirectionIsWrong) {
  // The rigorous lower bound is a property of the direction: a deliberately bad direction gives a
  // much smaller (still valid) value — the bracket's tightness depends on the witness search.
  std::mt19937_64 rng(seed(3003));
  LayerSpec sp;
  sp.d = 4;
  sp.heads = 2;
  AttentionLayer L = random_layer(sp, rng);
  Matrix X = random_tokens(5, 4, 1.0, rng);
  Bracket b = certify_point(L, X);
  Matrix bad = Matrix::Zero(5, 4);
  bad(4, 3) = 1.0;
  const double weak = evaluate_witness(L, X, bad).value();
  EXPECT_LT(weak, b.lower.value());
}
