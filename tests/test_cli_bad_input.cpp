// Every bad input gets exit code 2 and exactly one line on stderr naming the problem; nothing
// crashes and no partial certificate is left behind.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "cli/cli.hpp"
#include "cli/commands.hpp"
#include "model/model.hpp"

using namespace attnbound;
using ::testing::HasSubstr;

namespace {

struct CliRun {
  int code;
  std::string out, err;
};

CliRun run(std::vector<std::string> args) {
  std::ostringstream out, err;
  const int code = cli::run(args, out, err);
  return {code, out.str(), err.str()};
}

class CliBadInput : public ::testing::Test {
 protected:
  std::filesystem::path dir;
  void SetUp() override {
    dir = std::filesystem::temp_directory_path() /
          ("attnbound-cli-" + std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()));
    std::filesystem::create_directories(dir);
    write("x.txt", "0.5 0.1\n-0.3 0.8\n1.0 -0.2\n");
  }
  void TearDown() override { std::filesystem::remove_all(dir); }
  std::string path(const std::string& f) const { return (dir / f).string(); }
  void write(const std::string& f, const std::string& text) const { std::ofstream(path(f), std::ios::binary) << text; }
  // Exit 2 with one line containing `what`.
  void expect_bad(std::vector<std::string> args, const std::string& what) {
    CliRun r = run(args);
    EXPECT_EQ(r.code, cli::kExitBadInput) << r.err;
    EXPECT_THAT(r.err, HasSubstr(what));
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  }
};

}  // namespace

TEST_F(CliBadInput, GoodRunIsZero) {
  CliRun r = run({"certify", "--model", "builtin:tiny", "--point", path("x.txt"), "--json"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("\"lower\""));
  EXPECT_THAT(r.out, HasSubstr("\"upper\""));
  EXPECT_THAT(r.out, HasSubstr("\"estimate\""));
  EXPECT_THAT(r.out, HasSubstr("\"status\":\"ok\""));
}

TEST_F(CliBadInput, BallRunIsQuietWhenStderrIsNotATerminal) {
  // The progress line is for a terminal only; under ctest fd 2 is captured (a file), so a
  // branch-and-bound run must write nothing there, and nothing to the error stream either.
  ::testing::internal::CaptureStderr();
  CliRun r = run({"certify", "--model", "builtin:tiny", "--radius", "0.5", "--n", "2", "--tol", "0.5",
                  "--time-limit", "2", "--threads", "1"});
  const std::string fd2 = ::testing::internal::GetCapturedStderr();
  EXPECT_TRUE(r.code == cli::kExitOk || r.code == cli::kExitBudget) << r.err;
  EXPECT_EQ(r.err, "");
  EXPECT_EQ(fd2, "");
}

TEST_F(CliBadInput, TruncatedAndCorruptSafetensors) {
  const auto tensors = builtin_checkpoint("gpt2-init", 0);
  std::string bytes = encode_safetensors(tensors);
  write("trunc.safetensors", bytes.substr(0, bytes.size() / 2));
  expect_bad({"certify", "--model", path("trunc.safetensors"), "--arch", "gpt2", "--point", path("x.txt")},
             "trunc.safetensors");
  std::string corrupt = bytes;
  corrupt[10] = '{';
  corrupt[11] = '{';
  write("corrupt.safetensors", corrupt);
  expect_bad({"info", "--model", path("corrupt.safetensors")}, "corrupt.safetensors");
  write("tiny.safetensors", "abc");
  expect_bad({"info", "--model", path("tiny.safetensors")}, "tiny.safetensors");
}

TEST_F(CliBadInput, UnknownLayerArchitectureAndMissingTensors) {
  const auto tensors = builtin_checkpoint("gpt2-init", 0);
  write_safetensors(path("g.safetensors"), tensors);
  expect_bad({"info", "--model", path("g.safetensors"), "--layer", "7"}, "layer");
  expect_bad({"info", "--model", path("g.safetensors"), "--arch", "llama"}, "llama");
  std::vector<SafeTensor> missing;
  for (const auto& t : tensors)
    if (t.name.find("c_proj.weight") == std::string::npos) missing.push_back(t);
  write_safetensors(path("m.safetensors"), missing);
  expect_bad({"info", "--model", path("m.safetensors"), "--arch", "gpt2"}, "c_proj.weight");
  expect_bad({"info", "--model", "builtin:no-such-model"}, "no-such-model");
}

TEST_F(CliBadInput, NonFiniteWeights) {
  write("nan.json", R"({"format": "attnbound-model", "d": 1, "heads": [{"A": [[1]], "V": [["NaN"]]}]})");
  expect_bad({"info", "--model", path("nan.json")}, "nan.json");
  write("inf.json", R"({"format": "attnbound-model", "d": 1, "heads": [{"A": [[1e999]], "V": [[1]]}]})");
  expect_bad({"info", "--model", path("inf.json")}, "inf.json");
}

TEST_F(CliBadInput, BadNumbers) {
  expect_bad({"certify", "--model", "builtin:tiny", "--radius", "1", "--n", "0"}, "--n must be >= 1");
  expect_bad({"certify", "--model", "builtin:tiny", "--radius", "0", "--n", "2"}, "--radius must be a positive");
  expect_bad({"certify", "--model", "builtin:tiny", "--radius", "-1", "--n", "2"}, "--radius must be a positive");
  expect_bad({"certify", "--model", "builtin:tiny", "--center", path("x.txt"), "--eps", "0"}, "--eps must be a positive");
  expect_bad({"certify", "--model", "builtin:tiny", "--center", path("x.txt"), "--eps", "-1e-3"}, "--eps must be a positive");
  expect_bad({"certify", "--model", "builtin:tiny", "--point", path("x.txt"), "--tol", "nan"}, "--tol");
  expect_bad({"certify", "--model", "builtin:tiny"}, "give a region");
  expect_bad({"certify", "--model", "builtin:tiny", "--point", path("x.txt"), "--radius", "1"}, "excludes");
}

TEST_F(CliBadInput, PointFileOfTheWrongShape) {
  write("ragged.txt", "1 2\n3\n");
  expect_bad({"certify", "--model", "builtin:tiny", "--point", path("ragged.txt")}, "line 2 has 1 numbers, expected 2");
  write("wide.txt", "1 2 3\n");
  expect_bad({"certify", "--model", "builtin:tiny", "--point", path("wide.txt")}, "expected 2 (the model's d)");
  write("word.txt", "1 two\n");
  expect_bad({"certify", "--model", "builtin:tiny", "--point", path("word.txt")}, "'two' is not a number");
  write("empty.txt", "# nothing\n");
  expect_bad({"certify", "--model", "builtin:tiny", "--point", path("empty.txt")}, "no tokens");
  write("bad.json", "[[1, 2], [3]]");
  expect_bad({"certify", "--model", "builtin:tiny", "--point", path("bad.json")}, "row 2 has 1 numbers");
  expect_bad({"certify", "--model", "builtin:tiny", "--point", path("absent.txt")}, "cannot open");
}

TEST_F(CliBadInput, UnwritableCertificatePathLeavesNothingBehind) {
  expect_bad({"certify", "--model", "builtin:tiny", "--point", path("x.txt"), "--cert", path("no/such/dir/c.json")},
             "c.json");
  EXPECT_FALSE(std::filesystem::exists(path("no")));
  // A good run leaves exactly the certificate and no temporary file.
  CliRun r = run({"certify", "--model", "builtin:tiny", "--point", path("x.txt"), "--cert", path("c.json")});
  ASSERT_EQ(r.code, 0) << r.err;
  int files = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir)) files += e.path().filename().string()[0] == '.';
  EXPECT_EQ(files, 0) << "a temporary file was left behind";
  EXPECT_TRUE(std::filesystem::exists(path("c.json")));
}

