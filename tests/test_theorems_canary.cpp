// The canary: a deliberately false statement (U1 without its n-dependence) that every run must
// refute. It shows that the regression check can fail: the same evaluator → bracket → verdict path
// that lets the theorems pass turns a false statement into "refuted", with a witness.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <sstream>

#include "cli/cli.hpp"
#include "model/model.hpp"
#include "proofs/theorems.hpp"

using namespace attnbound;
using namespace attnbound::proofs;

namespace {
const Statement& canary() {
  for (const Statement& s : catalogue())
    if (s.category == Category::canary) return s;
  throw std::logic_error("no canary");
}
}  // namespace

// Designated instances: unmasked, large c = qR²/4, n in the √n regime (n ≈ e^c), where the certified
// lower bound (cluster reduction) exceeds √3 v (5a²R⁴ + 1)^{1/2}.
TEST(TheoremsCanary, RefutedOnItsDesignatedInstances) {
  struct Case {
    const char* model;
    long n;
    double R;
  };
  TheoremOptions o;
  o.ulocal_search_seconds = 0;
  for (const Case c : {Case{"builtin:paper-toy", 8100, 3.0}, Case{"builtin:paper-toy", 100000, 3.0},
                       Case{"builtin:tiny", 1000000, 10.0}}) {
    const auto rep = evaluate_theorems(load_model(c.model), c.n, c.R, o);
    const StatementResult* r = rep.find(canary().id);
    ASSERT_NE(r, nullptr);
    EXPECT_EQ(r->verdict, Verdict::refuted) << c.model << " n=" << c.n << ": " << r->reason;
    EXPECT_TRUE(r->witness.has_value());
    EXPECT_GT(rep.bracket.bracket.lower.value(), r->value->upper_up());
    // The refutation is expected: it does not count against the theorems …
    EXPECT_TRUE(rep.unexpected_refutations().empty());
    // … while U1, which keeps its n-dependence, survives the same bracket.
    EXPECT_NE(rep.find("U1")->verdict, Verdict::refuted);
  }
}

TEST(TheoremsCanary, RefutedThroughTheCliWithAWitness) {
  std::ostringstream out, err;
  const int rc = cli::run({"theorems", "--model", "builtin:paper-toy", "--n", "25000", "--radius", "3", "--json"}, out, err);
  EXPECT_EQ(rc, 0) << err.str();  // a canary refutation is expected, not an error
  const auto j = nlohmann::json::parse(out.str());
  bool seen = false;
  for (const auto& s : j["statements"]) {
    if (s["category"] != "canary") continue;
    seen = true;
    EXPECT_EQ(s["verdict"], "refuted");
    EXPECT_TRUE(s.contains("witness"));
    EXPECT_EQ(s["witness"]["n"], 25000);
    EXPECT_GT(j["bracket"]["lower"].get<double>(), s["enclosure"][1].get<double>());
  }
  EXPECT_TRUE(seen);
  EXPECT_TRUE(j["unexpected_refutations"].empty());
}

TEST(TheoremsCanary, RefutationOfATheoremFailsTheCommand) {
  // The exit status a CI script sees: a refuted theorem is exit 1. Simulated on the verdict list.
  InstanceReport rep;
  StatementResult r;
  r.statement = find_statement("U1");
  r.verdict = Verdict::refuted;
  rep.statements.push_back(r);
  EXPECT_EQ(rep.unexpected_refutations(), std::vector<std::string>{"U1"});
}
