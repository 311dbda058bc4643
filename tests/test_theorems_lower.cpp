// proofs/: rigorous ‖J(X)v‖/‖v‖ at witnesses (cluster reduction vs dense interval JVP) and the
// lower-bound statements at their own witnesses.
#include <gtest/gtest.h>

#include "attention/attention.hpp"
#include "model/model.hpp"
#include "proofs/theorems.hpp"
#include "random_layers.hpp"
#include "support.hpp"

using namespace attnbound;
using namespace attnbound::proofs;

TEST(TheoremsWitness, ClusterReductionAgreesWithDenseJvp) {
  std::mt19937_64 rng(attnbound::testing::seed(55));
  for (int trial = 0; trial < 25; ++trial) {
    attnbound::testing::LayerSpec sp = attnbound::testing::random_spec(rng, 5, 3);
    sp.mask = Mask::none;
    const AttentionLayer L = attnbound::testing::random_layer(sp, rng);
    ClusteredWitness w;
    w.name = "random clusters";
    const long C = std::uniform_int_distribution<long>(1, 3)(rng);
    w.in.Y = attnbound::testing::random_tokens(C, sp.d, 1.0, rng);
    w.dir = attnbound::testing::random_tokens(C, sp.d, 1.0, rng);
    for (long c = 0; c < C; ++c) w.in.m.push_back(std::uniform_int_distribution<long>(1, 4)(rng));
    const NormRatio a = witness_ratio(L, w);
    const NormRatio b = witness_ratio(L, w.tokens(), w.direction());
    ASSERT_TRUE(a.evaluated && b.evaluated) << "trial " << trial;
    // Both enclose the same exact number: the enclosures intersect, and both are narrow.
    EXPECT_LE(a.lo, b.hi) << "trial " << trial;
    EXPECT_LE(b.lo, a.hi) << "trial " << trial;
    EXPECT_LE(a.hi - a.lo, 1e-9 * std::max(1.0, a.hi));
    EXPECT_LE(b.hi - b.lo, 1e-9 * std::max(1.0, b.hi));
    // And the float value sits inside.
    const Matrix X = w.tokens(), V = w.direction();
    const Matrix y = jvp<double>(L, forward<double>(L, X), V);
    const double ratio = y.norm() / V.norm();
    EXPECT_GE(ratio, a.lo * (1 - 1e-12));
    EXPECT_LE(ratio, a.hi * (1 + 1e-12));
  }
}

TEST(TheoremsWitness, LowerStatementsHoldAtTheirOwnWitnesses) {
  std::mt19937_64 rng(attnbound::testing::seed(66));
  int evaluated = 0;
  for (int trial = 0; trial < 30; ++trial) {
    attnbound::testing::LayerSpec sp = attnbound::testing::random_spec(rng, 5, 1);
    sp.biases = false;
    const AttentionLayer L = attnbound::testing::random_layer(sp, rng);
    const long n = std::uniform_int_distribution<long>(2, trial % 3 == 0 ? 800 : 40)(rng);
    const double R = std::uniform_real_distribution<double>(0.2, 4.0)(rng);
    for (const char* id : {"LB1", "LB-cluster"}) {
      const Statement& s = *find_statement(id);
      if (!inapplicable_reason(s, L, n).empty()) continue;
      const LowerCheck chk = lower_check(s, L, n, R);
      if (!chk.applicable) continue;
      ASSERT_TRUE(chk.evaluated) << chk.why;
      ASSERT_TRUE(chk.ratio.evaluated) << chk.ratio.method;
      ++evaluated;
      // The witness is inside B_R^n (2w is the far token).
      EXPECT_TRUE(BallProduct({1, L.d, R}).certainly_contains(Matrix(chk.witness.in.Y.row(0))));
      // The formula is a lower bound of the exact ‖J(X)v‖/‖v‖ at that exact point.
      EXPECT_LE(chk.formula.upper_up(), chk.ratio.lo) << id << " trial " << trial << " n=" << n << " R=" << R
                                                       << " mask=" << to_string(L.mask);
    }
  }
  EXPECT_GE(evaluated, 20);
}

TEST(TheoremsWitness, Lb1WithoutPositiveEigenvalueIsNotApplicable) {
  Matrix A(2, 2), V = Matrix::Identity(2, 2);
  A << -1.0, 0.0, 0.0, -2.0;  // sym(A) negative definite: no u with uᵀAu > 0
  const AttentionLayer L = make_paper_layer({A}, {V}, Mask::none);
  const LowerCheck chk = lower_check(*find_statement("LB1"), L, 5, 1.0);
  EXPECT_FALSE(chk.applicable);
  EXPECT_FALSE(chk.why.empty());
  TheoremOptions o;
  o.bracket.time_limit = 0.2;
  o.ulocal_search_seconds = 0.0;
  const auto rep = evaluate_theorems(L, 5, 1.0, o);
  EXPECT_EQ(rep.find("LB1")->verdict, Verdict::not_applicable);
}
