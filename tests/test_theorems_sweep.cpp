// proofs/: the √n → plateau sweep (grid, rows, fit, CSV, gnuplot script) and `attnbound sweep`.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <unistd.h>

#include "cli/cli.hpp"
#include "model/model.hpp"
#include "proofs/theorems.hpp"

using namespace attnbound;
using namespace attnbound::proofs;

TEST(TheoremsSweep, LogGridIsIncreasingAndCoversTheEnds) {
  const auto g = log_grid(2, 1000000, 25);
  ASSERT_GE(g.size(), 20u);
  EXPECT_EQ(g.front(), 2);
  EXPECT_EQ(g.back(), 1000000);
  for (std::size_t i = 1; i < g.size(); ++i) EXPECT_LT(g[i - 1], g[i]);
  EXPECT_TRUE(log_grid(5, 4, 10).empty());
}

TEST(TheoremsSweep, UnmaskedSmallModelPlateausBelowMf) {
  // paper-toy at R = 2: the LB1 witness leaves the √n regime near n ≈ e^c = e⁴ and the mirrored one
  // (logit gap 2R²|λmin| = 8) near n ≈ e⁸; beyond that the lower bounds plateau (near 88).
  SweepOptions o;
  o.R = 2.0;
  o.ns = {2, 8, 30, 100, 1000, 100000, 300000, 1000000};
  const auto res = run_sweep(load_model("builtin:paper-toy"), "paper-toy", o);
  ASSERT_EQ(res.rows.size(), o.ns.size());
  for (const auto& r : res.rows) {
    ASSERT_TRUE(r.lower_done) << "n=" << r.n;
    EXPECT_LE(r.lower, r.mf.lower_down()) << "n=" << r.n;   // MF (a theorem) stays above
    EXPECT_LE(r.lower, r.u1.lower_down()) << "n=" << r.n;   // and so does U1
    EXPECT_LE(r.lower, r.estimate * (1 + 1e-9)) << "n=" << r.n;
  }
  // Growth first, then a plateau: the last three lower bounds agree within 2%.
  EXPECT_GT(res.rows[3].lower, 2 * res.rows[0].lower);
  EXPECT_NEAR(res.rows[7].lower / res.rows[5].lower, 1.0, 0.02);
  EXPECT_NEAR(res.rows[6].lower / res.rows[5].lower, 1.0, 0.02);
  EXPECT_TRUE(std::isfinite(res.C));
  const std::string csv = sweep_csv(res);
  EXPECT_NE(csv.find("n,lower,estimate"), std::string::npos);
  EXPECT_NE(csv.find("\n1000000,"), std::string::npos);
}

TEST(TheoremsSweep, MaskedSweepStopsAtTheTimeBudget) {
  SweepOptions o;
  o.R = 2.0;
  o.ns = {2, 4, 8, 16, 100000};
  o.time_limit = 2.0;
  const auto res = run_sweep(load_model("builtin:tiny-causal"), "tiny-causal", o);
  EXPECT_TRUE(res.causal);
  EXPECT_TRUE(res.rows[0].lower_done);
  EXPECT_TRUE(res.rows[3].lower_done);
  EXPECT_FALSE(res.rows[4].lower_done);  // n = 10⁵ would need O(n²) interval attention
  EXPECT_NE(res.note.find("stop"), std::string::npos);
  EXPECT_EQ(res.mf_id, "MF-causal");
}

TEST(TheoremsSweep, GnuplotScriptPlotsEveryCurve) {
  SweepOptions o;
  o.R = 1.0;
  o.ns = {2, 4, 8};
  const auto res = run_sweep(load_model("builtin:tiny"), "tiny", o);
  const std::string g = gnuplot_script(res, "s.csv", "s.png");
  for (const char* must : {"pngcairo", "certified lower bound", "float estimate", "min(U1, MF)", "C √n", "'s.csv'"})
    EXPECT_NE(g.find(must), std::string::npos) << must;
  EXPECT_NE(gnuplot_script(res, "s.csv", "s.svg").find("set terminal svg"), std::string::npos);
}

TEST(TheoremsSweep, CliWritesCsvAndPlot) {
  const auto dir = std::filesystem::temp_directory_path() / ("attnbound-sweep-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const std::string prefix = (dir / "toy").string();
  std::ostringstream out, err;
  const int rc = cli::run({"sweep", "--model", "builtin:paper-toy", "--radius", "2", "--n-max", "1000", "--points", "6",
                           "--out", prefix, "--json"},
                          out, err);
  ASSERT_EQ(rc, 0) << err.str();
  const auto j = nlohmann::json::parse(out.str());
  EXPECT_EQ(j["rows"].size(), 6u);
  EXPECT_TRUE(std::filesystem::exists(prefix + ".csv"));
  EXPECT_TRUE(std::filesystem::exists(prefix + ".gp"));
  if (std::system("command -v gnuplot >/dev/null 2>&1") == 0) {
    EXPECT_TRUE(std::filesystem::exists(prefix + ".png")) << err.str();
    EXPECT_FALSE(j["plot"].is_null());
  } else {
    EXPECT_NE(err.str().find("plot skipped"), std::string::npos);
  }
  std::filesystem::remove_all(dir);
}

TEST(TheoremsSweep, CliRejectsBadInput) {
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"sweep", "--model", "builtin:tiny"},
        std::vector<std::string>{"sweep", "--model", "builtin:tiny", "--radius", "1", "--n-min", "1"},
        std::vector<std::string>{"sweep", "--model", "builtin:tiny", "--radius", "1", "--format", "gif"},
        std::vector<std::string>{"sweep", "--model", "builtin:tiny", "--radius", "1", "--head", "3"}}) {
    std::ostringstream out, err;
    EXPECT_EQ(cli::run(args, out, err), cli::kExitBadInput) << args.back();
    EXPECT_FALSE(err.str().empty());
  }
}
