// attnbound-check CERT.json [--model SPEC] [--threads K] [--precision BITS] [--json] [--quiet]
//
// Exit codes (DESIGN.md contract): 0 valid, 1 invalid (the reason on stderr, one line),
// 2 unreadable (the certificate or its model cannot be read; also bad usage).
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "checker.hpp"
#include "core/rounding.hpp"

namespace {

const char* kUsage =
    "usage: attnbound-check CERT.json [--model SPEC] [--threads K] [--precision BITS] [--json] [--quiet]\n"
    "  Re-derives every claim of an attnbound certificate with independent MPFR/MPFI arithmetic.\n"
    "  --model SPEC      load this model instead of the recorded spec (recorded load options still apply)\n"
    "  --threads K       worker threads for partition leaves (default: all cores)\n"
    "  --precision BITS  MPFI precision, at least 128 (default 128)\n"
    "  --json            one JSON object on stdout: verdict, reason, seconds, engine_seconds, notes\n"
    "  --quiet           no output on success\n"
    "Exit: 0 valid, 1 invalid (reason on stderr), 2 unreadable.\n";

int usage_error(const std::string& msg) {
  std::cerr << "attnbound-check: " << msg << "\n" << kUsage;
  return 2;
}

bool parse_long(const std::string& s, long& out) {
  char* end = nullptr;
  const long v = std::strtol(s.c_str(), &end, 10);
  if (s.empty() || *end != '\0') return false;
  out = v;
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace attnbound::check;
  std::vector<std::string> args(argv + 1, argv + argc);
  std::string cert;
  CheckOptions opt;
  bool json = false, quiet = false;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    auto value = [&]() -> const std::string* { return i + 1 < args.size() ? &args[++i] : nullptr; };
    if (a == "-h" || a == "--help") {
      std::cout << kUsage;
      return 0;
    } else if (a == "--model") {
      const std::string* v = value();
      if (!v) return usage_error("--model needs a SPEC");
      opt.model_override = *v;
    } else if (a == "--threads") {
      const std::string* v = value();
      long t = 0;
      if (!v || !parse_long(*v, t) || t < 0 || t > 4096) return usage_error("--threads needs a count >= 0");
      opt.threads = static_cast<int>(t);
    } else if (a == "--precision") {
      const std::string* v = value();
      long p = 0;
      if (!v || !parse_long(*v, p) || p < 128 || p > 65536) return usage_error("--precision needs 128..65536 bits");
      opt.precision = p;
    } else if (a == "--json") {
      json = true;
    } else if (a == "--quiet") {
      quiet = true;
    } else if (!a.empty() && a[0] == '-') {
      return usage_error("unknown option " + a);
    } else if (cert.empty()) {
      cert = a;
    } else {
      return usage_error("one certificate at a time (got " + cert + " and " + a + ")");
    }
  }
  if (cert.empty()) return usage_error("no certificate given");

  if (const char* bad = attnbound::rounding_canary(); bad[0] != '\0') {
    std::cerr << "attnbound-check: invalid: not verified: directed rounding does not work on this machine/build ("
              << bad << ")\n";
    return 1;
  }

  const CheckResult r = check_file(cert, opt);
  if (json) {
    nlohmann::json j = {{"certificate", cert},
                        {"verdict", r.verdict == Verdict::valid     ? "valid"
                                    : r.verdict == Verdict::invalid ? "invalid"
                                                                    : "unreadable"},
                        {"exit", exit_code(r.verdict)},
                        {"reason", r.reason},
                        {"seconds", r.seconds},
                        {"engine_seconds", std::isfinite(r.engine_seconds) ? nlohmann::json(r.engine_seconds) : nlohmann::json(nullptr)},
                        {"notes", r.notes}};
    std::cout << j.dump() << "\n";
  } else if (r.verdict == Verdict::valid && !quiet) {
    std::cout << "attnbound-check: valid: " << cert << "\n";
    for (const std::string& n : r.notes) std::cout << "  " << n << "\n";
    std::printf("  checked in %.3g s", r.seconds);
    if (std::isfinite(r.engine_seconds)) std::printf(" (the engine's bracket took %.3g s)", r.engine_seconds);
    std::printf("\n");
  }
  if (r.verdict == Verdict::invalid) std::cerr << "attnbound-check: invalid: " << r.reason << "\n";
  if (r.verdict == Verdict::unreadable) std::cerr << "attnbound-check: unreadable: " << r.reason << "\n";
  return exit_code(r.verdict);
}
