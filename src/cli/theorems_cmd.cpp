// `attnbound theorems`: every THEORY.md statement on B_R^n — its enclosed value, the certified
// bracket it is compared with, the verdict, and the witness behind each refutation.
#include <cmath>
#include <cstdio>
#include <iomanip>
#include <nlohmann/json.hpp>
#include <ostream>
#include <sstream>

#include "cli/cli.hpp"
#include "cli/commands.hpp"
#include "linalg/linalg.hpp"
#include "proofs/theorems.hpp"

namespace attnbound::cli {

namespace {

using proofs::Kind;
using proofs::StatementResult;
using proofs::Verdict;

nlohmann::json number_or_inf(double v) {
  if (std::isnan(v)) return nullptr;
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  return v;
}

double log10_of(const MpInterval& x) { return (log(x) / log(MpInterval(10))).mid_approx(); }

// The conservative end: the upper end for an upper-type claim, the lower end for a lower-type one.
double value_of(const StatementResult& r) {
  return r.statement->kind == Kind::upper ? r.value->upper_up() : r.value->lower_down();
}

// S / B for the display, through logarithms (S may be beyond the double range). NaN if B <= 0.
double ratio(const MpInterval& S, double B) {
  if (!(B > 0) || std::isinf(B)) return NAN;
  return std::pow(10.0, log10_of(S) - std::log10(B));
}

std::string short_num(double v) {
  if (std::isnan(v)) return "—";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  char buf[48];
  if (v != 0 && (std::fabs(v) >= 1e7 || std::fabs(v) < 1e-4)) std::snprintf(buf, sizeof buf, "%.4e", v);
  else std::snprintf(buf, sizeof buf, "%.6g", v);
  return buf;
}

std::string value_text(const StatementResult& r) {
  if (!r.value) return "—";
  const double v = value_of(r);
  if (std::isfinite(v) && v < 1e300) return short_num(v);
  char buf[48];
  std::snprintf(buf, sizeof buf, "≈ 10^%.3f", log10_of(*r.value));
  return buf;
}

nlohmann::json witness_json(const proofs::ClusteredWitness& w) {
  nlohmann::json cl = nlohmann::json::array();
  for (Eigen::Index c = 0; c < w.in.Y.rows(); ++c) {
    std::vector<double> pos(w.in.Y.cols()), dir(w.dir.cols());
    for (Eigen::Index a = 0; a < w.in.Y.cols(); ++a) pos[a] = w.in.Y(c, a);
    for (Eigen::Index a = 0; a < w.dir.cols(); ++a) dir[a] = w.dir(c, a);
    cl.push_back({{"position", pos}, {"count", w.in.m[c]}, {"direction", dir}});
  }
  return {{"name", w.name},
          {"n", w.n()},
          {"note", "tokens are listed cluster by cluster; every number is the exact double that was evaluated"},
          {"clusters", cl}};
}

nlohmann::json statement_json(const StatementResult& r) {
  const proofs::Statement& s = *r.statement;
  nlohmann::json j{{"id", s.id},
                   {"kind", proofs::to_string(s.kind)},
                   {"category", proofs::to_string(s.category)},
                   {"origin", s.origin},
                   {"text", s.text},
                   {"hypotheses", s.hyp.describe()},
                   {"pointwise", s.pointwise},
                   {"verdict", proofs::to_string(r.verdict)},
                   {"reason", r.reason}};
  if (r.value) {
    j["value"] = number_or_inf(value_of(r));
    j["enclosure"] = {number_or_inf(r.value->lower_down()), number_or_inf(r.value->upper_up())};
    j["value_log10"] = log10_of(*r.value);
    j["compared_with"] = {{"lower", number_or_inf(r.cmp_lower)}, {"upper", number_or_inf(r.cmp_upper)}, {"what", r.cmp_what}};
    j["ratio"] = {{"statement_over_certified_lower", number_or_inf(ratio(*r.value, r.cmp_lower))},
                  {"statement_over_certified_upper", number_or_inf(ratio(*r.value, r.cmp_upper))}};
  } else {
    j["value"] = nullptr;
  }
  if (!r.parameters.empty()) j["parameters"] = r.parameters;
  if (r.witness) j["witness"] = witness_json(*r.witness);
  if (r.witness_ratio && r.witness_ratio->evaluated)
    j["witness_ratio"] = {{"lower", r.witness_ratio->lo}, {"upper", number_or_inf(r.witness_ratio->hi)},
                          {"method", r.witness_ratio->method}};
  j["expected_if_refuted"] = r.expected_refutation();
  return j;
}

// Left-aligned in a column of `width` characters (UTF-8 aware: counts code points, not bytes).
std::string pad(const std::string& s, std::size_t width) {
  std::size_t chars = 0;
  for (unsigned char c : s) chars += (c & 0xC0) != 0x80;
  return s + std::string(chars < width ? width - chars : 1, ' ');
}

std::string interval_text(const MpInterval& x) {
  return "[" + short_num(x.lower_down()) + ", " + short_num(x.upper_up()) + "]";
}

void print_witness(const proofs::ClusteredWitness& w, std::ostream& out) {
  out << "      witness: " << w.name << " (n = " << w.n() << ")\n";
  const long C = w.in.Y.rows(), d = w.in.Y.cols();
  if (C * d > 64) {
    out << "      (" << C << " distinct token(s) of dimension " << d << ": use --json for every number)\n";
    return;
  }
  for (long c = 0; c < C; ++c) {
    out << "      x = [";
    for (long a = 0; a < d; ++a) out << (a ? ", " : "") << std::setprecision(17) << w.in.Y(c, a);
    out << "]  ×" << w.in.m[c] << "   v = [";
    for (long a = 0; a < d; ++a) out << (a ? ", " : "") << std::setprecision(17) << w.dir(c, a);
    out << "]\n";
  }
}

}  // namespace

int run_theorems(const TheoremsArgs& a, std::ostream& out, std::ostream& err) {
  if (!a.n || *a.n < 1) throw InputError("--n must be >= 1");
  if (!a.radius && !a.layernorm) throw InputError("theorems: give --radius R or --layernorm");
  if (a.radius && !(*a.radius > 0 && std::isfinite(*a.radius)))
    throw InputError("--radius must be a positive finite number");
  if (!(a.tol > 0)) throw InputError("--tol must be > 0");
  if (a.time_limit < 0 || !std::isfinite(a.time_limit)) throw InputError("--time-limit must be >= 0");
  if (a.search_seconds < 0 || !std::isfinite(a.search_seconds)) throw InputError("--search-seconds must be >= 0");
  if (a.threads < 0) throw InputError("--threads must be >= 0");

  const AttentionLayer layer = a.model.load(a.layernorm);
  const double R = a.layernorm ? layernorm_radius(layer.norm).value() : *a.radius;
  LinalgThreads threads(resolve_threads(a.threads));
  proofs::TheoremOptions opt;
  opt.bracket.tol = a.tol;
  opt.bracket.time_limit = a.time_limit;
  opt.bracket.threads = resolve_threads(a.threads);
  opt.ulocal_search_seconds = a.search_seconds;
  opt.seed = a.search_seed;
  const long n = *a.n;
  const proofs::InstanceReport rep = proofs::evaluate_theorems(layer, n, R, opt);
  const Bracket& b = rep.bracket.bracket;
  const auto unexpected = rep.unexpected_refutations();
  const std::string radius_source =
      a.layernorm ? "layernorm: ‖γ‖_∞√d + ‖β‖₂ rounded up (THEORY.md §3)" : "--radius";

  if (a.json) {
    nlohmann::json j;
    j["model"] = {{"spec", a.model.spec}, {"sha256", model_digest(layer)}, {"d", layer.d},
                  {"heads", layer.n_heads()}, {"mask", to_string(layer.mask)}};
    j["n"] = n;
    j["radius"] = R;
    j["radius_source"] = radius_source;
    j["augmented"] = rep.quantities.augmented;
    nlohmann::json norms = nlohmann::json::array();
    for (std::size_t h = 0; h < rep.quantities.heads.size(); ++h) {
      const auto& hn = rep.quantities.heads[h];
      norms.push_back({{"head", h},
                       {"A", {hn.a.lower_down(), hn.a.upper_up()}},
                       {"V", {hn.v.lower_down(), hn.v.upper_up()}}});
    }
    j["norms"] = norms;
    j["bracket"] = {{"lower", b.lower.value()},
                    {"upper", number_or_inf(b.upper.value())},
                    {"estimate", number_or_inf(b.estimate.value())},
                    {"lower_method", b.lower_method},
                    {"upper_method", b.upper_method},
                    {"causal_prefix_n", rep.bracket.prefix_n > 0 ? nlohmann::json(rep.bracket.prefix_n) : nlohmann::json(nullptr)}};
    nlohmann::json st = nlohmann::json::array();
    for (const auto& r : rep.statements) st.push_back(statement_json(r));
    j["statements"] = st;
    j["unexpected_refutations"] = unexpected;
    j["seconds"] = rep.seconds;
    out << j.dump() << "\n";
    return unexpected.empty() ? kExitOk : kExitInvalid;
  }

  out << "attnbound theorems — " << a.model.spec << " (sha256 " << model_digest(layer).substr(0, 12) << "…)\n";
  out << "  instance   B_R^n with R = " << std::setprecision(17) << R << (a.layernorm ? " (from the LayerNorm)" : "")
      << ", n = " << n << "; d = " << layer.d << ", " << layer.n_heads() << " head(s), mask "
      << to_string(layer.mask) << (rep.quantities.augmented ? ", query/key biases (augmented form, radius √(R²+1))" : "")
      << "\n";
  out << "  bracket    " << std::setprecision(12) << b.lower.value() << " ≤ Lip(f|B_R^n) ≤ "
      << (b.upper.is_finite() ? short_num(b.upper.value()) : std::string("inf")) << "   (certified)\n";
  out << "             lower: " << b.lower_method << "\n";
  out << "             upper: " << b.upper_method << "\n";
  out << "  norms      verified enclosures:";
  const std::size_t H = rep.quantities.heads.size();
  for (std::size_t h = 0; h < H && h < 4; ++h)
    out << (h ? ";" : "") << " head " << h << " ‖A‖ ∈ " << interval_text(rep.quantities.heads[h].a) << ", ‖V‖ ∈ "
        << interval_text(rep.quantities.heads[h].v);
  if (H > 4) out << "; … (" << H << " heads, --json for all)";
  out << "\n\n";
  out << "  " << pad("statement", 14) << pad("kind", 7) << pad("category", 12) << pad("value", 18) << pad("S/lower", 11)
      << pad("S/upper", 11) << "verdict\n";
  for (const auto& r : rep.statements) {
    std::string verdict = proofs::to_string(r.verdict);
    if (r.verdict == Verdict::refuted && r.expected_refutation())
      verdict += r.statement->category == proofs::Category::canary ? " (canary: expected)" : " (conjecture: a finding)";
    const std::string rl = r.value ? short_num(ratio(*r.value, r.cmp_lower)) : "—";
    const std::string ru = r.value ? short_num(ratio(*r.value, r.cmp_upper)) : "—";
    out << "  " << pad(r.statement->id, 14) << pad(proofs::to_string(r.statement->kind), 7)
        << pad(proofs::to_string(r.statement->category), 12) << pad(value_text(r), 18) << pad(rl, 11) << pad(ru, 11)
        << verdict << "\n";
  }
  out << "\n  S/lower, S/upper: statement value over the certified lower/upper bound it is compared with\n";
  out << "  (for lower-type statements and U-local: the proved value at their own witness / point).\n\n";
  out << "  why:\n";
  for (const auto& r : rep.statements) out << "    " << pad(r.statement->id, 13) << r.reason << "\n";
  bool any_refuted = false;
  for (const auto& r : rep.statements) {
    if (r.verdict != Verdict::refuted) continue;
    if (!any_refuted) out << "\n  refuted statements and their witnesses:\n";
    any_refuted = true;
    out << "    " << r.statement->id << (r.expected_refutation() ? " (expected: " + std::string(proofs::to_string(r.statement->category)) + ")" : " (UNEXPECTED: a theorem)") << "\n";
    if (r.witness) print_witness(*r.witness, out);
  }
  if (!unexpected.empty()) {
    err << "attnbound: theorem(s) refuted on this instance:";
    for (const auto& id : unexpected) err << " " << id;
    err << " — this is a bug in an evaluator or the engine, or a false theorem\n";
  }
  out << "\n  time " << std::setprecision(3) << rep.seconds << " s\n";
  return unexpected.empty() ? kExitOk : kExitInvalid;
}

}  // namespace attnbound::cli
