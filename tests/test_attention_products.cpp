// JVP and VJP against the dense Jacobian, for double and (by containment) Interval.
#include <gtest/gtest.h>

#include "attention/attention.hpp"
#include "random_layers.hpp"
#include "support.hpp"

using namespace attnbound;
using namespace attnbound::testing;

TEST(AttentionProducts, JvpAndVjpAgreeWithDenseJacobian) {
  std::mt19937_64 rng(seed(707));
  for (int trial = 0; trial < 60; ++trial) {
    LayerSpec sp = random_spec(rng);
    const long n = std::uniform_int_distribution<long>(1, 12)(rng);
    AttentionLayer L = random_layer(sp, rng);
    Matrix X = random_tokens(n, sp.d, 0.8, rng);
    auto s = forward<double>(L, X);
    Matrix J = jacobian<double>(L, s);
    Matrix V = random_tokens(n, sp.d, 1.0, rng), W = random_tokens(n, sp.d, 1.0, rng);
    Vector jv = J * flatten<double>(V), jtw = J.transpose() * flatten<double>(W);
    Vector a = flatten<double>(jvp<double>(L, s, V)), b = flatten<double>(vjp<double>(L, s, W));
    const double scale = std::max(1.0, J.cwiseAbs().maxCoeff()) * n * sp.d;
    ASSERT_LE((a - jv).cwiseAbs().maxCoeff(), 1e-12 * scale) << "trial " << trial;
    ASSERT_LE((b - jtw).cwiseAbs().maxCoeff(), 1e-12 * scale) << "trial " << trial;
  }
}

TEST(AttentionProducts, IntervalJvpVjpContainMultiprecisionValues) {
  std::mt19937_64 rng(seed(808));
  for (int trial = 0; trial < 20; ++trial) {
    LayerSpec sp = random_spec(rng, 8, 3);
    const long n = std::uniform_int_distribution<long>(1, 8)(rng);
    AttentionLayer L = random_layer(sp, rng);
    Matrix X = random_tokens(n, sp.d, 0.8, rng), V = random_tokens(n, sp.d, 1.0, rng);
    MpMatrix ref_jvp, ref_vjp;
    {
      MpPrecision prec(256);
      auto sm = forward<MpInterval>(L, cast_tokens<MpInterval>(X));
      ref_jvp = jvp<MpInterval>(L, sm, cast_tokens<MpInterval>(V));
      ref_vjp = vjp<MpInterval>(L, sm, cast_tokens<MpInterval>(V));
    }
    UpwardScope up;
    auto si = forward<Interval>(L, cast_tokens<Interval>(X));
    IMatrix a = jvp<Interval>(L, si, cast_tokens<Interval>(V));
    IMatrix b = vjp<Interval>(L, si, cast_tokens<Interval>(V));
    for (long i = 0; i < n; ++i)
      for (long c = 0; c < sp.d; ++c) {
        ASSERT_TRUE(MpInterval(a(i, c)).contains(ref_jvp(i, c)));
        ASSERT_TRUE(MpInterval(b(i, c)).contains(ref_vjp(i, c)));
      }
  }
}

TEST(AttentionProducts, DualForwardGivesTheJvp) {
  // The Dual instantiation differentiates the forward pass: its ε-part must equal the JVP.
  std::mt19937_64 rng(seed(909));
  for (int trial = 0; trial < 20; ++trial) {
    LayerSpec sp = random_spec(rng, 6, 2);
    const long n = std::uniform_int_distribution<long>(1, 6)(rng);
    AttentionLayer L = random_layer(sp, rng);
    Matrix X = random_tokens(n, sp.d, 0.8, rng), V = random_tokens(n, sp.d, 1.0, rng);
    Mat<Dual<double>> Xd(n, sp.d);
    for (long i = 0; i < n; ++i)
      for (long a = 0; a < sp.d; ++a) Xd(i, a) = Dual<double>(X(i, a), V(i, a));
    auto sd = forward<Dual<double>>(L, Xd);
    Matrix ref = jvp<double>(L, forward<double>(L, X), V);
    for (long i = 0; i < n; ++i)
      for (long a = 0; a < sp.d; ++a)
        ASSERT_NEAR(sd.Y(i, a).d, ref(i, a), 1e-11 * std::max(1.0, std::abs(ref(i, a))));
  }
}

TEST(AttentionProducts, DualIntervalEnclosesValueAndDerivative) {
  // Dual<Interval> over a point must contain the 256-bit value and the 256-bit JVP; a regression
  // test for weights being converted through the wrong constructor.
  std::mt19937_64 rng(seed(1010));
  for (int trial = 0; trial < 20; ++trial) {
    LayerSpec sp = random_spec(rng, 6, 2);
    const long n = std::uniform_int_distribution<long>(1, 5)(rng);
    AttentionLayer L = random_layer(sp, rng);
    Matrix X = random_tokens(n, sp.d, 0.8, rng), V = random_tokens(n, sp.d, 1.0, rng);
    MpMatrix refY, refJv;
    {
      MpPrecision prec(256);
      auto sm = forward<MpInterval>(L, cast_tokens<MpInterval>(X));
      refY = sm.Y;
      refJv = jvp<MpInterval>(L, sm, cast_tokens<MpInterval>(V));
    }
    UpwardScope up;
    Mat<Dual<Interval>> Xd(n, sp.d);
    for (long i = 0; i < n; ++i)
      for (long a = 0; a < sp.d; ++a) Xd(i, a) = Dual<Interval>(point(X(i, a)), point(V(i, a)));
    auto sd = forward<Dual<Interval>>(L, Xd);
    for (long i = 0; i < n; ++i)
      for (long a = 0; a < sp.d; ++a) {
        ASSERT_TRUE(MpInterval(sd.Y(i, a).v).contains(refY(i, a))) << "trial " << trial;
        ASSERT_TRUE(MpInterval(sd.Y(i, a).d).contains(refJv(i, a))) << "trial " << trial;
      }
  }
}
