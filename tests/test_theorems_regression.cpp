// The theorem regression suite (issue 5): every statement of THEORY.md on tiny exact instances,
// random small models at witnesses, GPT-2-shaped layers at n ≤ 16, and large n through the cluster
// reduction / the causal prefix. Any refutation of a theorem fails; refutations of the canary and
// of the conjecture U-local are expected findings and are checked elsewhere
// (test_theorems_canary.cpp, test_theorems_ulocal.cpp).
#include <gtest/gtest.h>

#include <sstream>

#include "model/model.hpp"
#include "proofs/theorems.hpp"
#include "random_layers.hpp"
#include "support.hpp"

using namespace attnbound;
using namespace attnbound::proofs;

namespace {

TheoremOptions quick(double bab_seconds, double search_seconds = 0.2) {
  TheoremOptions o;
  o.bracket.time_limit = bab_seconds;
  o.bracket.tol = 1e-3;
  o.ulocal_search_seconds = search_seconds;
  return o;
}

std::string summary(const InstanceReport& rep) {
  std::ostringstream os;
  os << "bracket [" << rep.bracket.bracket.lower.value() << ", " << rep.bracket.bracket.upper.value() << "]";
  for (const auto& r : rep.statements) os << "\n  " << r.statement->id << ": " << to_string(r.verdict) << " — " << r.reason;
  return os.str();
}

// Every statement has a verdict; an applicable evaluated statement has a value; no theorem is
// refuted. Returns the number of "holds" verdicts of theorems.
int check(const InstanceReport& rep, const std::string& label) {
  EXPECT_EQ(rep.statements.size(), catalogue().size()) << label;
  EXPECT_LE(rep.bracket.bracket.lower.value(), rep.bracket.bracket.upper.value()) << label;
  int holds = 0;
  for (const auto& r : rep.statements) {
    if (r.verdict == Verdict::not_applicable) {
      EXPECT_FALSE(r.reason.empty()) << label << " " << r.statement->id;
      continue;
    }
    if (r.verdict != Verdict::undecided) {
      EXPECT_TRUE(r.value.has_value()) << label << " " << r.statement->id;
    }
    if (r.verdict == Verdict::holds && r.statement->category == Category::theorem) ++holds;
    if (r.verdict == Verdict::refuted) {
      EXPECT_TRUE(r.witness.has_value()) << label << " " << r.statement->id;
    }
  }
  EXPECT_TRUE(rep.unexpected_refutations().empty()) << label << ": a theorem was refuted\n" << summary(rep);
  return holds;
}

}  // namespace

TEST(TheoremsRegression, TinyExactInstances) {
  int holds = 0;
  for (const char* name : {"builtin:tiny", "builtin:tiny-causal", "builtin:paper-toy"}) {
    const AttentionLayer L = load_model(name);
    for (long n : {1L, 2L, 3L})
      for (double R : {0.5, 1.0}) {
        const auto rep = evaluate_theorems(L, n, R, quick(0.4));
        holds += check(rep, std::string(name) + " n=" + std::to_string(n) + " R=" + std::to_string(R));
      }
  }
  // With a finite certified upper bound the loose statements must come out "holds" somewhere: a
  // suite that can only say "undecided" would check nothing.
  EXPECT_GE(holds, 30);
}

