// `attnbound theorems`: the contract (JSON keys, a verdict for every statement, exit codes) on the
// builtin models, and one-line errors on bad input.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "cli/cli.hpp"
#include "proofs/theorems.hpp"

using namespace attnbound;

namespace {
struct CliRun {
  int rc;
  std::string out, err;
};
CliRun run(const std::vector<std::string>& args) {
  std::ostringstream out, err;
  const int rc = cli::run(args, out, err);
  return {rc, out.str(), err.str()};
}
}  // namespace

TEST(TheoremsCli, JsonHasTheContractKeysAndAVerdictForEveryStatement) {
  const std::set<std::string> verdicts = {"holds", "refuted", "undecided", "not applicable"};
  for (const char* spec : {"builtin:tiny", "builtin:tiny-causal", "builtin:paper-toy"}) {
    const CliRun r = run({"theorems", "--model", spec, "--n", "3", "--radius", "1", "--time-limit", "0.5", "--search-seconds",
                       "0.2", "--json"});
    ASSERT_EQ(r.rc, 0) << spec << ": " << r.err;
    const auto j = nlohmann::json::parse(r.out);
    ASSERT_TRUE(j.contains("bracket"));
    EXPECT_TRUE(j["bracket"]["lower"].is_number());
    EXPECT_TRUE(j["bracket"]["upper"].is_number() || j["bracket"]["upper"] == "inf");
    ASSERT_EQ(j["statements"].size(), proofs::catalogue().size());
    std::set<std::string> ids;
    for (const auto& s : j["statements"]) {
      ids.insert(s["id"].get<std::string>());
      EXPECT_TRUE(s["kind"] == "upper" || s["kind"] == "lower");
      EXPECT_TRUE(verdicts.count(s["verdict"].get<std::string>())) << s["verdict"];
      EXPECT_TRUE(s.contains("value"));
      if (s["verdict"] != "not applicable") {
        EXPECT_TRUE(s["value"].is_number() || s["value"] == "inf") << spec << " " << s["id"];
      }
    }
    for (const auto& st : proofs::catalogue()) EXPECT_TRUE(ids.count(st.id)) << st.id;
  }
}

TEST(TheoremsCli, HumanTableListsEveryStatementWithRatios) {
  const CliRun r = run({"theorems", "--model", "builtin:paper-toy", "--n", "3", "--radius", "1", "--time-limit", "0.5",
                     "--search-seconds", "0"});
  ASSERT_EQ(r.rc, 0) << r.err;
  for (const auto& st : proofs::catalogue()) EXPECT_NE(r.out.find(st.id), std::string::npos) << st.id;
  EXPECT_NE(r.out.find("S/lower"), std::string::npos);
  EXPECT_NE(r.out.find("bracket"), std::string::npos);
  EXPECT_NE(r.out.find("not applicable"), std::string::npos);  // MF-causal on an unmasked layer
}

TEST(TheoremsCli, RadiusAndLayernormExcludeEachOther) {
  const CliRun r = run({"theorems", "--model", "builtin:tiny", "--n", "2", "--radius", "1", "--layernorm"});
  EXPECT_EQ(r.rc, cli::kExitBadInput);  // --radius and --layernorm exclude each other
}

TEST(TheoremsCli, BadInputIsOneMessageAndExitTwo) {
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"theorems", "--model", "builtin:tiny", "--n", "3"},
        std::vector<std::string>{"theorems", "--model", "builtin:tiny", "--n", "0", "--radius", "1"},
        std::vector<std::string>{"theorems", "--model", "builtin:tiny", "--n", "3", "--radius", "-1"},
        std::vector<std::string>{"theorems", "--model", "builtin:nope", "--n", "3", "--radius", "1"},
        std::vector<std::string>{"theorems", "--model", "builtin:tiny", "--radius", "1"}}) {
    const CliRun r = run(args);
    EXPECT_EQ(r.rc, cli::kExitBadInput) << r.err;
    // One message, "attnbound: …" (CLI11 parse errors add a "Run with --help" hint line).
    EXPECT_EQ(r.err.rfind("attnbound: ", 0), 0u) << r.err;
    EXPECT_LE(std::count(r.err.begin(), r.err.end(), '\n'), 2) << r.err;
  }
}
