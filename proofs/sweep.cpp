// The √n → plateau sweep: certified lower bounds of Lip(f|B_R^n) at the THEORY.md witnesses across
// n, next to the statement curves U1, U1′ and MF (or MF-causal) and the float estimate.
//
// Lower bounds: unmasked layers use the exact cluster reduction (certify_clustered) at LB1 and
// LB-cluster witnesses — any n, 10⁶ included. Causal layers have no such reduction; their witnesses
// (LB1) are evaluated by interval forward + JVP, at O(n² d H), while the time budget allows: each n
// is attempted only if its predicted cost (the last cost scaled by (n/n_last)²) fits.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <sstream>

#include "bound/cluster.hpp"
#include "bound/analytic.hpp"
#include "proofs/theorems.hpp"
#include "proofs/witness_build.hpp"

namespace attnbound::proofs {

namespace {

double since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

void keep_best(SweepRow& row, double lower, double estimate, const std::string& witness) {
  if (!row.lower_done || lower > row.lower) {
    row.lower_done = true;
    row.lower = lower;
    row.estimate = estimate;
    row.witness = witness;
  }
}

}  // namespace

std::vector<long> log_grid(long n_min, long n_max, int points) {
  std::vector<long> ns;
  if (n_min < 1 || n_max < n_min) return ns;
  points = std::max(points, 2);
  const double a = std::log(static_cast<double>(n_min)), b = std::log(static_cast<double>(n_max));
  for (int i = 0; i < points; ++i) {
    const long n = std::lround(std::exp(a + (b - a) * i / (points - 1)));
    if (ns.empty() || n > ns.back()) ns.push_back(n);
  }
  if (ns.back() != n_max) ns.push_back(n_max);
  return ns;
}

SweepResult run_sweep(const AttentionLayer& layer, const std::string& model_name, const SweepOptions& opt,
                      const std::function<void(const SweepRow&)>& progress) {
  const auto t0 = std::chrono::steady_clock::now();
  SweepResult res;
  res.model = model_name;
  res.R = opt.R;
  res.causal = layer.mask == Mask::causal;
  res.mf_id = res.causal ? "MF-causal" : "MF";
  const ModelQuantities q = model_quantities(layer, opt.R);
  const Statement& u1 = *find_statement("U1");
  const Statement& u1s = *find_statement("U1-sharp");
  const Statement& mf = *find_statement(res.mf_id);

  std::vector<long> heads;
  for (long h = 0; h < layer.n_heads(); ++h)
    if (!opt.head || *opt.head == h) heads.push_back(h);
  const bool any_witness = [&] {
    for (long h : heads)
      if (!detail::head_witnesses(layer, h, opt.R, 2, false).empty()) return true;
    return false;
  }();
  if (!any_witness) res.note = "no LB1 witness (no selected head has one)";

  double last_cost = 0.0;
  long last_n = 0;
  bool stopped = false;
  for (long n : opt.ns) {
    const auto tn = std::chrono::steady_clock::now();
    SweepRow row;
    row.n = n;
    row.u1 = ball_value(u1, q, n);
    row.u1_sharp = ball_value(u1s, q, n);
    row.mf = ball_value(mf, q, n);
    if (n >= 2 && any_witness) {
      if (!res.causal) {
        for (long h : heads)
          for (const ClusteredWitness& cw : detail::head_witnesses(layer, h, opt.R, n, true)) {
            const Bracket b = certify_clustered(layer, cw.in);
            keep_best(row, b.lower.value(), b.estimate.value(), cw.name + " (cluster reduction)");
          }
      } else if (!stopped) {
        const double ratio = last_n > 0 ? static_cast<double>(n) / static_cast<double>(last_n) : 1.0;
        const double predicted = last_cost * ratio * ratio;
        if (opt.time_limit > 0 && since(t0) + predicted > opt.time_limit) {
          stopped = true;
          res.note = "masked layer: rigorous lower bounds stop at n = " + std::to_string(last_n) +
                     " (the next n would exceed the " + std::to_string(static_cast<int>(opt.time_limit)) +
                     " s budget: interval attention costs O(n² d H))";
        } else {
          for (long h : heads)
            for (const ClusteredWitness& cw : detail::head_witnesses(layer, h, opt.R, n, false)) {
              const Matrix X = cw.tokens(), v0 = cw.direction();
              const auto est = attnbound::approx::jacobian_norm(layer, X, opt.power_iterations, 1e-10, &v0);
              const double l =
                  std::max(evaluate_witness(layer, X, v0).value(), evaluate_witness(layer, X, est.right).value());
              keep_best(row, l, est.sigma.value(), cw.name + " (‖J(X)v‖/‖v‖ at the float top singular vector)");
            }
          last_cost = since(tn);
          last_n = n;
        }
      }
    }
    {
      // The analytic tier (certified, n-independent norms: cheap) and the balanced-pole family
      // (docs/ball.md §4): screened by a float estimate at min(n, 8) tokens, the best head rebuilt
      // at n and evaluated in interval arithmetic — within the masked budget, and up to n = 1024.
      const AnalyticBound an = analytic_upper(layer, BallProduct{n, layer.d, opt.R});
      row.analytic_upper = an.upper.value();
      row.analytic_statement = an.statement;
      if (n >= 2 && n <= 1024 && !(res.causal && stopped)) {
        const long np = std::min<long>(n, 8);
        const std::vector<Witness> small = attnbound::approx::balanced_witnesses(layer, np, opt.R);
        std::size_t best = 0;
        double best_sigma = -1;
        for (std::size_t k = 0; k < small.size(); ++k) {
          if (opt.head && small[k].name.find("(head " + std::to_string(*opt.head) + ")") == std::string::npos) continue;
          const double sg = attnbound::approx::jacobian_norm(layer, small[k].X, 20, 1e-6, &small[k].dir).sigma.value();
          if (sg > best_sigma) best_sigma = sg, best = k;
        }
        if (best_sigma >= 0) {
          const std::vector<Witness> full = attnbound::approx::balanced_witnesses(layer, n, opt.R);
          if (best < full.size() && full.size() == small.size()) {
            const Witness& w = full[best];
            double l = evaluate_witness(layer, w.X, w.dir).value();
            if (n * layer.d <= 6144) {
              const auto est = attnbound::approx::jacobian_norm(layer, w.X, 60, 1e-8, &w.dir);
              l = std::max(l, evaluate_witness(layer, w.X, est.right).value());
            }
            row.balanced_lower = l;
            row.balanced_witness = w.name;
          }
        }
      }
    }
    if (opt.ball_time > 0 && n * layer.d <= 96) {
      CertifyOptions co;
      co.analytic = false;  // cert_upper is the branch-and-bound's (the analytic bound has its column)
      co.tol = 1e-3;
      co.time_limit = opt.ball_time;
      const Bracket b = certify_ball(layer, BallProduct{n, layer.d, opt.R}, co);
      row.cert_upper = b.upper.value();
      if (b.witness) keep_best(row, b.lower.value(), b.estimate.value(), "certify_ball: " + b.witness->name);
    }
    row.seconds = since(tn);
    if (progress) progress(row);
    res.rows.push_back(std::move(row));
  }
  // Least squares through the origin: C = Σ L √n / Σ n over the fitted rows.
  double num = 0, den = 0;
  for (const SweepRow& r : res.rows)
    if (r.lower_done && r.n <= opt.fit_n_max && r.lower > 0) {
      num += r.lower * std::sqrt(static_cast<double>(r.n));
      den += static_cast<double>(r.n);
      ++res.fit_points;
    }
  if (den > 0) res.C = num / den;
  res.seconds = since(t0);
  return res;
}

namespace {

std::string cell(double v) {
  if (!std::isfinite(v)) return "";
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

double log10_of(const MpInterval& x) { return (log(x) / log(MpInterval(10))).mid_approx(); }

}  // namespace

std::string sweep_csv(const SweepResult& r) {
  std::ostringstream os;
  os << "# attnbound sweep: " << r.model << ", R = " << cell(r.R) << ", " << (r.causal ? "causal" : "unmasked") << "\n";
  os << "# lower: certified lower bound of Lip(f|B_R^n) (rigorous); estimate: float ||J(X)|| at that witness (no guarantee)\n";
  os << "# cert_upper: certified upper bound of Lip(f|B_R^n) where the branch-and-bound ran (else empty)\n";
  os << "# U1, U1_sharp, " << r.mf_id
     << ": upper ends of the enclosed statement values (claims under test, not certified bounds); empty beyond the double range\n";
  os << "# upper_curve = min(U1, " << r.mf_id << "); C_sqrt_n = C*sqrt(n) with C = " << cell(r.C)
     << " (least squares over " << r.fit_points << " rows)\n";
  if (!r.note.empty()) os << "# note: " << r.note << "\n";
  os << "# balanced_lower: certified lower bound at the balanced-pole witness (docs/ball.md; n <= 1024);"
        " analytic_upper: the analytic tier's certified upper bound, by analytic_statement\n";
  os << "n,lower,estimate,cert_upper,U1,U1_sharp," << r.mf_id << ",upper_curve,C_sqrt_n," << r.mf_id
     << "_log10,witness,seconds,balanced_lower,analytic_upper,analytic_statement\n";
  for (const SweepRow& row : r.rows) {
    const double u1 = row.u1.upper_up(), u1s = row.u1_sharp.upper_up(), mf = row.mf.upper_up();
    const double curve = std::min(u1, mf);
    os << row.n << "," << cell(row.lower_done ? row.lower : NAN) << "," << cell(row.lower_done ? row.estimate : NAN) << ","
       << cell(row.cert_upper) << "," << cell(u1) << "," << cell(u1s) << "," << cell(mf) << "," << cell(curve) << ","
       << cell(std::isfinite(r.C) ? r.C * std::sqrt(static_cast<double>(row.n)) : NAN) << "," << cell(log10_of(row.mf))
       << ",\"" << row.witness << "\"," << cell(row.seconds) << "," << cell(row.balanced_lower) << ","
       << cell(row.analytic_upper) << "," << row.analytic_statement << "\n";
  }
  return os.str();
}

}  // namespace attnbound::proofs
