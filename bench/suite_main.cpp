// attnbound-suite: runs the exact-constant suite (proofs/suite/*.json) through branch-and-bound and
// prints a table: certified bracket, boxes, time. Exit 0 if every selected instance reached the
// tolerance, 3 otherwise (a valid bracket is still printed), 2 on bad input.
//
//   attnbound-suite proofs/suite/exact_constants.json [--filter REGEX] [--tol 0.01]
//                   [--time-limit 600] [--threads 2] [--json OUT]
#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <regex>

#include "bound/bab.hpp"
#include "model/model.hpp"

using namespace attnbound;

int main(int argc, char** argv) {
  CLI::App app{"attnbound-suite — the exact-constant suite"};
  std::string file, filter = ".*", out;
  double tol = 0.01, time_limit = 600;
  int threads = 2;
  app.add_option("suite", file, "Suite JSON (proofs/suite/exact_constants.json)")->required();
  app.add_option("--filter", filter, "Only instances whose id matches this regex");
  app.add_option("--tol", tol, "Relative gap to reach (default 0.01)");
  app.add_option("--time-limit", time_limit, "Seconds per instance (default 600)");
  app.add_option("--threads", threads, "Threads per instance (default 2)");
  app.add_option("--json", out, "Write the results as JSON");
  CLI11_PARSE(app, argc, argv);
  if (const char* bad = rounding_canary(); bad[0]) {
    std::cerr << "attnbound-suite: rounding canary failed: " << bad << "\n";
    return 4;
  }
  nlohmann::json suite;
  try {
    std::ifstream in(file);
    if (!in) throw std::runtime_error("cannot open");
    suite = nlohmann::json::parse(in);
  } catch (const std::exception& e) {
    std::cerr << "attnbound-suite: " << file << ": " << e.what() << "\n";
    return 2;
  }
  const std::regex re(filter);
  nlohmann::json results = nlohmann::json::array();
  bool all_ok = true;
  std::printf("| instance | lower | upper | gap | boxes | leaves | time (s) | status |\n");
  std::printf("|---|---|---|---|---|---|---|---|\n");
  for (const auto& inst : suite.at("instances")) {
    const std::string id = inst.at("id");
    if (!std::regex_search(id, re)) continue;
    AttentionLayer L;
    try {
      L = model_from_json(inst.at("model").dump(), id);
    } catch (const ModelError& e) {
      std::cerr << "attnbound-suite: " << e.what() << "\n";
      return 2;
    }
    const BallProduct ball{inst.at("n").get<long>(), L.d, inst.at("R").get<double>()};
    CertifyOptions co;
    co.tol = tol;
    co.time_limit = time_limit;
    co.threads = threads;
    BabStats st;
    const auto t0 = std::chrono::steady_clock::now();
    Bracket b = certify_ball(L, ball, co);
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const bool ok = b.meets(tol);
    all_ok = all_ok && ok;
    std::size_t boxes = 0;
    for (const auto& l : b.partition) boxes += (l.tier.rfind("box-centred", 0) == 0);
    std::printf("| %s | %.10g | %.10g | %.2e | %zu | %zu | %.1f | %s |\n", id.c_str(), b.lower.value(),
                b.upper.value(), b.gap(), boxes, b.partition.size(), secs, ok ? "ok" : "budget");
    std::fflush(stdout);
    results.push_back({{"id", id}, {"lower", b.lower.value()}, {"upper", b.upper.value()}, {"gap", b.gap()},
                       {"leaves", b.partition.size()}, {"seconds", secs}, {"status", ok ? "ok" : "budget"}});
  }
  if (!out.empty()) std::ofstream(out) << results.dump(1) << "\n";
  return all_ok ? 0 : 3;
}
