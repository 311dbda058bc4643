// `attnbound sweep`: certified lower bounds, statement curves and the float estimate across n,
// written as CSV and plotted by gnuplot. Without gnuplot the CSV is still written and the command
// succeeds (exit 0) with a message on stderr: the CSV is the result, the plot a rendering of it.
#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <ostream>

#include "cli/cli.hpp"
#include "cli/commands.hpp"
#include "proofs/theorems.hpp"

namespace attnbound::cli {

namespace {
nlohmann::json finite_or_null(double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr); }
}  // namespace

int run_sweep(const SweepArgs& a, std::ostream& out, std::ostream& err) {
  if (!a.radius && !a.layernorm) throw InputError("sweep: give --radius R or --layernorm");
  if (a.radius && !(*a.radius > 0 && std::isfinite(*a.radius))) throw InputError("--radius must be a positive finite number");
  if (a.n_min < 2) throw InputError("--n-min must be >= 2 (the witnesses need two tokens)");
  if (a.n_max < a.n_min) throw InputError("--n-max must be >= --n-min");
  if (a.n_max > 1'000'000'000) throw InputError("--n-max must be <= 10^9");
  if (a.points < 2) throw InputError("--points must be >= 2");
  if (a.step < 0) throw InputError("--step must be >= 0");
  if (a.time_limit < 0 || a.ball_time < 0) throw InputError("--time-limit and --ball-time must be >= 0");
  if (a.format != "png" && a.format != "svg") throw InputError("--format must be png or svg (got '" + a.format + "')");
  if (a.out.empty()) throw InputError("--out must not be empty");

  const AttentionLayer layer = a.model.load(a.layernorm);
  if (a.head && (*a.head < 0 || *a.head >= layer.n_heads()))
    throw InputError("--head " + std::to_string(*a.head) + " is out of range (model has " +
                     std::to_string(layer.n_heads()) + " heads)");
  proofs::SweepOptions opt;
  opt.R = a.layernorm ? layernorm_radius(layer.norm).value() : *a.radius;
  if (a.step > 0)
    for (long n = a.n_min; n <= a.n_max; n += a.step) opt.ns.push_back(n);
  else
    opt.ns = proofs::log_grid(a.n_min, a.n_max, a.points);
  opt.head = a.head;
  opt.time_limit = a.time_limit;
  opt.ball_time = a.ball_time;
  opt.fit_n_max = a.fit_n_max;
  std::string name = a.model.spec;
  if (a.head) name += " (witnesses from head " + std::to_string(*a.head) + ")";

  require_writable_path(a.out + ".csv");  // before the work, not after it
  const auto progress = [&](const proofs::SweepRow& r) {
    if (a.json) return;
    char buf[240];
    std::snprintf(buf, sizeof buf, "  n = %-9ld lower %-14.8g estimate %-14.8g balanced %-12.6g analytic upper %-12.6g (%.2f s)\n",
                  r.n, r.lower_done ? r.lower : NAN, r.lower_done ? r.estimate : NAN, r.balanced_lower,
                  r.analytic_upper, r.seconds);
    out << buf << std::flush;
  };
  if (!a.json) out << "attnbound sweep — " << name << ", R = " << opt.R << ", " << opt.ns.size() << " values of n\n";
  const proofs::SweepResult res = proofs::run_sweep(layer, name, opt, progress);

  const std::string csv = a.out + ".csv", script = a.out + ".gp", plot = a.out + "." + a.format;
  write_file_atomic(csv, proofs::sweep_csv(res));
  std::string plot_status = "skipped (--no-plot)";
  if (!a.no_plot) {
    const std::string why = proofs::run_gnuplot(proofs::gnuplot_script(res, csv, plot), script);
    plot_status = why.empty() ? plot : "skipped: " + why;
    if (!why.empty()) err << "attnbound: plot " << plot_status << " (the CSV " << csv << " is complete)\n";
  }
  if (a.json) {
    nlohmann::json rows = nlohmann::json::array();
    for (const auto& r : res.rows)
      rows.push_back({{"n", r.n},
                      {"lower", r.lower_done ? nlohmann::json(r.lower) : nlohmann::json(nullptr)},
                      {"estimate", r.lower_done ? finite_or_null(r.estimate) : nlohmann::json(nullptr)},
                      {"cert_upper", finite_or_null(r.cert_upper)},
                      {"U1", finite_or_null(r.u1.upper_up())},
                      {"U1_sharp", finite_or_null(r.u1_sharp.upper_up())},
                      {res.mf_id, finite_or_null(r.mf.upper_up())},
                      {"witness", r.witness},
                      {"balanced_lower", finite_or_null(r.balanced_lower)},
                      {"balanced_witness", r.balanced_witness},
                      {"analytic_upper", finite_or_null(r.analytic_upper)},
                      {"analytic_statement", r.analytic_statement}});
    out << nlohmann::json{{"model", name},     {"radius", opt.R},        {"causal", res.causal},
                          {"C", finite_or_null(res.C)}, {"fit_points", res.fit_points}, {"csv", csv},
                          {"plot", plot_status == plot ? nlohmann::json(plot) : nlohmann::json(nullptr)},
                          {"note", res.note}, {"rows", rows},     {"seconds", res.seconds}}
               .dump()
        << "\n";
    return kExitOk;
  }
  char c[64];
  std::snprintf(c, sizeof c, "%.4f", res.C);
  out << "fit: lower ≈ C √n with C = " << c << " (least squares over " << res.fit_points << " values of n ≤ "
      << a.fit_n_max << ")\n";
  if (!res.note.empty()) out << "note: " << res.note << "\n";
  out << "csv:  " << csv << "\nplot: " << plot_status << "\n";
  return kExitOk;
}

}  // namespace attnbound::cli
