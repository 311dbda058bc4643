// The engine's certified bracket of Lip(f|B_R^n) for the theorem checks. Only src/bound is used:
// no statement of the catalogue enters it (statements are what it is compared with).
#include <algorithm>
#include <chrono>
#include <cmath>

#include "bound/cluster.hpp"
#include "proofs/theorems.hpp"
#include "proofs/witness_build.hpp"

namespace attnbound::proofs {

namespace {

double work_of(const AttentionLayer& layer, long n) {
  return static_cast<double>(n) * static_cast<double>(n) * static_cast<double>(layer.d) *
         static_cast<double>(std::max<long>(1, layer.n_heads()));
}

// Unmasked, any n: every head's LB1 and LB-cluster witness in clustered form, certified by the
// cluster reduction. The lower side of certify_clustered is a proved lower bound of ‖J(X)‖ at an
// X inside B_R^n, hence of Lip(f|B_R^n).
InstanceBracket clustered_bracket(const AttentionLayer& layer, long n, double R) {
  const auto t0 = std::chrono::steady_clock::now();
  InstanceBracket ib;
  Bracket& b = ib.bracket;
  for (long h = 0; h < layer.n_heads(); ++h)
    for (const ClusteredWitness& cw : detail::head_witnesses(layer, h, R, n, true)) {
      const Bracket c = certify_clustered(layer, cw.in);
      if (!ib.clustered || c.lower.value() > b.lower.value()) {
        b.lower = c.lower;
        b.estimate = c.estimate;
        b.lower_method = "witness " + cw.name + " (n=" + std::to_string(n) + "), certified by " + c.lower_method;
        ib.clustered = cw;
      }
    }
  b.upper_method = "none: n²·d·H is beyond interval attention at this n; the branch-and-bound is not attempted";
  b.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return ib;
}

// Witnesses at full n without the branch-and-bound: every head's LB1 (and mirrored) and, unmasked,
// LB-cluster witness (the engine's constructions, bound/witness.cpp, with the eigenvectors from
// detail::sym_extremes); a few float power steps from each witness's own direction rank them, the best two are
// refined, and each candidate is evaluated rigorously along its float top singular vector and along
// its own direction. This is certify_ball's lower side with a cheaper power iteration (GPT-2 width
// at n = 16 in seconds rather than a minute).
Bracket witness_bracket(const AttentionLayer& layer, long n, double R) {
  const auto t0 = std::chrono::steady_clock::now();
  const BallProduct ball{n, layer.d, R};
  std::vector<Witness> cands;
  for (long h = 0; h < layer.n_heads(); ++h)
    for (const ClusteredWitness& cw : detail::head_witnesses(layer, h, R, n, layer.mask == Mask::none))
      cands.push_back(Witness{cw.name, cw.tokens(), cw.direction()});
  std::vector<std::pair<double, std::size_t>> ranked;
  std::vector<Matrix> right(cands.size());
  for (std::size_t i = 0; i < cands.size(); ++i) {
    if (!ball.certainly_contains(cands[i].X)) continue;
    const auto est = attnbound::approx::jacobian_norm(layer, cands[i].X, 4, 1e-10, &cands[i].dir);
    right[i] = est.right;
    ranked.push_back({est.sigma.value(), i});
  }
  std::sort(ranked.begin(), ranked.end(), [](const auto& x, const auto& y) { return x.first > y.first; });
  Bracket b;
  auto consider = [&](const Witness& w, const Matrix& dir, const std::string& how, const Estimate& est) {
    const LowerBound l = evaluate_witness(layer, w.X, dir);
    if (!b.witness || l.value() > b.lower.value()) {
      b.lower = l;
      b.witness = Witness{w.name, w.X, dir};
      b.estimate = est;
      b.lower_method = "witness " + w.name + " " + how + ", ‖J(X)v‖/‖v‖ by interval JVP";
    }
  };
  for (std::size_t k = 0; k < ranked.size() && k < 2; ++k) {
    const Witness& w = cands[ranked[k].second];
    const auto est = attnbound::approx::jacobian_norm(layer, w.X, 30, 1e-10, &right[ranked[k].second]);
    consider(w, est.right, "along the float top singular vector", est.sigma);
    consider(w, w.dir, "along its own direction", est.sigma);
  }
  b.upper_method = "none: n·d = " + std::to_string(n * layer.d) +
                   " is beyond the branch-and-bound of the dense box tier";
  b.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return b;
}

// The size up to which certify_ball runs its branch-and-bound (bound/ball.cpp, kDenseBoxLimit).
constexpr long kBabLimit = 96;

}  // namespace

InstanceBracket instance_bracket(const AttentionLayer& layer, long n, double R, const BracketOptions& opt) {
  CertifyOptions co;
  co.tol = opt.tol;
  co.time_limit = opt.time_limit;
  co.threads = opt.threads;
  co.progress = false;
  co.analytic = false;  // the statements are checked against bounds that are not the statements
  InstanceBracket ib;
  if (n * layer.d <= kBabLimit) {
    ib.bracket = certify_ball(layer, BallProduct{n, layer.d, R}, co);
    return ib;
  }
  if (layer.mask == Mask::none && (layer.d <= 128 || work_of(layer, n) > opt.work_limit))
    return clustered_bracket(layer, n, R);
  if (work_of(layer, n) <= opt.work_limit) {
    ib.bracket = witness_bracket(layer, n, R);
    return ib;
  }
  // Causal: the leading block of J at n is J at the prefix, so Lip at n' ≤ n bounds Lip at n below.
  long np = n;
  while (np > 1 && work_of(layer, np) > opt.work_limit) np = std::max<long>(1, np / 2);
  ib.bracket = np * layer.d <= kBabLimit ? certify_ball(layer, BallProduct{np, layer.d, R}, co)
                                         : witness_bracket(layer, np, R);
  ib.prefix_n = np;
  ib.bracket.upper = UpperBound::infinity();  // an upper bound at n' says nothing at n
  ib.bracket.partition.clear();
  ib.bracket.lower_method = "causal prefix n'=" + std::to_string(np) +
                            " (J at n has J at n' as its leading block): " + ib.bracket.lower_method;
  ib.bracket.upper_method = "none: n²·d·H is beyond interval attention at this n";
  return ib;
}

}  // namespace attnbound::proofs
