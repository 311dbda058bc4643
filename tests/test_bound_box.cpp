// Box brackets: soundness against rigorous values at interior points, ascent never exceeds a
// certified upper bound, and the second-order convergence of the centred form.
#include <gtest/gtest.h>

#include <cmath>

#include "bound/bound.hpp"
#include "linalg/linalg.hpp"
#include "random_layers.hpp"
#include "support.hpp"

using namespace attnbound;
using namespace attnbound::testing;

TEST(BoundBox, UpperBoundDominatesRigorousValuesInside) {
  std::mt19937_64 rng(seed(4001));
  for (int trial = 0; trial < 12; ++trial) {
    LayerSpec sp = random_spec(rng, 3, 2);
    const long n = std::uniform_int_distribution<long>(1, 4)(rng);
    AttentionLayer L = random_layer(sp, rng);
    const Matrix c = random_tokens(n, sp.d, 1.0, rng);
    const double eps = std::pow(10.0, std::uniform_real_distribution<double>(-4, -1)(rng));
    const Box box = Box::around(c, eps);
    const UpperBound U = box_upper(L, box);
    std::uniform_real_distribution<double> u(-eps, eps);
    for (int p = 0; p < 60; ++p) {
      Matrix X = box.project(c + Matrix::NullaryExpr(n, sp.d, [&] { return u(rng); }));
      const auto est = approx::jacobian_norm(L, X, 200, 1e-12);
      const double l = evaluate_witness(L, X, est.right).value();
      ASSERT_LE(l, U.value()) << "trial " << trial << " eps " << eps << " point " << p;
    }
  }
}

TEST(BoundBox, AscentFromManyStartsNeverExceedsTheCertifiedUpper) {
  std::mt19937_64 rng(seed(4002));
  for (int trial = 0; trial < 4; ++trial) {
    LayerSpec sp = random_spec(rng, 2, 2);
    const long n = std::uniform_int_distribution<long>(2, 3)(rng);
    AttentionLayer L = random_layer(sp, rng);
    const Box box = Box::around(random_tokens(n, sp.d, 1.0, rng), 0.05);
    const UpperBound U = box_upper(L, box);
    approx::AscentOptions ao;
    ao.steps = 15;
    for (int s = 0; s < 25; ++s) {
      Witness w = approx::ascend(L, Region(box), random_point_in(box, rng), ao);
      ASSERT_TRUE(box.certainly_contains(w.X));
      ASSERT_LE(evaluate_witness(L, w.X, w.dir).value(), U.value()) << "trial " << trial << " start " << s;
    }
  }
}

TEST(BoundBox, CentredFormConvergesToSecondOrder) {
  // (upper − best sampled) / ‖J(c)‖ should shrink ~100× per decade of ε (order 2), at least 10×.
  std::mt19937_64 rng(seed(4003));
  LayerSpec sp;
  sp.d = 2;
  sp.heads = 1;
  sp.paper = true;
  AttentionLayer L = random_layer(sp, rng);
  const Matrix c = random_tokens(3, 2, 1.0, rng);
  std::vector<double> excess;
  const double ref = approx::jacobian_norm(L, c).sigma.value();
  for (double eps : {1e-3, 1e-4, 1e-5}) {
    const Box box = Box::around(c, eps);
    const double U = box_upper(L, box).value();
    // Best rigorous value found inside: ascent from the centre.
    Witness w = approx::ascend(L, Region(box), c);
    const double lo = evaluate_witness(L, w.X, w.dir).value();
    excess.push_back((U - lo) / ref);
  }
  const double order1 = std::log10(excess[0] / excess[1]), order2 = std::log10(excess[1] / excess[2]);
  RecordProperty("order_1e-3_1e-4", std::to_string(order1));
  RecordProperty("order_1e-4_1e-5", std::to_string(order2));
  EXPECT_GT(order1, 1.5);
  EXPECT_GT(order2, 1.5);
}

TEST(BoundBox, BallLeafBoundDominatesValuesInsideBoxAndBall) {
  // Leaves straddling the sphere use the linear maximisation over B_R (ball_linear_sup) and the
  // vertex form; every rigorous value at a point of box ∩ ball must stay below the leaf bound.
  std::mt19937_64 rng(seed(4004));
  for (int trial = 0; trial < 16; ++trial) {
    LayerSpec sp = random_spec(rng, 3, 2);
    const long n = std::uniform_int_distribution<long>(1, 3)(rng);
    AttentionLayer L = random_layer(sp, rng);
    const double R = std::uniform_real_distribution<double>(0.5, 2.0)(rng);
    const BallProduct ball{n, sp.d, R};
    Matrix c = random_tokens(n, sp.d, 1.0, rng);
    for (long i = 0; i < n; ++i) c.row(i) *= R / c.row(i).norm();  // on the sphere
    const double eps = R * std::uniform_real_distribution<double>(0.02, 0.3)(rng);
    const Box box = Box::around(c, eps);
    const double U = box_upper(L, box, nullptr, &ball).value();
    approx::AscentOptions ao;
    ao.steps = 20;
    int tested = 0;
    for (int p = 0; p < 80; ++p) {
      Matrix X = ball.project(random_point_in(box, rng));
      if (p % 4 == 0) X = ball.project(approx::ascend(L, Region(ball), X, ao).X);  // push to the worst
      if (!box.certainly_contains(X) || !ball.certainly_contains(X)) continue;
      const auto est = approx::jacobian_norm(L, X, 200, 1e-12);
      ASSERT_LE(evaluate_witness(L, X, est.right).value(), U) << "trial " << trial << " eps " << eps << " point " << p;
      ++tested;
    }
    EXPECT_GT(tested, 10) << "trial " << trial;
  }
}