TEST_F(CliBadInput, HelpForEverySubcommand) {
  for (const char* sub : {"certify", "witness", "info"}) {
    CliRun r = run({sub, "--help"});
    EXPECT_EQ(r.code, 0);
    EXPECT_THAT(r.out, HasSubstr("Example")) << sub;
  }
}

TEST_F(CliBadInput, CertificateIsCheckedBeforeItIsWritten) {
  const std::string cert = path("c.json");
  CliRun ok = run({"certify", "--model", "builtin:tiny", "--point", path("x.txt"), "--cert", cert, "--json"});
  ASSERT_EQ(ok.code, 0) << ok.err;
  EXPECT_THAT(ok.out, HasSubstr("\"certificate_check\":{\"seconds\""));
  EXPECT_THAT(ok.out, HasSubstr("\"verdict\":\"valid\""));
  EXPECT_TRUE(std::filesystem::exists(cert));
  std::filesystem::remove(cert);

  // A false claim (the engine's upper halved through the testing hook) is caught by the in-process
  // checker: no file, exit 4, one line on stderr saying why.
  cli::CertifyArgs a;
  a.model.spec = "builtin:tiny";
  a.point = path("x.txt");
  a.cert = cert;
  a.testing_corrupt_upper = true;
  std::ostringstream out, err;
  EXPECT_EQ(cli::run_certify(a, out, err), cli::kExitInternal);
  EXPECT_FALSE(std::filesystem::exists(cert));
  const std::string e = err.str();
  EXPECT_THAT(e, HasSubstr("the independent checker rejected it"));
  EXPECT_EQ(std::count(e.begin(), e.end(), '\n'), 1) << e;
  EXPECT_THAT(out.str(), HasSubstr("certificate  not written"));
  for (const auto& e : std::filesystem::directory_iterator(dir)) EXPECT_EQ(e.path().filename().string().find("c.json"), std::string::npos) << e.path();
}
