// proofs/: the statement catalogue, the hypotheses (applicability) and the verdict rules.
#include <gtest/gtest.h>

#include <set>

#include "model/model.hpp"
#include "proofs/theorems.hpp"
#include "random_layers.hpp"
#include "support.hpp"

using namespace attnbound;
using namespace attnbound::proofs;

TEST(TheoremsCatalogue, HasEveryTheoryStatementOnceAndOneCanary) {
  std::set<std::string> ids;
  int canaries = 0;
  for (const Statement& s : catalogue()) {
    EXPECT_TRUE(ids.insert(s.id).second) << "duplicate id " << s.id;
    EXPECT_FALSE(s.text.empty()) << s.id;
    EXPECT_FALSE(s.origin.empty()) << s.id;
    if (s.category == Category::canary) {
      ++canaries;
      EXPECT_NE(s.id.find("canary"), std::string::npos) << "a canary's id must say so: " << s.id;
    }
  }
  for (const char* id : {"U1", "U1-sharp", "U-local", "MF", "MF-block", "MF-causal", "LB1", "LB-cluster"})
    EXPECT_TRUE(ids.count(id)) << "missing " << id;
  EXPECT_EQ(canaries, 1);
  EXPECT_EQ(find_statement("U-local")->category, Category::conjecture);
  EXPECT_TRUE(find_statement("U-local")->pointwise);
  EXPECT_EQ(find_statement("LB1")->kind, Kind::lower);
  EXPECT_EQ(find_statement("LB-cluster")->kind, Kind::lower);
  EXPECT_EQ(find_statement("nonsense"), nullptr);
}

TEST(TheoremsCatalogue, HypothesesDecideApplicability) {
  const AttentionLayer tiny = load_model("builtin:tiny"), causal = load_model("builtin:tiny-causal");
  auto applies = [](const char* id, const AttentionLayer& L, long n) {
    return inapplicable_reason(*find_statement(id), L, n).empty();
  };
  // Masks.
  EXPECT_TRUE(applies("MF", tiny, 3));
  EXPECT_FALSE(applies("MF", causal, 3));
  EXPECT_FALSE(applies("MF-block", causal, 3));
  EXPECT_TRUE(applies("MF-causal", causal, 3));
  EXPECT_FALSE(applies("MF-causal", tiny, 3));
  EXPECT_TRUE(applies("U1", causal, 3));
  EXPECT_TRUE(applies("LB1", causal, 3));
  EXPECT_FALSE(applies("LB-cluster", causal, 3));
  // n.
  EXPECT_FALSE(applies("LB1", tiny, 1));
  EXPECT_TRUE(applies("U1", tiny, 1));
  // Heads and query/key biases.
  std::mt19937_64 rng(attnbound::testing::seed(7));
  attnbound::testing::LayerSpec sp;
  sp.heads = 2;
  const AttentionLayer two = attnbound::testing::random_layer(sp, rng);
  EXPECT_TRUE(applies("U1", two, 3));
  EXPECT_TRUE(applies("MF", two, 3));
  EXPECT_FALSE(applies("LB1", two, 3));
  sp.heads = 1;
  sp.biases = true;
  const AttentionLayer biased = attnbound::testing::random_layer(sp, rng);
  EXPECT_TRUE(applies("MF", biased, 3));
  EXPECT_FALSE(applies("LB1", biased, 3));
  EXPECT_NE(inapplicable_reason(*find_statement("LB1"), two, 3).find("--heads"), std::string::npos);
}

TEST(TheoremsVerdict, UpperTypeRules) {
  const MpInterval S = MpInterval::hull(2.0, 2.5);
  EXPECT_EQ(upper_verdict(S, 2.6, 10.0), Verdict::refuted);   // lower > S.hi
  EXPECT_EQ(upper_verdict(S, 2.5, 10.0), Verdict::undecided); // lower == S.hi: not a refutation
  EXPECT_EQ(upper_verdict(S, 1.0, 2.0), Verdict::holds);      // upper ≤ S.lo
  EXPECT_EQ(upper_verdict(S, 1.0, 2.1), Verdict::undecided);  // upper inside the enclosure
  EXPECT_EQ(upper_verdict(S, 1.0, std::numeric_limits<double>::infinity()), Verdict::undecided);
}

TEST(TheoremsVerdict, LowerTypeRulesMirror) {
  const MpInterval S = MpInterval::hull(2.0, 2.5);
  EXPECT_EQ(lower_verdict(S, 2.5, 10.0), Verdict::holds);     // lower ≥ S.hi
  EXPECT_EQ(lower_verdict(S, 2.4, 10.0), Verdict::undecided);
  EXPECT_EQ(lower_verdict(S, 0.0, 1.9), Verdict::refuted);    // upper < S.lo
  EXPECT_EQ(lower_verdict(S, 0.0, 2.0), Verdict::undecided);  // upper == S.lo: no refutation
}

TEST(TheoremsVerdict, ExpectedRefutationsAreCanaryAndConjectureOnly) {
  InstanceReport rep;
  for (const Statement& s : catalogue()) {
    StatementResult r;
    r.statement = &s;
    r.verdict = Verdict::refuted;
    rep.statements.push_back(r);
  }
  const auto bad = rep.unexpected_refutations();
  for (const Statement& s : catalogue()) {
    const bool listed = std::find(bad.begin(), bad.end(), s.id) != bad.end();
    EXPECT_EQ(listed, s.category == Category::theorem) << s.id;
  }
}
