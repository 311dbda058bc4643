// attnbound-cert-bench: time to check a certificate vs time to produce it (issue 6 acceptance:
// checking takes <= 10x the certify run). Each case runs `attnbound certify --cert` in-process and
// then the checker on the certificate it wrote; both times are wall-clock and include loading the
// model. Reports the best of --repeat runs of each.
//
//   attnbound-cert-bench [--quick] [--repeat N] [--threads K] [--dir DIR]
//
// Exit 0 if every ratio is <= 10, 1 otherwise.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <limits>
#include <sstream>
#include <string>
#include <vector>

#include "checker.hpp"
#include "cli/cli.hpp"

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

struct Case {
  std::string name;
  std::vector<std::string> setup;    // an attnbound command run once before timing (e.g. witness)
  std::vector<std::string> certify;  // the certify command (without --cert)
  bool heavy = false;
};

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

int run_cli(const std::vector<std::string>& args) {
  std::ostringstream out, err;
  const int code = attnbound::cli::run(args, out, err);
  if (code != 0 && code != 3) std::cerr << "  " << err.str();
  return code;
}

}  // namespace

int main(int argc, char** argv) {
  bool quick = false;
  int repeat = 3;
  std::string threads = "0";
  fs::path dir = fs::temp_directory_path() / "attnbound-cert-bench";
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--quick") quick = true;
    else if (a == "--repeat" && i + 1 < argc) repeat = std::max(1, std::atoi(argv[++i]));
    else if (a == "--threads" && i + 1 < argc) threads = argv[++i];
    else if (a == "--dir" && i + 1 < argc) dir = argv[++i];
    else {
      std::cerr << "usage: attnbound-cert-bench [--quick] [--repeat N] [--threads K] [--dir DIR]\n";
      return 2;
    }
  }
  fs::create_directories(dir);
  const std::string d = dir.string() + "/";
  {
    std::ofstream(d + "tiny4.txt") << "0.5 -0.25\n-0.75 0.5\n0.25 0.875\n1.0 0.125\n";
    std::ofstream(d + "tiny3.txt") << "0.5 -0.25\n-0.75 0.5\n0.25 0.875\n";
  }
  const std::vector<Case> cases = {
      {"tiny point n=4", {}, {"certify", "--model", "builtin:tiny", "--point", d + "tiny4.txt"}},
      {"tiny-causal box n=3 eps=1e-3", {}, {"certify", "--model", "builtin:tiny-causal", "--center", d + "tiny3.txt", "--eps", "1e-3"}},
      {"tiny ball n=2 R=1", {}, {"certify", "--model", "builtin:tiny", "--radius", "1", "--n", "2", "--tol", "0.05", "--time-limit", "30"}},
      {"gpt2-init point n=4 (LB1, R=100)",
       {"witness", "--model", "builtin:gpt2-init", "--n", "4", "--radius", "100", "--out", d + "gpt2_n4.txt"},
       {"certify", "--model", "builtin:gpt2-init", "--point", d + "gpt2_n4.txt"},
       true},
  };

  std::printf("%-36s %12s %12s %8s  %s\n", "case", "certify [s]", "check [s]", "ratio", "verdict");
  bool all_ok = true;
  for (const Case& c : cases) {
    if (quick && c.heavy) continue;
    if (!c.setup.empty() && run_cli(c.setup) != 0) {
      std::printf("%-36s setup failed\n", c.name.c_str());
      all_ok = false;
      continue;
    }
    const std::string cert = d + "bench.cert.json";
    double best_engine = std::numeric_limits<double>::infinity(), best_check = best_engine;
    std::string verdict = "valid";
    for (int r = 0; r < repeat; ++r) {
      std::vector<std::string> args = c.certify;
      args.insert(args.end(), {"--cert", cert, "--threads", threads});
      const auto t0 = Clock::now();
      const int code = run_cli(args);
      best_engine = std::min(best_engine, seconds_since(t0));
      if (code != 0 && code != 3) {
        verdict = "certify failed";
        break;
      }
      attnbound::check::CheckOptions o;
      o.threads = std::atoi(threads.c_str());
      const auto t1 = Clock::now();
      const auto res = attnbound::check::check_file(cert, o);
      best_check = std::min(best_check, seconds_since(t1));
      if (res.verdict != attnbound::check::Verdict::valid) verdict = "NOT VALID: " + res.reason;
    }
    const double ratio = best_check / best_engine;
    const bool ok = verdict == "valid" && ratio <= 10.0;
    all_ok = all_ok && ok;
    std::printf("%-36s %12.4f %12.4f %8.2f  %s%s\n", c.name.c_str(), best_engine, best_check, ratio, verdict.c_str(),
                ok ? "" : "  <-- FAIL");
    std::fflush(stdout);
  }
  std::printf("%s\n", all_ok ? "all cases: check <= 10x certify" : "some case failed");
  return all_ok ? 0 : 1;
}
