// One instance (layer, B_R^n), every statement: the engine's bracket, each statement's enclosed
// value, and the verdict rules of theorems.hpp.
#include <Eigen/SVD>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <random>

#include "attention/attention.hpp"
#include "proofs/theorems.hpp"
#include "proofs/witness_build.hpp"
#include "region/region.hpp"

namespace attnbound::proofs {

namespace {

double since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

std::string num(double x) {
  if (std::isinf(x)) return x > 0 ? "inf" : "-inf";
  char buf[48];
  std::snprintf(buf, sizeof buf, "%.10g", x);
  return buf;
}

// The enclosure as text; beyond the double range, as a power of ten.
std::string show(const MpInterval& S) {
  const double hi = S.upper_up();
  if (std::isfinite(hi)) return "[" + num(S.lower_down()) + ", " + num(hi) + "]";
  const MpInterval lg = log(S) / log(MpInterval(10));
  char buf[64];
  std::snprintf(buf, sizeof buf, "≈ 10^%.6f", lg.mid_approx());
  return buf;
}

ClusteredWitness from_dense(const std::string& name, const Matrix& X, const Matrix& dir) {
  ClusteredWitness cw;
  cw.name = name;
  cw.in.Y = X;
  cw.in.m.assign(static_cast<std::size_t>(X.rows()), 1);
  cw.dir = dir;
  return cw;
}

// ---- upper-type ball statements -------------------------------------------------------------------

void evaluate_upper(StatementResult& res, const ModelQuantities& q, long n, const InstanceBracket& ib) {
  const Statement& s = *res.statement;
  const MpInterval S = ball_value(s, q, n);
  res.value = S;
  const Bracket& b = ib.bracket;
  res.cmp_lower = b.lower.value();
  res.cmp_upper = b.upper.value();
  res.cmp_what = "certified bracket of Lip(f|B_R^n)";
  res.verdict = upper_verdict(S, res.cmp_lower, res.cmp_upper);
  switch (res.verdict) {
    case Verdict::refuted:
      res.reason = "certified lower bound " + num(res.cmp_lower) + " > statement " + show(S) + " (witness: " +
                   b.lower_method + ")";
      if (ib.clustered) res.witness = *ib.clustered;
      else if (b.witness) res.witness = from_dense(b.witness->name, b.witness->X, b.witness->dir);
      break;
    case Verdict::holds:
      res.reason = "certified upper bound " + num(res.cmp_upper) + " ≤ statement " + show(S);
      break;
    default:
      res.reason = "certified bracket [" + num(res.cmp_lower) + ", " + num(res.cmp_upper) + "] does not decide " +
                   show(S) + (b.upper.is_finite() ? "" : " (no finite certified upper bound at this size)");
  }
}

// ---- lower-type statements at their own witness ---------------------------------------------------

void evaluate_lower(StatementResult& res, const AttentionLayer& layer, long n, double R, const InstanceBracket& ib,
                    const BracketOptions& bo) {
  const Statement& s = *res.statement;
  LowerCheck chk = lower_check(s, layer, n, R, bo.work_limit);
  if (!chk.applicable) {
    res.verdict = Verdict::not_applicable;
    res.reason = chk.why;
    return;
  }
  if (!chk.evaluated) {
    res.verdict = Verdict::undecided;
    res.reason = chk.why;
    return;
  }
  const MpInterval& S = chk.formula;
  res.value = S;
  res.parameters = chk.parameters;
  res.witness = chk.witness;
  res.witness_ratio = chk.ratio;
  const Bracket& b = ib.bracket;
  // At the own witness: ‖J(X)v‖/‖v‖ ∈ [lo, hi] is the quantity the formula claims to bound below.
  const Verdict at_witness = chk.ratio.evaluated ? lower_verdict(S, chk.ratio.lo, chk.ratio.hi) : Verdict::undecided;
  const Verdict on_ball = lower_verdict(S, b.lower.value(), b.upper.value());
  res.cmp_lower = chk.ratio.evaluated ? chk.ratio.lo : b.lower.value();
  res.cmp_upper = chk.ratio.evaluated ? chk.ratio.hi : b.upper.value();
  res.cmp_what = chk.ratio.evaluated ? "‖J(X)v‖/‖v‖ at the statement's own witness (" + chk.ratio.method + ")"
                                     : "certified bracket of Lip(f|B_R^n)";
  const std::string at = chk.ratio.evaluated
                             ? "‖J(X)v‖/‖v‖ ∈ [" + num(chk.ratio.lo) + ", " + num(chk.ratio.hi) + "] at its witness"
                             : "witness not evaluated (" + chk.ratio.method + ")";
  if (at_witness == Verdict::refuted || on_ball == Verdict::refuted) {
    res.verdict = Verdict::refuted;
    res.reason = at_witness == Verdict::refuted
                     ? "the formula " + show(S) + " exceeds the proved " + at
                     : "certified upper bound " + num(b.upper.value()) + " < statement " + show(S);
    if (at_witness == Verdict::holds || on_ball == Verdict::holds)
      res.reason += " — INCONSISTENT with a proof that it holds: an engine bug";
  } else if (at_witness == Verdict::holds || on_ball == Verdict::holds) {
    res.verdict = Verdict::holds;
    res.reason = at_witness == Verdict::holds ? "proved " + at + " ≥ statement " + show(S)
                                              : "certified lower bound " + num(b.lower.value()) + " ≥ statement " + show(S);
  } else {
    res.verdict = Verdict::undecided;
    res.reason = at + "; statement " + show(S);
  }
}

// ---- U-local: a pointwise claim -------------------------------------------------------------------

struct LocalPoint {
  ClusteredWitness w;
  double j_lower = 0.0;
  std::string how;
};

void evaluate_ulocal(StatementResult& res, const AttentionLayer& layer, const ModelQuantities& q, long n, double R,
                     const InstanceBracket& ib, const TheoremOptions& opt) {
  std::vector<LocalPoint> pts;
  const Bracket& b = ib.bracket;
  if (ib.clustered) {
    pts.push_back({*ib.clustered, b.lower.value(), "certified by the cluster reduction (the bracket's witness)"});
  } else if (b.witness && b.witness->X.size() > 0) {
    const LowerBound l = evaluate_witness(layer, b.witness->X, b.witness->dir);
    pts.push_back({from_dense("bracket witness: " + b.witness->name, b.witness->X, b.witness->dir), l.value(),
                   "‖J(X)v‖/‖v‖ by interval JVP"});
  }
  // A short approximate search for a counterexample inside B_R^n (small problems only).
  if (opt.ulocal_search_seconds > 0 && n * layer.d <= 64) {
    const auto t0 = std::chrono::steady_clock::now();
    std::mt19937_64 rng(opt.seed);
    std::normal_distribution<double> g(0.0, 1.0);
    Matrix best;
    double best_ratio = 0.0;
    const BallProduct ball{n, layer.d, R};
    for (int start = 0; since(t0) < opt.ulocal_search_seconds && start < 64; ++start) {
      Matrix X0(n, layer.d);
      if (start == 0 && b.witness && b.witness->X.rows() == n) {
        X0 = b.witness->X;
      } else if (start % 2 == 1) {  // tokens along one random direction: small R_A, large r
        Vector u(layer.d);
        for (long a = 0; a < layer.d; ++a) u(a) = g(rng);
        u /= std::max(1e-300, u.norm());
        for (long i = 0; i < n; ++i) X0.row(i) = (R * (2.0 * (i + 0.5) / n - 1.0)) * u.transpose();
      } else {
        for (long i = 0; i < n; ++i)
          for (long a = 0; a < layer.d; ++a) X0(i, a) = g(rng) * R / std::sqrt(static_cast<double>(layer.d));
      }
      auto [X, ratio] = approx::ulocal_ascent(layer, ball.project(X0), 40, R);
      if (ratio > best_ratio) {
        best_ratio = ratio;
        best = ball.project(X);
      }
    }
    if (best.size() > 0 && ball.certainly_contains(best)) {
      Matrix right;
      approx::jacobian_norm_dense(layer, best, &right);
      const LowerBound l = evaluate_witness(layer, best, right);
      pts.push_back({from_dense("U-local ascent point", best, right), l.value(),
                     "‖J(X)v‖/‖v‖ by interval JVP at the float top singular vector"});
    }
  }
  if (pts.empty()) {
    res.verdict = Verdict::undecided;
    res.reason = "no evaluation point (no witness available)";
    return;
  }
  // The decisive point: the largest proved ‖J(X)‖ relative to the enclosure's upper end.
  double best_gap = -1.0;
  for (const LocalPoint& p : pts) {
    const MpInterval U = ulocal_value(layer, q, p.w);
    const double rel = p.j_lower / U.upper_up();
    if (rel > best_gap) {
      best_gap = rel;
      res.value = U;
      res.witness = p.w;
      res.cmp_lower = p.j_lower;
      res.cmp_upper = std::numeric_limits<double>::infinity();
      res.cmp_what = "proved ‖J(X)‖ ≥ " + num(p.j_lower) + " at " + p.w.name + " (" + p.how + ")";
    }
  }
  const double Uhi = res.value->upper_up();
  if (res.cmp_lower > Uhi) {
    res.verdict = Verdict::refuted;
    res.reason = "at " + res.witness->name + ": proved ‖J(X)‖ ≥ " + num(res.cmp_lower) + " > U-local(X) ∈ " +
                 show(*res.value);
  } else {
    res.verdict = Verdict::undecided;
    res.reason = "pointwise claim, checked at " + std::to_string(pts.size()) +
                 " point(s): largest proved ‖J(X)‖ / U-local(X) = " + num(best_gap) +
                 " ≤ 1; no proof over all of B_R^n is attempted";
    if (ib.prefix_n > 0) res.reason += " (the bracket's witness is an n'-token causal prefix)";
  }
}

}  // namespace

InstanceReport evaluate_theorems(const AttentionLayer& layer, long n, double R, const TheoremOptions& opt) {
  const auto t0 = std::chrono::steady_clock::now();
  InstanceReport rep;
  rep.n = n;
  rep.R = R;
  rep.quantities = model_quantities(layer, R);
  rep.bracket = instance_bracket(layer, n, R, opt.bracket);
  for (const Statement& s : catalogue()) {
    StatementResult res;
    res.statement = &s;
    const std::string why = inapplicable_reason(s, layer, n);
    if (!why.empty()) {
      res.verdict = Verdict::not_applicable;
      res.reason = why;
    } else if (s.pointwise) {
      evaluate_ulocal(res, layer, rep.quantities, n, R, rep.bracket, opt);
    } else if (s.kind == Kind::upper) {
      evaluate_upper(res, rep.quantities, n, rep.bracket);
    } else {
      evaluate_lower(res, layer, n, R, rep.bracket, opt.bracket);
    }
    rep.statements.push_back(std::move(res));
  }
  rep.seconds = since(t0);
  return rep;
}

}  // namespace attnbound::proofs