TEST(BoundBox, BallLeafIsSecondOrderAtABoundaryMaximum) {
  // At a maximiser on the sphere the gradient points along the token (KKT), and the leaf bound
  // over box ∩ ball must converge like ε²: the linear maximisation over B_R loses only
  // O(rad(G)·|Rĝ − c| + rad(G)²). (With ‖g‖ and g·c enclosed separately it was first order.)
  std::mt19937_64 rng(seed(4005));
  LayerSpec sp;
  sp.d = 2;
  sp.heads = 1;
  sp.paper = true;
  AttentionLayer L = random_layer(sp, rng);
  const long n = 3;
  const double R = 0.5;
  const BallProduct ball{n, 2, R};
  // The maximiser: best of several ascents over the ball.
  approx::AscentOptions ao;
  ao.steps = 300;
  Witness best{"", Matrix(), Matrix()};
  double fbest = 0;
  for (int s = 0; s < 20; ++s) {
    Witness w = approx::ascend(L, Region(ball), ball.project(random_tokens(n, 2, R, rng)), ao);
    const double f = approx::jacobian_norm(L, w.X).sigma.value();
    if (f > fbest) {
      fbest = f;
      best = w;
    }
  }
  ASSERT_GT(best.X.rowwise().norm().minCoeff(), 0.999 * R) << "the maximiser is expected on the sphere";
  std::vector<double> excess;
  for (double eps : {1e-3, 2.5e-4, 6.25e-5}) {
    const double U = box_upper(L, Box::around(best.X, eps), nullptr, &ball).value();
    excess.push_back((U - fbest) / fbest);
  }
  RecordProperty("excess", std::to_string(excess[0]) + " " + std::to_string(excess[1]) + " " + std::to_string(excess[2]));
  // Order 2 is 16× per factor 4 of ε; order 1 would be 4×.
  EXPECT_GT(excess[0] / excess[1], 9.0);
  EXPECT_GT(excess[1] / excess[2], 9.0);
}

TEST(BoundBox, BallLinearSupDominatesEverySampledGradient) {
  // sup_{‖x‖<=R} g·(x − c) = R‖g‖ − g·c exactly; evaluated in MPFI for gradients sampled in G
  // (vertices and interior), it must never exceed ball_linear_sup(G, c, R).
  std::mt19937_64 rng(seed(4006));
  std::uniform_real_distribution<double> u(-1.0, 1.0);
  int tight = 0;
  for (int trial = 0; trial < 300; ++trial) {
    const long d = std::uniform_int_distribution<long>(1, 4)(rng);
    const double R = std::uniform_real_distribution<double>(0.1, 3.0)(rng);
    std::vector<double> m(d), rho(d), c(d);
    for (long a = 0; a < d; ++a) m[a] = u(rng);
    const double width = std::pow(10.0, std::uniform_real_distribution<double>(-4, 0)(rng));
    for (long a = 0; a < d; ++a) rho[a] = width * std::abs(u(rng));
    // c near R m/‖m‖ (the interesting case) or anywhere.
    double nm = 0;
    for (long a = 0; a < d; ++a) nm += m[a] * m[a];
    nm = std::sqrt(nm);
    for (long a = 0; a < d; ++a) c[a] = trial % 2 ? R * m[a] / nm + 0.05 * R * u(rng) : R * u(rng);
    std::vector<Interval> G(d);
    double bound;
    {
      UpwardScope up;
      for (long a = 0; a < d; ++a) G[a] = Interval(m[a] - rho[a], m[a] + rho[a], true);
      bound = ball_linear_sup(G.data(), c.data(), d, R);
    }
    for (int p = 0; p < 64; ++p) {
      MpInterval g2(0), gc(0);
      for (long a = 0; a < d; ++a) {
        const double t = p < (1 << d) ? ((p >> a & 1) ? 1.0 : -1.0) : u(rng);
        const double g = std::clamp(m[a] + t * rho[a], G[a].lower(), G[a].upper());
        g2 += square(MpInterval(g));
        gc += MpInterval(g) * MpInterval(c[a]);
      }
      const MpInterval exact = MpInterval(R) * sqrt(g2) - gc;
      ASSERT_LE(exact.lower_down(), bound) << "trial " << trial << " sample " << p;
      if (exact.lower_down() > bound - 1e-3 * std::abs(bound)) ++tight;
    }
  }
  EXPECT_GT(tight, 0) << "the bound is never close: the test would not see a small unsound cut";
}
