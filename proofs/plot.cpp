// The sweep plot, drawn by gnuplot (Debian gnuplot-nox; scripts/install-deps.sh installs it) from
// the sweep CSV. The script is written next to the plot so the figure can be redrawn or restyled
// without rerunning the sweep.
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "proofs/theorems.hpp"

namespace attnbound::proofs {

namespace {

std::string quoted(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += (c == '\'') ? std::string("''") : std::string(1, c);
  return q + "'";
}

std::string shell_quoted(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += (c == '\'') ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

std::string fmt(const char* f, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, f, v);
  return buf;
}

}  // namespace

std::string gnuplot_script(const SweepResult& r, const std::string& csv_path, const std::string& plot_path) {
  const bool svg = plot_path.size() >= 4 && plot_path.substr(plot_path.size() - 4) == ".svg";
  long n_min = 0, n_max = 0;
  bool any_upper = false, mf_in_range = false;
  double mf_log10 = NAN;
  for (const SweepRow& row : r.rows) {
    if (n_min == 0) n_min = row.n;
    n_max = row.n;
    any_upper = any_upper || std::isfinite(row.cert_upper);
    mf_log10 = (log(row.mf) / log(MpInterval(10))).mid_approx();
  }
  // The chart's top: a decade above the upper curve min(U1, MF). A statement far above it (MF is
  // e^{2aR²}-large for moderate aR²) would squash every other curve into the bottom strip.
  double top = 0.0;
  for (const SweepRow& row : r.rows) {
    const double u1 = row.u1.upper_up(), mf = row.mf.upper_up();
    const double m = std::fmin(std::isfinite(u1) ? u1 : INFINITY, std::isfinite(mf) ? mf : INFINITY);
    if (std::isfinite(m)) top = std::fmax(top, m);
  }
  const double y_max = top > 0 ? 10.0 * top : INFINITY;
  for (const SweepRow& row : r.rows) {
    const double mf = row.mf.upper_up();
    mf_in_range = mf_in_range || (std::isfinite(mf) && mf <= y_max);
  }
  const bool log_x = n_min > 0 && n_max / std::max<long>(1, n_min) >= 100;
  std::ostringstream g;
  g << "# gnuplot script written by `attnbound sweep` (plots " << csv_path << ")\n";
  if (svg) g << "set terminal svg size 1000,650 dynamic enhanced font 'DejaVu Sans,12'\n";
  else g << "set terminal pngcairo size 1000,650 enhanced font 'DejaVu Sans,11'\n";
  g << "set output " << quoted(plot_path) << "\n";
  g << "set datafile separator ','\n";
  g << "set datafile columnheaders\n";
  g << "set datafile missing ''\n";
  g << "set logscale y\n";
  if (std::isfinite(y_max)) g << "set yrange [*:" << fmt("%.6g", y_max) << "]\n";
  if (log_x) g << "set logscale x\n";
  g << "set format y '10^{%L}'\n";
  if (log_x) g << "set format x '10^{%L}'\n";
  g << "set xlabel 'n (tokens)'\n";
  g << "set ylabel 'Lipschitz constant of attention on B_R^n'\n";
  g << "set grid xtics ytics mxtics mytics lc rgb '#dddddd'\n";
  g << "set key top left box opaque font ',10'\n";
  g << "set title " << quoted(r.model + ",  R = " + fmt("%g", r.R) + (r.causal ? ",  causal" : ",  unmasked")) << "\n";
  if (!mf_in_range && std::isfinite(mf_log10))
    g << "set label 1 " << quoted(r.mf_id + " ≈ 10^{" + fmt("%.0f", mf_log10) + "} (off the chart)")
      << " at graph 0.98, graph 0.04 right font ',10'\n";
  const std::string f = quoted(csv_path);
  g << "plot " << f << " using 1:2 with linespoints lw 2 pt 7 ps 0.8 lc rgb '#1f4e99' title 'certified lower bound', \\\n";
  g << "     " << f << " using 1:13 with linespoints lw 2 pt 5 ps 0.7 lc rgb '#17becf' title 'certified lower bound, balanced-pole witness', \\\n";
  g << "     " << f << " using 1:14 with lines lw 2.5 dt 1 lc rgb '#8c564b' title 'certified upper bound, analytic tier', \\\n";
  g << "     " << f << " using 1:3 with lines lw 1.5 dt 2 lc rgb '#2ca02c' title 'float estimate ‖J(X)‖ at the witness', \\\n";
  g << "     " << f << " using 1:8 with lines lw 2.5 lc rgb '#c0392b' title 'min(U1, " << r.mf_id << ")  (statement values)', \\\n";
  g << "     " << f << " using 1:5 with lines lw 1 dt 3 lc rgb '#e67e22' title 'U1', \\\n";
  if (mf_in_range) g << "     " << f << " using 1:7 with lines lw 1 dt 4 lc rgb '#8e44ad' title '" << r.mf_id << "', \\\n";
  if (any_upper)
    g << "     " << f << " using 1:4 with points pt 9 ps 1.2 lc rgb '#000000' title 'certified upper bound (branch-and-bound)', \\\n";
  g << "     " << f << " using 1:9 with lines lw 1.5 dt 5 lc rgb '#7f7f7f' title "
    << quoted(std::isfinite(r.C) ? "C √n,  C = " + fmt("%.3f", r.C) : "C √n") << "\n";
  return g.str();
}

std::string run_gnuplot(const std::string& script, const std::string& script_path) {
  {
    std::ofstream o(script_path, std::ios::trunc);
    o << script;
    if (!o) return "cannot write " + script_path;
  }
  if (std::system("command -v gnuplot >/dev/null 2>&1") != 0)
    return "gnuplot not found (Debian: apt-get install gnuplot-nox, or scripts/install-deps.sh)";
  const std::string cmd = "gnuplot " + shell_quoted(script_path) + " 2>&1";
  FILE* p = ::popen(cmd.c_str(), "r");
  if (!p) return "cannot run gnuplot";
  std::string out;
  char buf[256];
  while (std::fgets(buf, sizeof buf, p)) out += buf;
  const int rc = ::pclose(p);
  if (rc != 0) return "gnuplot failed: " + out;
  return "";
}

}  // namespace attnbound::proofs
