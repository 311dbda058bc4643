#include "cli/report.hpp"

#include <cmath>
#include <cstdio>
#include <ostream>

namespace attnbound::cli {

namespace {
std::string exact(double v) {
  // Shortest decimal that reads back as the same double (what nlohmann writes, too).
  char buf[64];
  for (int p = 1; p <= 17; ++p) {
    std::snprintf(buf, sizeof buf, "%.*g", p, v);
    if (std::strtod(buf, nullptr) == v) break;
  }
  return buf;
}
}  // namespace

nlohmann::json report_json(const Report& r) {
  const Bracket& b = *r.bracket;
  nlohmann::json j;
  j["lower"] = b.lower.value();
  j["upper"] = b.upper.is_finite() ? nlohmann::json(b.upper.value()) : nlohmann::json("inf");
  j["estimate"] = std::isfinite(b.estimate.value()) ? nlohmann::json(b.estimate.value()) : nlohmann::json(nullptr);
  j["estimate_note"] = "floating-point estimate, no guarantee";
  j["status"] = r.status;
  j["certificate"] = r.certificate.empty() ? nlohmann::json(nullptr) : nlohmann::json(r.certificate);
  j["gap"] = std::isfinite(b.gap()) ? nlohmann::json(b.gap()) : nlohmann::json(nullptr);
  j["tol"] = r.tol;
  j["lower_method"] = b.lower_method;
  j["upper_method"] = b.upper_method;
  // Ball regions: which proved statement gave the upper bound (docs/ball.md), or null.
  j["upper_statement"] = b.upper_evidence.tier == "analytic" ? nlohmann::json(b.analytic_statement) : nlohmann::json(nullptr);
  j["seconds"] = b.seconds;
  j["model"] = {{"spec", r.model}, {"sha256", r.digest}};
  j["region"] = r.region;
  if (r.self_check) {
    j["certificate_check"] = {{"verdict", r.self_check->valid ? "valid" : "invalid"},
                              {"seconds", r.self_check->seconds}};
    if (!r.self_check->valid) j["certificate_check"]["reason"] = r.self_check->reason;
  }
  return j;
}

void print_report(const Report& r, std::ostream& out) {
  const Bracket& b = *r.bracket;
  out << "attnbound " << r.command << " — " << r.model << " (sha256 " << r.digest.substr(0, 12)
      << "…), " << r.region << "\n";
  out << "  lower     " << exact(b.lower.value()) << "   proved: " << b.lower_method << "\n";
  out << "  upper     " << (b.upper.is_finite() ? exact(b.upper.value()) : std::string("inf"))
      << "   proved: " << b.upper_method << "\n";
  char g[32];
  if (std::isfinite(b.gap())) std::snprintf(g, sizeof g, "%.3g", b.gap());
  else std::snprintf(g, sizeof g, "inf");
  out << "  gap       " << g << "   (upper/lower − 1; tol " << r.tol << ")\n";
  out << "  estimate  " << exact(b.estimate.value()) << "   float estimate, no guarantee\n";
  char t[32];
  std::snprintf(t, sizeof t, "%.3g s", b.seconds);
  out << "  time      " << t << "\n";
  out << "  status    " << r.status << (r.status == "ok" ? " (gap ≤ tol)" : " (tolerance not reached; bracket valid)")
      << "\n";
  if (!r.certificate.empty()) {
    char c[32];
    std::snprintf(c, sizeof c, "%.3g s", r.self_check ? r.self_check->seconds : 0.0);
    out << "  certificate  " << r.certificate << "   (re-derived by the independent checker before writing, " << c
        << "; check again: attnbound-check " << r.certificate << ")\n";
  } else if (r.self_check && !r.self_check->valid) {
    out << "  certificate  not written: the independent checker rejected it (" << r.self_check->reason << ")\n";
  }
}

}  // namespace attnbound::cli
