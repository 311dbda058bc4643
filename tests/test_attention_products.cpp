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

TEST(AttentionProducts, MultiDualMatchesDualTangentByTangent) {
  // Every tangent of a MultiDual must see exactly the interval operations Dual applies to its one
  // tangent, whatever the mix of tangent counts (constants k = 0, operands with k = 1 and 3).
  using Jet = MultiDual<Interval, 4>;
  UpwardScope up;
  std::mt19937_64 rng(seed(1111));
  std::uniform_real_distribution<double> u(0.3, 1.7);
  for (int trial = 0; trial < 50; ++trial) {
    const double a_lo = u(rng);
    const Interval a0 = hull(a_lo, a_lo + 0.01), b0 = point(u(rng)), c0 = point(u(rng));
    const double da[1] = {u(rng)}, db[3] = {u(rng), -u(rng), u(rng)};
    auto f = [&](auto a, auto b, auto c) {
      auto p = a * b - c;
      auto q = exp(p) / sqrt(a * a + decltype(a)(1.0));
      return q + log(decltype(a)(2.0) + b * c) - (-a) / b;
    };
    Jet ja = Jet::seeded(a0, 0, point(da[0])), jb(b0), jc(c0);
    jb.k = 3;
    for (unsigned t = 0; t < 3; ++t) jb.d[t] = point(db[t]);
    const Jet r = f(ja, jb, jc);
    ASSERT_EQ(r.k, 3u);
    for (unsigned t = 0; t < 3; ++t) {
      const Dual<Interval> s = f(Dual<Interval>(a0, point(t == 0 ? da[0] : 0.0)), Dual<Interval>(b0, point(db[t])),
                                 Dual<Interval>(c0));
      EXPECT_EQ(r.v.lower(), s.v.lower());
      EXPECT_EQ(r.v.upper(), s.v.upper());
      EXPECT_EQ(r.tangent(t).lower(), s.d.lower()) << "tangent " << t;
      EXPECT_EQ(r.tangent(t).upper(), s.d.upper()) << "tangent " << t;
    }
    EXPECT_EQ(r.tangent(3).lower(), 0.0);
    EXPECT_EQ(r.tangent(3).upper(), 0.0);
  }
}

TEST(AttentionProducts, IntervalJetJacobianContainsSecondDerivatives) {
  // One IntervalJet pass at a point, with a random subset of coordinates seeded, must enclose
  // ∂J/∂x_k for each seeded k: the reference is a 512-bit central difference with h = 2^-70
  // (truncation ~2^-140, far inside the double enclosures), and its value part must contain J.
  std::mt19937_64 rng(seed(1212));
  for (int trial = 0; trial < 12; ++trial) {
    LayerSpec sp = random_spec(rng, 4, 3);
    const long n = std::uniform_int_distribution<long>(1, std::min<long>(5, kMaxBoxTangents / sp.d))(rng);
    AttentionLayer L = random_layer(sp, rng);
    const Matrix X = random_tokens(n, sp.d, 0.8, rng);
    std::vector<std::pair<long, long>> seeded;
    UpwardScope up;  // Interval code; the MPFI reference runs in any mode
    Mat<IntervalJet> XJ(n, sp.d);
    for (long i = 0; i < n; ++i)
      for (long a = 0; a < sp.d; ++a) {
        if (rng() % 3 == 0) {
          XJ(i, a) = IntervalJet(point(X(i, a)));
          continue;
        }
        XJ(i, a) = IntervalJet::seeded(point(X(i, a)), static_cast<unsigned>(seeded.size()), point(1.0));
        seeded.emplace_back(i, a);
      }
    const Mat<IntervalJet> JJ = jacobian<IntervalJet>(L, forward<IntervalJet>(L, XJ));
    MpPrecision prec(512);
    const MpMatrix J0 = jacobian<MpInterval>(L, forward<MpInterval>(L, cast_tokens<MpInterval>(X)));
    for (Eigen::Index e = 0; e < J0.size(); ++e) ASSERT_TRUE(MpInterval(JJ(e).v).contains(J0(e))) << "trial " << trial;
    const MpInterval h(std::ldexp(1.0, -70));
    for (std::size_t t = 0; t < seeded.size(); ++t) {
      Mat<MpInterval> Xp = cast_tokens<MpInterval>(X), Xm = Xp;
      Xp(seeded[t].first, seeded[t].second) += h;
      Xm(seeded[t].first, seeded[t].second) -= h;
      const MpMatrix Jp = jacobian<MpInterval>(L, forward<MpInterval>(L, Xp));
      const MpMatrix Jm = jacobian<MpInterval>(L, forward<MpInterval>(L, Xm));
      for (Eigen::Index e = 0; e < J0.size(); ++e) {
        const MpInterval fd = (Jp(e) - Jm(e)) / (MpInterval(2) * h);
        // The difference quotient is off by O(h²) ≈ 2^-140: an exact zero derivative (a token the
        // mask hides) gives [0, 0] in the jet and ±tiny here, hence the 1e-30 slack.
        const Interval g = JJ(e).tangent(static_cast<unsigned>(t));
        ASSERT_GE(fd.lower_down(), g.lower() - 1e-30) << "trial " << trial << ", tangent " << t << ", entry " << e;
        ASSERT_LE(fd.upper_up(), g.upper() + 1e-30) << "trial " << trial << ", tangent " << t << ", entry " << e;
      }
    }
  }
}
