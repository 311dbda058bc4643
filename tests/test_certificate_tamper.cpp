// End to end through the built binaries: `attnbound certify --cert` writes a certificate,
// `attnbound-check` accepts it untouched (exit 0) and rejects each tampered copy with a specific
// one-line reason (exit 1), or as unreadable (exit 2) when it is truncated.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "support.hpp"

namespace {

namespace fs = std::filesystem;
using nlohmann::json;

const std::string kBuild = ATTNBOUND_BUILD_DIR;

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void spit(const fs::path& p, const std::string& text) { std::ofstream(p, std::ios::binary) << text; }

class Tamper : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = fs::temp_directory_path() / ("attnbound-tamper-" + std::to_string(::getpid()));
    fs::create_directories(dir_);
    // A paper-form model file (so that a weight can be changed) and a point in it.
    spit(dir_ / "model.json", model_text(0.75));
    spit(dir_ / "x.txt", "0.5 -0.25\n-0.75 0.5\n0.25 0.875\n1.0 0.125\n");
    ASSERT_EQ(run("certify --model model.json --point x.txt --cert point.json --json"), 0) << last_err_;
    // Exit 3 (tolerance not reached) still writes a valid certificate.
    const int ball = run("certify --model builtin:tiny --radius 1 --n 2 --tol 0.5 --cert ball.json --json --time-limit 20");
    ASSERT_TRUE(ball == 0 || ball == 3) << last_err_;
  }
  static void TearDownTestSuite() { fs::remove_all(dir_); }

  static std::string model_text(double v11) {
    std::ostringstream o;
    o.precision(17);
    o << R"({"format": "attnbound-model", "d": 2, "mask": "none", "heads": [{"A": [[0.5, -0.25], [0.125, )" << v11
      << R"(]], "V": [[1.0, 0.25], [-0.5, 0.75]]}]})";
    return o.str();
  }

  /// Runs build/attnbound ARGS in the test directory; returns the exit code, keeps stderr.
  static int run(const std::string& args, const std::string& binary = "attnbound") {
    const std::string cmd = "cd '" + dir_.string() + "' && '" + kBuild + "/" + binary + "' " + args +
                            " > stdout.txt 2> stderr.txt";
    const int status = std::system(cmd.c_str());
    last_err_ = slurp(dir_ / "stderr.txt");
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }
  static int check(const std::string& cert) { return run(cert, "attnbound-check"); }

  /// Writes an edited copy of `cert` and checks it.
  static int check_edited(const std::string& cert, const std::function<void(json&)>& edit) {
    json j = json::parse(slurp(dir_ / cert));
    edit(j);
    spit(dir_ / "edited.json", j.dump(1));
    return check("edited.json");
  }

  static bool said(const std::string& part) { return last_err_.find(part) != std::string::npos; }

  static inline fs::path dir_;
  static inline std::string last_err_;
};

TEST_F(Tamper, UntouchedCertificatesAreValid) {
  EXPECT_EQ(check("point.json"), 0) << last_err_;
  EXPECT_EQ(check("ball.json"), 0) << last_err_;
  const json j = json::parse(slurp(dir_ / "point.json"));
  EXPECT_EQ(j["format"], "attnbound-certificate");
  EXPECT_EQ(j["model"]["spec"], "model.json");
}

TEST_F(Tamper, UpperLoweredByOnePercent) {
  EXPECT_EQ(check_edited("point.json", [](json& j) { j["claim"]["upper"] = j["claim"]["upper"].get<double>() * 0.99; }), 1);
  EXPECT_TRUE(said("upper claim not re-derived")) << last_err_;
  // The ball's bracket is loose (tol 0.5): 1% below its upper claim may still be true and provable
  // (the checker's MPFI leaf bounds can be tighter than the engine's). Below the proved lower
  // bound it is false.
  EXPECT_EQ(check_edited("ball.json", [](json& j) { j["claim"]["upper"] = j["claim"]["lower"].get<double>() * 0.99; }), 1);
  EXPECT_TRUE(said("upper claim not re-derived on partition leaf")) << last_err_;
}

TEST_F(Tamper, LowerRaisedByOnePercent) {
  EXPECT_EQ(check_edited("point.json", [](json& j) { j["claim"]["lower"] = j["claim"]["lower"].get<double>() * 1.01; }), 1);
  EXPECT_TRUE(said("lower claim not re-derived: ‖J(X)v‖/‖v‖ >=")) << last_err_;
}

TEST_F(Tamper, WitnessMovedOutsideTheRegion) {
  EXPECT_EQ(check_edited("point.json", [](json& j) { j["evidence"]["lower"]["X"][2][1] = 0.5; }), 1);
  EXPECT_TRUE(said("witness is not the region's point: entry (2, 1)")) << last_err_;
  EXPECT_EQ(check_edited("ball.json", [](json& j) { j["evidence"]["lower"]["X"][0] = json::array({1.0, 0.5}); }), 1);
  EXPECT_TRUE(said("witness token 0 outside the ball")) << last_err_;
}

TEST_F(Tamper, OneWeightChanged) {
  spit(dir_ / "model.json", model_text(std::nextafter(0.75, 1.0)));
  const int code = check("point.json");
  spit(dir_ / "model.json", model_text(0.75));
  EXPECT_EQ(code, 1);
  EXPECT_TRUE(said("model digest mismatch: certificate says")) << last_err_;
  EXPECT_EQ(check("point.json"), 0) << last_err_;
}

TEST_F(Tamper, PartitionLeafDeleted) {
  EXPECT_EQ(check_edited("ball.json", [](json& j) {
              auto& leaves = j["evidence"]["upper"]["leaves"];
              leaves.erase(leaves.size() / 2);
            }),
            1);
  EXPECT_TRUE(said("partition does not cover the region")) << last_err_;
}

TEST_F(Tamper, TruncatedFile) {
  const std::string text = slurp(dir_ / "point.json");
  for (std::size_t cut : {std::size_t{0}, std::size_t{1}, text.size() / 2, text.size() - 2}) {
    spit(dir_ / "cut.json", text.substr(0, cut));
    EXPECT_EQ(check("cut.json"), 2) << cut;
    EXPECT_TRUE(said("unreadable")) << last_err_;
  }
  EXPECT_EQ(check("does-not-exist.json"), 2);
  EXPECT_EQ(run("", "attnbound-check"), 2);  // no certificate given
}

}  // namespace
