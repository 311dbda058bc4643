// Brackets over the ball product B_R^n.
#include <chrono>
#include <cmath>

#include <algorithm>
#include <cstdio>

#include "bound/analytic.hpp"
#include "bound/bab.hpp"
#include "bound/bound.hpp"
#include "linalg/linalg.hpp"

namespace attnbound {

namespace {
double since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}
// The dense tier over one box needs the (nd)² interval Jacobian; beyond this it is not attempted.
constexpr long kDenseBoxLimit = 96;
}  // namespace

namespace {
// A witness's family and head, without the parameters that depend on n (LB-cluster's k).
std::string family_key(const std::string& name) { return name.substr(0, name.find(", k=")); }
// Candidate witnesses of every family (the screening below matches them across n by name).
std::vector<Witness> ball_candidates(const AttentionLayer& layer, long n, double R) {
  std::vector<Witness> c = approx::lb1_witnesses(layer, n, R);
  for (long h = 0; h < layer.n_heads(); ++h) c.push_back(approx::lb_cluster_witness(layer, n, R, h));
  for (Witness& w : approx::balanced_witnesses(layer, n, R)) c.push_back(std::move(w));
  return c;
}
// Candidates are screened at kProbeN tokens; the best kRefine families are rebuilt at n and
// evaluated (above kFullWitnessLimit = n·d with only a few Lanczos steps for the direction). The
// families' ranking is stable in n on the models measured (docs/ball.md §4).
constexpr long kFullWitnessLimit = 6144;
constexpr long kProbeN = 8;
// Up to this n·d every candidate is refined and evaluated at n (cheap at small width).
constexpr long kAllWitnessLimit = 1024;
constexpr std::size_t kRefine = 2;
// Above this n·d (n = 256 at d = 768) the direction is the family's own (no Lanczos at n) and the
// witness is evaluated once: each interval JVP is then tens of seconds.
constexpr long kHugeWitnessLimit = 196608;
}  // namespace

Bracket certify_ball(const AttentionLayer& layer, const BallProduct& ball, const CertifyOptions& opt) {
  const auto t0 = std::chrono::steady_clock::now();
  Bracket b;
  // Lower: every witness family (THEORY.md LB1, LB-cluster; docs/ball.md balanced-pole), evaluated
  // rigorously; the best one is then improved by ascent (small problems only: ascent
  // differentiates through the Dual<double> VJP).
  auto consider = [&](const Witness& w, const approx::JacobianNormEstimate& est) {
    // The certificate records the direction that gave the bound (the checker re-derives that one).
    const LowerBound l_own = evaluate_witness(layer, w.X, w.dir), l_top = evaluate_witness(layer, w.X, est.right);
    const bool top = l_top.value() >= l_own.value();
    const LowerBound l = top ? l_top : l_own;
    if (!b.witness || l.value() > b.lower.value()) {
      b.lower = l;
      b.witness = Witness{w.name, w.X, top ? est.right : w.dir};
      b.estimate = est.sigma;
    }
  };
  if (ball.n * ball.d <= kAllWitnessLimit) {
    // Small problems: every candidate refined and evaluated (as before the screening existed).
    for (const Witness& w : ball_candidates(layer, ball.n, ball.R)) {
      if (!ball.certainly_contains(w.X)) continue;
      consider(w, approx::jacobian_norm(layer, w.X, 200, 1e-12, &w.dir));
    }
  } else {
    // Screening: a float estimate of every candidate at min(n, kProbeN) tokens (cheap), then the
    // best kRefine families are rebuilt at n, refined (Lanczos) and evaluated rigorously.
    const long np = std::min(ball.n, kProbeN);
    const BallProduct probe{np, ball.d, ball.R};
    const std::vector<Witness> small = ball_candidates(layer, np, ball.R);
    std::vector<std::pair<double, std::size_t>> ranked;
    for (std::size_t k = 0; k < small.size(); ++k) {
      if (!probe.certainly_contains(small[k].X)) continue;
      ranked.push_back({approx::jacobian_norm(layer, small[k].X, 20, 1e-6, &small[k].dir).sigma.value(), k});
    }
    std::sort(ranked.begin(), ranked.end(), [](const auto& x, const auto& y) { return x.first > y.first; });
    const std::vector<Witness> full = np == ball.n ? small : ball_candidates(layer, ball.n, ball.R);
    const long nd = ball.n * ball.d;
    std::size_t refined = 0;
    for (std::size_t r = 0; r < ranked.size() && refined < (nd > kFullWitnessLimit ? 1 : kRefine); ++r) {
      // The same family at n (by name: a family may exist at one n and not at another).
      const std::string want = family_key(small[ranked[r].second].name);
      const auto it = std::find_if(full.begin(), full.end(), [&](const Witness& w) { return family_key(w.name) == want; });
      if (it == full.end() || !ball.certainly_contains(it->X)) continue;
      const std::size_t k = static_cast<std::size_t>(it - full.begin());
      ++refined;
      if (nd > kHugeWitnessLimit) {
        // One interval JVP costs ~1.5 min at n = 1024, d = 768: the family's own direction only.
        const LowerBound l = evaluate_witness(layer, full[k].X, full[k].dir);
        if (!b.witness || l.value() > b.lower.value()) {
          b.lower = l;
          b.witness = full[k];
          b.estimate = Estimate(l.value());
        }
        continue;
      }
      consider(full[k], nd > kFullWitnessLimit ? approx::jacobian_norm(layer, full[k].X, 6, 1e-4, &full[k].dir)
                                               : approx::jacobian_norm(layer, full[k].X, 200, 1e-12, &full[k].dir));
    }
  }
  if (b.witness && ball.n * ball.d <= kDenseBoxLimit) {
    Witness a = approx::ascend(layer, Region(ball), b.witness->X);
    if (ball.certainly_contains(a.X)) {
      const LowerBound l = evaluate_witness(layer, a.X, a.dir);
      if (l.value() > b.lower.value()) {
        b.lower = l;
        b.witness = Witness{b.witness->name + " + ascent", a.X, a.dir};
        b.estimate = approx::jacobian_norm(layer, a.X).sigma;
      }
    }
  }
  if (b.witness) b.lower_method = "witness: " + b.witness->name + ", ‖J(X)v‖/‖v‖ by interval JVP";

  // Upper: the analytic tier (any size), and branch-and-bound over boxes covering the ball (the
  // dense box tier on each leaf) where the size allows; the smaller proved bound is kept.
  const AnalyticBound an = opt.analytic ? analytic_upper(layer, ball) : AnalyticBound{};
  if (ball.n * ball.d <= kDenseBoxLimit) {
    const BabOptions bo = bab_options_for(opt, since(t0));
    const Estimate keep = b.estimate;
    b = branch_and_bound(layer, Region(ball), bo, &b);
    if (!std::isfinite(b.estimate.value())) b.estimate = keep;
  }
  if (an.upper.value() < b.upper.value()) {
    b.upper = an.upper;
    b.partition.clear();
    b.upper_evidence = UpperEvidence{"analytic", Matrix()};
    b.analytic_statement = an.statement;
    b.analytic = an.constants;
    std::string others;
    for (const auto& [id, val] : an.values) {
      char buf[64];
      std::snprintf(buf, sizeof buf, "%s %.6g", id.c_str(), val);
      others += (others.empty() ? "" : ", ") + std::string(buf);
    }
    b.upper_method = "analytic: statement " + an.statement + " (docs/ball.md) on verified per-head norms; " +
                     "applicable statements: " + others;
  }
  b.budget_exhausted = !b.meets(opt.tol);
  b.seconds = since(t0);
  return b;
}

}  // namespace attnbound
