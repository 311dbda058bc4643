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
    std::uniform_real_distribution<double> u(0.0, 1.0);
    approx::AscentOptions ao;
    ao.steps = 15;
    for (int s = 0; s < 25; ++s) {
      Matrix X0 = box.lo + (box.hi - box.lo).cwiseProduct(Matrix::NullaryExpr(n, sp.d, [&] { return u(rng); }));
      Witness w = approx::ascend(L, Region(box), box.project(X0), ao);
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
