// Brackets over the ball product B_R^n.
#include <chrono>
#include <cmath>

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

Bracket certify_ball(const AttentionLayer& layer, const BallProduct& ball, const CertifyOptions& opt) {
  const auto t0 = std::chrono::steady_clock::now();
  Bracket b;
  // Lower: every THEORY.md witness, evaluated rigorously; the best one is then improved by ascent
  // (small problems only: ascent differentiates through the Dual<double> VJP).
  std::vector<Witness> cands = approx::lb1_witnesses(layer, ball.n, ball.R);
  for (long h = 0; h < layer.n_heads(); ++h) cands.push_back(approx::lb_cluster_witness(layer, ball.n, ball.R, h));
  for (const Witness& w : cands) {
    if (!ball.certainly_contains(w.X)) continue;
    const auto est = approx::jacobian_norm(layer, w.X, 200, 1e-12, &w.dir);
    const LowerBound l = std::max(evaluate_witness(layer, w.X, w.dir), evaluate_witness(layer, w.X, est.right),
                                  [](const LowerBound& x, const LowerBound& y) { return x.value() < y.value(); });
    if (!b.witness || l.value() > b.lower.value()) {
      b.lower = l;
      b.witness = Witness{w.name, w.X, est.right};
      b.estimate = est.sigma;
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

  // Upper: branch-and-bound over boxes covering the ball (the dense box tier on each leaf).
  if (ball.n * ball.d <= kDenseBoxLimit) {
    const BabOptions bo = bab_options_for(opt, since(t0));
    const Estimate keep = b.estimate;
    b = branch_and_bound(layer, Region(ball), bo, &b);
    if (!std::isfinite(b.estimate.value())) b.estimate = keep;
  } else {
    b.upper_method = "none: n·d = " + std::to_string(ball.n * ball.d) +
                     " is beyond the dense box tier; no rigorous upper bound attempted";
  }
  b.budget_exhausted = !b.meets(opt.tol);
  b.seconds = since(t0);
  return b;
}

}  // namespace attnbound