TEST(TheoremsRegression, RandomSmallModelsAtWitnesses) {
  std::mt19937_64 rng(attnbound::testing::seed(2024));
  int lower_checked = 0;
  for (int trial = 0; trial < 14; ++trial) {
    attnbound::testing::LayerSpec sp = attnbound::testing::random_spec(rng, 4, 2);
    if (trial % 2 == 0) {  // half of them single-head without biases: the witness statements apply
      sp.heads = 1;
      sp.biases = false;
    }
    const AttentionLayer L = attnbound::testing::random_layer(sp, rng);
    const long n = std::uniform_int_distribution<long>(2, 6)(rng);
    const double R = std::uniform_real_distribution<double>(0.3, 3.0)(rng);
    const auto rep = evaluate_theorems(L, n, R, quick(0.25));
    check(rep, "trial " + std::to_string(trial) + " d=" + std::to_string(sp.d) + " H=" + std::to_string(sp.heads) +
                   " n=" + std::to_string(n) + " R=" + std::to_string(R) + " mask=" + to_string(sp.mask));
    for (const char* id : {"LB1", "LB-cluster"}) {
      const StatementResult* r = rep.find(id);
      if (r->verdict == Verdict::not_applicable) continue;
      // A lower-bound theorem evaluated at its own witness must hold there (its formula drops
      // non-negative terms, so it is strictly below the exact value).
      EXPECT_EQ(r->verdict, Verdict::holds) << "trial " << trial << " " << id << ": " << r->reason;
      ++lower_checked;
    }
  }
  EXPECT_GE(lower_checked, 6);
}

TEST(TheoremsRegression, Gpt2ShapedLayersUpToN16) {
  const AttentionLayer L = load_model("builtin:gpt2-init");
  const double ln_radius = layernorm_radius(L.norm).value();  // √768 for γ = 1, β = 0
  struct Case {
    long n;
    double R;
  };
  for (const Case c : {Case{4, 100.0}, Case{16, 100.0}, Case{16, ln_radius}}) {
    const auto rep = evaluate_theorems(L, c.n, c.R, quick(0.0, 0.0));
    check(rep, "gpt2-init n=" + std::to_string(c.n) + " R=" + std::to_string(c.R));
    // The witnesses reach the √n regime: a certified lower bound of order √n.
    if (c.R == 100.0) {
      EXPECT_GT(rep.bracket.bracket.lower.value(), 0.5 * std::sqrt(static_cast<double>(c.n)));
    }
    EXPECT_EQ(rep.find("MF")->verdict, Verdict::not_applicable);  // causal
    EXPECT_NE(rep.find("MF-causal")->verdict, Verdict::not_applicable);
  }
}

TEST(TheoremsRegression, LargeNThroughTheClusterReduction) {
  for (const char* name : {"builtin:paper-toy", "builtin:tiny"})
    for (long n : {1000L, 1000000L}) {
      const AttentionLayer L = load_model(name);
      const auto rep = evaluate_theorems(L, n, 2.0, quick(0.0, 0.0));
      check(rep, std::string(name) + " n=" + std::to_string(n));
      EXPECT_TRUE(rep.bracket.clustered.has_value());
      EXPECT_EQ(rep.find("LB1")->verdict, Verdict::holds) << rep.find("LB1")->reason;
      EXPECT_EQ(rep.find("LB-cluster")->verdict, Verdict::holds) << rep.find("LB-cluster")->reason;
    }
  std::mt19937_64 rng(attnbound::testing::seed(77));
  for (int trial = 0; trial < 6; ++trial) {
    attnbound::testing::LayerSpec sp = attnbound::testing::random_spec(rng, 6, 3);
    sp.mask = Mask::none;
    const AttentionLayer L = attnbound::testing::random_layer(sp, rng);
    const double R = std::uniform_real_distribution<double>(0.5, 4.0)(rng);
    check(evaluate_theorems(L, 200000, R, quick(0.0, 0.0)), "random unmasked n=2e5 trial " + std::to_string(trial));
  }
}

TEST(TheoremsRegression, CausalLargeNUsesThePrefix) {
  const AttentionLayer L = load_model("builtin:tiny-causal");
  TheoremOptions o = quick(0.0, 0.0);
  o.bracket.work_limit = 2e5;  // force the prefix path
  const auto rep = evaluate_theorems(L, 100000, 2.0, o);
  check(rep, "tiny-causal n=1e5");
  EXPECT_GT(rep.bracket.prefix_n, 1);
  EXPECT_LT(rep.bracket.prefix_n, 100000);
  EXPECT_GT(rep.bracket.bracket.lower.value(), 0.0);
}
