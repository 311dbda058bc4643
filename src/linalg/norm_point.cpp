// Verified upper bound of the spectral norm of a double matrix (docs/linalg.md §3).
//
//   1. G̃ = fl(XᵀX) in the upper triangle of one N×N buffer, r >= ‖G̃ − XᵀX‖₂   (gram.cpp)
//   2. θ ≈ λmax(G̃)                                        (eigen-solver / Lanczos; no guarantee)
//   3. pick t > θ; A := tI − G̃ − rI has off-diagonals −G̃_ij (doubles) and
//      A_ii ∈ [fl_down(t − G̃_ii − r), fl_up(t − G̃_ii)];  prove A ≻ 0 by Rump's Cholesky test
//      (cholesky.cpp). Then tI − XᵀX = A + (rI − (XᵀX − G̃)) ≻ 0, so ‖M‖² = λmax(XᵀX) < t.
//   4. ‖M‖ <= fl_up(√t), undoing an exact power-of-two scaling; min with the cheap bound.
// On a failed Cholesky t grows (the candidate was too small or the margin too thin) and step 3
// is repeated on a fresh copy of −G̃ (the upper triangle is never written by the Cholesky).
#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "core/bounds.hpp"
#include "core/interval.hpp"
#include "linalg/detail.hpp"
#include "linalg/linalg.hpp"

