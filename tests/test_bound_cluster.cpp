// The exact cluster reduction agrees with the dense bracket and scales to n = 10^6.
#include <gtest/gtest.h>

#include "bound/cluster.hpp"
#include "random_layers.hpp"
#include "support.hpp"

using namespace attnbound;
using namespace attnbound::testing;

TEST(BoundCluster, EqualsTheDenseBracketOnClusteredInputs) {
  std::mt19937_64 rng(seed(5001));
  for (int trial = 0; trial < 20; ++trial) {
    LayerSpec sp = random_spec(rng, 6, 3);
    sp.mask = Mask::none;
    AttentionLayer L = random_layer(sp, rng);
    const long C = std::uniform_int_distribution<long>(1, 3)(rng);
    const Matrix Y = random_tokens(C, sp.d, 1.0, rng);
    const long n = std::uniform_int_distribution<long>(C, 12)(rng);
    Matrix X(n, sp.d);
    for (long i = 0; i < n; ++i) X.row(i) = Y.row(i < C ? i : std::uniform_int_distribution<long>(0, C - 1)(rng));
    Bracket dense = certify_point(L, X);
    Bracket cl = certify_clustered(L, clusters_of(X));
    ASSERT_LE(cl.lower.value(), dense.upper.value()) << "trial " << trial;
    ASSERT_LE(dense.lower.value(), cl.upper.value()) << "trial " << trial;
    EXPECT_LE(cl.upper.value() / cl.lower.value() - 1, 1e-9) << "trial " << trial;
  }
}

TEST(BoundCluster, RunsAtAMillionTokens) {
  std::mt19937_64 rng(seed(5002));
  LayerSpec sp;
  sp.d = 4;
  sp.heads = 2;
  AttentionLayer L = random_layer(sp, rng);
  ClusteredInput in;
  in.Y = random_tokens(2, 4, 1.0, rng);
  in.m = {1, 999'999};
  Bracket b = certify_clustered(L, in);
  EXPECT_GT(b.lower.value(), 0.0);
  EXPECT_LE(b.upper.value() / b.lower.value() - 1, 1e-9);
}

TEST(BoundCluster, RefusesMaskedLayers) {
  std::mt19937_64 rng(seed(5003));
  LayerSpec sp;
  sp.mask = Mask::causal;
  AttentionLayer L = random_layer(sp, rng);
  EXPECT_THROW(certify_clustered(L, clusters_of(random_tokens(3, sp.d, 1.0, rng))), std::invalid_argument);
}