namespace attnbound {

namespace {

using Eigen::Index;
constexpr double kInf = std::numeric_limits<double>::infinity();

inline double pin(double x) {
  asm volatile("" : "+x"(x));
  return x;
}

/// Frobenius norm and √(‖M‖₁‖M‖∞), both rounded up; +inf for non-finite entries.
__attribute__((noinline)) double cheap_bound_up(const Matrix& M) {
  if (!M.allFinite()) return kInf;
  UpwardScope up;
  double fro2 = 0.0;
  Vector rowsum = Vector::Zero(M.rows());
  double norm1 = 0.0;
  for (Index j = 0; j < M.cols(); ++j) {
    double colsum = 0.0;
    for (Index i = 0; i < M.rows(); ++i) {
      const double a = std::abs(M(i, j));
      fro2 = pin(fro2 + pin(a * a));
      colsum = pin(colsum + a);
      rowsum(i) = pin(rowsum(i) + a);
    }
    norm1 = std::max(norm1, colsum);
  }
  const double norminf = M.rows() > 0 ? rowsum.maxCoeff() : 0.0;
  const double fro = pin(std::sqrt(fro2));
  const double mixed = pin(std::sqrt(pin(norm1 * norminf)));
  return std::min(fro, mixed);
}

/// Writes the strict lower triangle of `work` as the negated transpose of its strict upper
/// triangle (64×64 tiles for cache locality, tile columns spread over the threads). Exact.
void mirror_negated(Matrix& work, int threads) {
  const Index n = work.rows();
  constexpr Index T = 64;
  const long tiles = static_cast<long>((n + T - 1) / T);
  detail::parallel_chunks(n >= 2048 ? threads : 1, tiles, Rounding::nearest, [&](long c) {
    const Index jb = static_cast<Index>(c) * T;
    for (Index ib = jb; ib < n; ib += T)
      for (Index j = jb; j < std::min(jb + T, n); ++j)
        for (Index i = std::max(ib, j + 1); i < std::min(ib + T, n); ++i) work(i, j) = -work(j, i);
  });
}

/// Diagonal bounds of A = tI − G̃ − rI: lo = fl_down(t − g − r), hi = fl_up(t − g).
__attribute__((noinline)) void diagonal_bounds(const Vector& g, double t, double r, Vector& lo,
                                               Vector& hi) {
  UpwardScope up;
  lo.resize(g.size());
  hi.resize(g.size());
  for (Index i = 0; i < g.size(); ++i) {
    hi(i) = pin(pin(t) - pin(g(i)));
    lo(i) = -pin(pin(pin(g(i)) + pin(r)) - pin(t));
  }
}

struct Candidate {
  double t = 0;       // the candidate bound of λmax(XᵀX)
  double margin = 0;  // its relative excess over θ used for the next attempt
};

/// Upward: t = θ + (base·(1 + f) + θ·rel) / (1 − κN), where base ≈ the shift the proof consumes
/// at t ≈ θ. Only a heuristic choice: soundness rests on prove_pd_lower alone.
__attribute__((noinline)) double choose_t(double theta, double trace, double r, long n, double f,
                                          double rel) {
  UpwardScope up;
  const double kappa = detail::rump_shift_up(n, 1.0, 0.0);  // ≈ (n+2)u/(1 − 2(n+2)u)
  const double nt = pin(static_cast<double>(n) * theta);
  const double tr = std::max(0.0, pin(nt - trace));
  const double base = pin(pin(kappa * tr) + r);
  const double num = pin(pin(base * pin(1.0 + f)) + pin(theta * rel));
  const double shrink = -pin(pin(kappa * static_cast<double>(n)) - 1.0);
  const double step = shrink > 0.5 ? pin(num / shrink) : pin(2.0 * num);
  return pin(theta + step);
}

/// Lower bound of Σ g_i.
__attribute__((noinline)) double sum_down(const Vector& g) {
  UpwardScope up;
  double s = 0.0;
  for (Index i = 0; i < g.size(); ++i) s = pin(s + pin(-g(i)));
  return -s;
}

/// Upper bound of ‖M − 2^-e·fl(2^e·M)‖₂ for e < 0: each entry of fl(2^e M) is off by less than
/// one subnormal unit η (any rounding mode), so the Frobenius norm of the error is
/// <= √(rows·cols)·η·2^-e.
__attribute__((noinline)) double underflow_error_up(Index rows, Index cols, int e) {
  UpwardScope up;
  const double count = pin(static_cast<double>(rows) * static_cast<double>(cols));
  return pin(pin(std::sqrt(count)) * std::ldexp(0x1p-1074, -e));
}

/// fl_up(√t)·2^-e + extra, rounded up at every step.
__attribute__((noinline)) double unscale_up(double t, int e, double extra) {
  UpwardScope up;
  const double root = pin(std::sqrt(pin(t)));
  const double unscaled = pin(root * std::ldexp(1.0, -e));  // exact unless it over/underflows
  return pin(unscaled + pin(extra));
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

namespace detail {

GramProof prove_gram_bound(const Matrix& M, const NormOptions& opt, int threads,
                           double theta_override) {
  GramProof out;
  Matrix work;
  const detail::GramEnclosure ge = detail::gram_upper(M, work, threads);
  if (!ge.finite || !std::isfinite(ge.radius_norm)) {
    out.why = "Gram matrix overflowed";
    return out;
  }
  const Index N = ge.dim;
  const Vector g = work.diagonal();  // G̃_ii, kept: the Cholesky overwrites the diagonal
  double theta = std::isnan(theta_override) ? detail::approx_lambda_max_upper(work, threads)
                                             : theta_override;
  if (!std::isfinite(theta)) theta = g.maxCoeff();
  theta = std::max(theta, g.maxCoeff());  // λmax >= every diagonal entry
  out.theta = theta;
  const double trace_lo = sum_down(g);
  const double lanczos_rel = N <= 400 ? 0.0
                                      : std::clamp(0.1 * static_cast<double>(N) * static_cast<double>(N) *
                                                       detail::kUnitRoundoff,
                                                   1e-14, 1e-9);
  double f = 1.0;
  double rel = std::max({opt.margin, 16.0 * static_cast<double>(N) * detail::kUnitRoundoff, lanczos_rel});
  // Margins grow super-geometrically (×g, ×10g, ×100g, ...): the first failures are usually a
  // slightly low candidate, later ones a candidate that missed the top eigenvalue altogether.
  double growth = N > 2000 ? 100.0 : 10.0;
  Vector lo, hi;
  for (int attempt = 0; attempt < std::max(opt.max_attempts, 1); ++attempt) {
    double t = choose_t(theta, trace_lo, ge.radius_norm, static_cast<long>(N), f, rel);
    if (!(t > 0)) t = std::max(std::abs(ge.radius_norm) * 4.0, 0x1p-1000);  // G̃ = 0 and r = 0
    if (!std::isfinite(t)) break;
    diagonal_bounds(g, t, ge.radius_norm, lo, hi);
    mirror_negated(work, threads);
    ++out.attempts;
    if (detail::prove_pd_lower(work, lo, hi, threads)) {
      out.proved = true;
      out.t = t;
      return out;
    }
    f *= growth;
    rel *= growth;
    growth *= 10.0;
  }
  out.why = "Cholesky proof failed after " + std::to_string(out.attempts) + " attempts";
  return out;
}

}  // namespace detail

UpperBound norm2_upper_cheap(const Matrix& M) {
  detail::require_gradual_underflow("norm2_upper_cheap");
  return UpperBound::proved(cheap_bound_up(M));
}

NormProof norm2_upper_proof(const Matrix& M, const NormOptions& options) {
  detail::require_gradual_underflow("norm2_upper");
  const auto t0 = std::chrono::steady_clock::now();
  NormProof out{UpperBound::infinity(), Estimate(0.0), "", 0, 0.0};
  auto finish = [&](UpperBound b, std::string method) {
    out.bound = b;
    out.method = std::move(method);
    out.seconds = seconds_since(t0);
    return out;
  };
  if (M.size() == 0) return finish(UpperBound::proved(0.0), "empty");
  if (!M.allFinite()) return finish(UpperBound::infinity(), "non-finite input");
  const double maxabs = M.cwiseAbs().maxCoeff();
  if (maxabs == 0) return finish(UpperBound::proved(0.0), "zero matrix");
  const double cheap = cheap_bound_up(M);
  out.estimate = Estimate(cheap);
  if (M.rows() == 1 || M.cols() == 1) return finish(UpperBound::proved(cheap), "frobenius (vector)");

  // Exact power-of-two scaling keeps G away from overflow and underflow. Scaling up is exact;
  // scaling down may round subnormal entries, whose error is added back as a Frobenius term.
  int e = 0;
  const int ex = std::ilogb(maxabs);
  if (ex > 300 || ex < -300) e = -ex;
  const Matrix* X = &M;
  Matrix scaled;
  double scale_error = 0.0;  // upper bound of ‖M − 2^-e fl(2^e M)‖₂ (0 when exact)
  if (e != 0) {
    scaled = M * std::ldexp(1.0, e);  // multiplication by a power of two: exact unless subnormal
    X = &scaled;
    if (e < 0) scale_error = underflow_error_up(M.rows(), M.cols(), e);
  }

  const int threads = detail::resolve_threads(options.threads);
  const detail::GramProof gp = detail::prove_gram_bound(*X, options, threads);
  out.attempts = gp.attempts;
  out.estimate = Estimate(std::ldexp(std::sqrt(std::max(gp.theta, 0.0)), -e));
  if (!gp.proved) return finish(UpperBound::proved(cheap), "fallback: cheap bound (" + gp.why + ")");
  const double proved = unscale_up(gp.t, e, scale_error);
  if (cheap < proved) return finish(UpperBound::proved(cheap), "frobenius/norm1-norminf (tighter than gram-cholesky)");
  return finish(UpperBound::proved(proved), "gram-cholesky");
}

UpperBound norm2_upper(const Matrix& M) { return norm2_upper_proof(M).bound; }

namespace {

/// y = G x for the symmetric matrix stored in G's upper triangle (plain loops: the members are
/// small, where Eigen's selfadjoint product costs more than the arithmetic). No guarantee.
void symv_small(const Matrix& G, const Vector& x, Vector& y) {
  const Index N = G.rows();
  y.setZero(N);
  for (Index j = 0; j < N; ++j) {
    double acc = 0;
    for (Index i = 0; i < j; ++i) {
      y(i) += G(i, j) * x(j);
      acc += G(i, j) * x(i);
    }
    y(j) += acc + G(j, j) * x(j);
  }
}

/// λmax estimate of the symmetric matrix stored in G's upper triangle by power steps from v
/// (updated) until the Rayleigh quotient settles to ~1e-11. Call under round-to-nearest. No
/// guarantee (the proof's margin and its retry absorb a low estimate).
double power_estimate(const Matrix& G, Vector& v) {
  const Index N = G.rows();
  if (v.size() != N || !(v.norm() > 0)) v = Vector::Ones(N);
  v /= v.norm();
  double theta = 0;
  Vector y(N);
  for (int it = 0; it < 60; ++it) {
    symv_small(G, v, y);
    const double next = v.dot(y);
    const double ny = y.norm();
    if (!(ny > 0)) break;
    v = y / ny;
    if (std::abs(next - theta) <= 1e-11 * std::abs(next)) {
      theta = next;
      break;
    }
    theta = next;
  }
  return theta;
}

}  // namespace

UpperBound norm2_upper_max(const std::vector<Matrix>& Ms, double give_up) {
  detail::require_gradual_underflow("norm2_upper_max");
  double maxabs = 0;
  for (const Matrix& M : Ms) {
    if (!M.allFinite()) return UpperBound::infinity();
    if (M.size() > 0) maxabs = std::max(maxabs, M.cwiseAbs().maxCoeff());
  }
  if (maxabs == 0) return UpperBound::proved(0.0);
  // The order of the shared proof (identity until the screening sorts it); one_by_one(k, acc)
  // hands members order[k..] to norm2_upper, acc being what order[0..k) are already proved below.
  const std::size_t S = Ms.size();
  std::vector<std::size_t> order(S);
  for (std::size_t s = 0; s < S; ++s) order[s] = s;
  auto one_by_one = [&](std::size_t k, double acc) {
    for (; k < S && acc < give_up; ++k) acc = std::max(acc, norm2_upper(Ms[order[k]]).value());
    return acc < give_up ? UpperBound::proved(acc) : UpperBound::infinity();
  };
  const int ex = std::ilogb(maxabs);
  const bool same_shape = std::all_of(Ms.begin(), Ms.end(), [&](const Matrix& M) {
    return M.rows() == Ms[0].rows() && M.cols() == Ms[0].cols();
  });
  // Extreme magnitudes need the scaled path, vectors the Frobenius one: norm2_upper has both.
  if (ex > 300 || ex < -300 || !same_shape || Ms[0].rows() == 1 || Ms[0].cols() == 1) return one_by_one(0, 0.0);

  struct Member {
    Matrix G;  // G̃ in the upper triangle
    Vector g;  // its diagonal
    double r = 0, theta = 0;
  };
  thread_local std::vector<Member> mem;  // reused: branch-and-bound calls this for every box
  if (mem.size() < S) mem.resize(S);
  thread_local Vector warm, y;  // the previous family's top eigenvector: any start is valid
  double trace_est = kInf, r_max = 0;  // trace_est: the smallest trace, a float estimate
  const long N = std::min(Ms[0].rows(), Ms[0].cols());
  {
    RoundingGuard nearest(Rounding::nearest);
    if (warm.size() != N || !(warm.norm() > 0)) warm = Vector::Ones(N);
    warm /= warm.norm();
  }
  Vector v;
  for (std::size_t s = 0; s < S; ++s) {
    const detail::GramEnclosure ge = detail::gram_upper(Ms[s], mem[s].G, 1);
    if (!ge.finite || !std::isfinite(ge.radius_norm)) return one_by_one(0, 0.0);
    mem[s].g = mem[s].G.diagonal();
    mem[s].r = ge.radius_norm;
    r_max = std::max(r_max, ge.radius_norm);
    // Screening: three power steps from the warm vector (a Rayleigh quotient, so <= λmax; wide
    // boxes give members whose top directions differ). No guarantee: it only orders the proofs,
    // so it runs in the caller's rounding mode (a switch to nearest and back per member cost more
    // than the steps themselves).
    trace_est = std::min(trace_est, mem[s].g.sum());  // only sizes the candidate (choose_t)
    v = warm;
    double rq = 0;
    for (int it = 0; it < 3; ++it) {
      symv_small(mem[s].G, v, y);
      rq = v.dot(y);
      const double ny = y.norm();
      if (!(ny > 0)) break;
      v = y / ny;
    }
    mem[s].theta = std::max(rq, mem[s].g.maxCoeff());
    // A member already estimated at or above give_up: +inf is an upper bound, so stop (the
    // estimate only decides how early we give up, never what is claimed).
    if (std::sqrt(mem[s].theta) >= give_up) return UpperBound::infinity();
  }
  {
    // Power steps to convergence on the two most promising members only.
    RoundingGuard nearest(Rounding::nearest);
    std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return mem[a].theta > mem[b].theta; });
    Vector best = warm;
    double top = -kInf;
    for (std::size_t k = 0; k < std::min<std::size_t>(2, S); ++k) {
      Vector u = warm;
      Member& m = mem[order[k]];
      m.theta = std::max(m.theta, power_estimate(m.G, u));
      if (m.theta > top) {
        top = m.theta;
        best = u;
      }
    }
    warm = best;
    std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return mem[a].theta > mem[b].theta; });
  }
  // The favourite's estimate from the dense solver: power steps may stall short of the last
  // digits when its top eigenvalues are close.
  mem[order[0]].theta = std::max(mem[order[0]].theta, detail::approx_lambda_max_upper(mem[order[0]].G, 1));

  // One candidate t for every member, largest estimate first; a failed proof raises t (from a
  // dense estimate of that member) and earlier proofs stay valid, since tI − XᵀX ≻ 0 is monotone
  // in t.
  double theta = mem[order[0]].theta, f = 1.0;
  // A relative margin of 1e-9 over the estimate: invisible in any bracket, and it spares the
  // power steps the last digits.
  double rel = std::max(1e-9, 16.0 * static_cast<double>(N) * detail::kUnitRoundoff);
  double t = choose_t(theta, trace_est, r_max, N, f, rel);
  thread_local Matrix work;
  thread_local Vector lo, hi;
  int thin = 0;  // failures at a candidate above the member's own estimate: the margin was too thin
  for (std::size_t k = 0; k < S; ++k) {
    Member& m = mem[order[k]];
    for (;;) {
      if (!std::isfinite(t)) return one_by_one(0, 0.0);
      if (!(unscale_up(t, 0, 0.0) < give_up)) return UpperBound::infinity();
      work = m.G;
      diagonal_bounds(m.g, t, m.r, lo, hi);
      mirror_negated(work, 1);
      if (detail::prove_pd_lower(work, lo, hi, 1)) break;
      // The rest go to the one-matrix proof (its own eigen-solver and retries).
      if (thin > 6) return one_by_one(k, unscale_up(t, 0, 0.0));
      // A member ranked too low raises the candidate to its own estimate; a member already at
      // the candidate means the margin was too thin, which grows instead.
      const double own = detail::approx_lambda_max_upper(m.G, 1);
      if (own > theta) {
        theta = own;  // strictly increasing: at most one such step per member
      } else {
        ++thin;
        f *= 10.0;
        rel *= 10.0;
      }
      t = std::max(t, choose_t(theta, trace_est, r_max, N, f, rel));
    }
  }
  return UpperBound::proved(unscale_up(t, 0, 0.0));
}

}  // namespace attnbound
