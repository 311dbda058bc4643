// The verified spectral norm of a distributed matrix (docs/distributed.md §2): the single-machine
// proof of docs/linalg.md §3 with ScaLAPACK doing the two O(N³) steps.
//
//   1. G̃ = fl_nearest(MᵀM) by PDSYRK (lower triangle). Any summation order, across ranks too, is
//      covered by |G̃ − MᵀM| <= γ_{N+2}|M|ᵀ|M| + 2Nη (docs/linalg.md §1), so
//      ‖G̃ − MᵀM‖₂ <= r := γ_{N+2}·ρ + 2N²η with ρ >= ‖|M|‖₂² = min(‖M‖_F², ‖M‖₁‖M‖∞) here, the
//      sums done locally upward and combined by allsum_up (never MPI's round-to-nearest sums).
//   2. t > θ (candidate); A := tI − G̃ − rI has off-diagonals −G̃_ij and
//      A_ii ∈ [fl_down(t − g_i − r), fl_up(t − g_i)]; Rump's test (dist_prove_pd) with PDPOTRF.
//   3. ‖M‖ <= fl_up(√t).
#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>

#include "core/interval.hpp"
#include "linalg/detail.hpp"
#include "mpi/distributed.hpp"

namespace attnbound::mpi {

namespace {
constexpr double kInf = std::numeric_limits<double>::infinity();

inline double pin(double x) {
  asm volatile("" : "+x"(x));
  return x;
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

struct LocalSums {
  double fro2 = 0;
  std::vector<double> col, row;  // global-length partial |M| column / row sums
};

/// Adds the panel P (rows r0 .. r0 + P.m() − 1 of the matrix) to the local upward sums of m², and of
/// |m| per global column and row.
__attribute__((noinline)) void add_local_sums_up(const DistMatrix& P, long r0, LocalSums& s) {
  UpwardScope up;
  for (int c = 0; c < P.local_cols(); ++c) {
    double& cs = s.col[static_cast<std::size_t>(P.global_col(c))];
    for (int r = 0; r < P.local_rows(); ++r) {
      const double a = std::abs(P.local(r, c));
      s.fro2 = pin(s.fro2 + pin(a * a));
      cs = pin(cs + a);
      double& rs = s.row[static_cast<std::size_t>(r0 + P.global_row(r))];
      rs = pin(rs + a);
    }
  }
}

/// fl_up of a·b, √a, a + b.
__attribute__((noinline)) double mul_up(double a, double b) {
  UpwardScope up;
  return pin(pin(a) * pin(b));
}
__attribute__((noinline)) double sqrt_up(double a) {
  UpwardScope up;
  return pin(std::sqrt(pin(a)));
}

/// r = γ_{N+2}·ρ + 2·N·N·η, upward (the Gram error of step 1).
__attribute__((noinline)) double gram_radius_up(double rho, long N) {
  const double gamma = detail::gamma_up(N + 2);
  UpwardScope up;
  const double a = pin(gamma * rho);
  const double b = pin(pin(pin(static_cast<double>(N) * static_cast<double>(N)) * 0x1p-1073));
  return pin(a + b);
}

/// Lower bound of Σ g_i.
__attribute__((noinline)) double sum_down(const std::vector<double>& g) {
  UpwardScope up;
  double s = 0.0;
  for (double x : g) s = pin(s + pin(-x));
  return -s;
}

/// The candidate (heuristic only; soundness rests on dist_prove_pd): as choose_t in
/// linalg/norm_point.cpp, t = θ + (base·(1 + f) + θ·rel)/(1 − κN), base ≈ κ(Nθ − tr) + r.
__attribute__((noinline)) double candidate(double theta, double trace, double r, long n, double f, double rel) {
  const double kappa = detail::rump_shift_up(n, 1.0, 0.0);
  UpwardScope up;
  const double tr = std::max(0.0, pin(pin(static_cast<double>(n) * theta) - trace));
  const double base = pin(pin(kappa * tr) + r);
  const double num = pin(pin(base * pin(1.0 + f)) + pin(theta * rel));
  const double shrink = -pin(pin(kappa * static_cast<double>(n)) - 1.0);
  const double step = shrink > 0.5 ? pin(num / shrink) : pin(2.0 * num);
  return pin(theta + step);
}

/// lo_i = fl_down(t − g_i − r), hi_i = fl_up(t − g_i).
__attribute__((noinline)) void diagonal_bounds(const std::vector<double>& g, double t, double r,
                                               std::vector<double>& lo, std::vector<double>& hi) {
  UpwardScope up;
  lo.resize(g.size());
  hi.resize(g.size());
  for (std::size_t i = 0; i < g.size(); ++i) {
    hi[i] = pin(pin(t) - pin(g[i]));
    lo[i] = -pin(pin(pin(g[i]) + pin(r)) - pin(t));
  }
}

/// Σ hi (upward) and max hi; false if one is negative or not finite.
__attribute__((noinline)) bool trace_and_max_up(const std::vector<double>& hi, double& trace, double& maxdiag) {
  UpwardScope up;
  trace = 0.0;
  maxdiag = 0.0;
  for (double h : hi) {
    if (!(h >= 0) || !std::isfinite(h)) return false;
    trace = pin(trace + h);
    maxdiag = std::max(maxdiag, h);
  }
  return std::isfinite(trace);
}

/// d_i = fl_down(lo_i − c) = −fl_up(c − lo_i); false if one is not > 0.
__attribute__((noinline)) bool shifted_diagonal(const std::vector<double>& lo, double c, std::vector<double>& d) {
  UpwardScope up;
  d.resize(lo.size());
  bool ok = true;
  for (std::size_t i = 0; i < lo.size(); ++i) {
    d[i] = -pin(pin(c) - pin(lo[i]));
    ok = ok && d[i] > 0;
  }
  return ok;
}

/// The global diagonal of a distributed matrix, replicated (each entry is owned by one rank; the
/// others contribute an exact 0, so the upward sum is exact).
std::vector<double> replicated_diagonal(const DistMatrix& G) {
  std::vector<double> d(static_cast<std::size_t>(G.n()), 0.0);
  for (int c = 0; c < G.local_cols(); ++c) {
    const long gc = G.global_col(c);
    for (int r = 0; r < G.local_rows(); ++r)
      if (G.global_row(r) == gc) d[static_cast<std::size_t>(gc)] = G.local(r, c);
  }
  return allsum_up(d);
}

}  // namespace

bool dist_prove_pd(const Grid& g, DistMatrix& work, const std::vector<double>& lo, const std::vector<double>& hi,
                   double shift_scale) {
  const long N = work.n();
  double trace = 0, maxdiag = 0;
  if (!trace_and_max_up(hi, trace, maxdiag)) return false;
  // Every rank computes the same c and diagonal from the replicated lo, hi.
  double c = detail::rump_shift_up(N, trace, maxdiag);
  if (!std::isfinite(c)) return false;
  if (shift_scale != 1.0) c *= shift_scale;  // mutation tests only
  std::vector<double> d;
  if (!shifted_diagonal(lo, c, d)) return false;
  // The reciprocal of a pivot must stay normal (docs/linalg.md §3.5): pivots <= √max d_i.
  if (!(*std::max_element(d.begin(), d.end()) < 0x1p1000)) return false;
  for (int cc = 0; cc < work.local_cols(); ++cc) {
    const long gc = work.global_col(cc);
    for (int r = 0; r < work.local_rows(); ++r)
      if (work.global_row(r) == gc) work.local(r, cc) = d[static_cast<std::size_t>(gc)];
  }
  RoundingGuard nearest(Rounding::nearest);
  const int n = static_cast<int>(N), one = 1;
  int info = 0;
  pdpotrf_("L", &n, work.data(), &one, &one, work.desc(), &info);
  // Finite entries of L (the lower triangle) on every rank, and info == 0 (global in ScaLAPACK).
  bool finite = true;
  for (int cc = 0; cc < work.local_cols() && finite; ++cc) {
    const long gc = work.global_col(cc);
    for (int r = 0; r < work.local_rows(); ++r)
      if (work.global_row(r) >= gc && !std::isfinite(work.local(r, cc))) {
        finite = false;
        break;
      }
  }
  (void)g;
  return all_true(info == 0 && finite);
}

DistNormProof dist_norm2_upper(const Grid& g, long N, int nb, long panel_rows, const PanelSource& fill,
                               double theta_hint, const DistNormOptions& opt) {
  detail::require_gradual_underflow("dist_norm2_upper");
  DistNormProof out;
  const long h = std::clamp<long>(panel_rows, 1, N);

  // 1. G̃ = Σ_panels fl(PᵀP) accumulated by PDSYRK (β = 0, then 1; each entry is still one sum of
  //    the N products m_ki m_kj in some order), with the cheap-bound sums on the way.
  const auto t0 = std::chrono::steady_clock::now();
  LocalSums ls;
  ls.col.assign(static_cast<std::size_t>(N), 0.0);
  ls.row.assign(static_cast<std::size_t>(N), 0.0);
  bool finite = true;
  double maxabs = 0;
  DistMatrix G(g, N, nb);
  for (long r0 = 0; r0 < N; r0 += h) {
    const long hh = std::min(h, N - r0);
    DistMatrix P(g, hh, N, nb);
    fill(r0, P);
    for (int c = 0; c < P.local_cols(); ++c)
      for (int r = 0; r < P.local_rows(); ++r) {
        const double a = P.local(r, c);
        if (!std::isfinite(a)) finite = false;
        else maxabs = std::max(maxabs, std::abs(a));
      }
    add_local_sums_up(P, r0, ls);
    RoundingGuard nearest(Rounding::nearest);
    const int n = static_cast<int>(N), k = static_cast<int>(hh), one = 1;
    const double alpha = 1.0, beta = r0 == 0 ? 0.0 : 1.0;
    pdsyrk_("L", "T", &n, &k, &alpha, P.data(), &one, &one, P.desc(), &beta, G.data(), &one, &one, G.desc());
  }
  out.gram_seconds = seconds_since(t0);
  if (!all_true(finite)) {
    out.method = "non-finite input";
    return out;
  }
  maxabs = allmax(maxabs);
  if (maxabs == 0) {
    out.bound = UpperBound::proved(0.0);
    out.method = "zero matrix";
    return out;
  }
  // Cheap bounds, each >= ‖M‖₂ and >= ‖|M|‖₂ (the Gram error needs the latter).
  const double fro2 = allsum_up(ls.fro2);
  const std::vector<double> col = allsum_up(ls.col), row = allsum_up(ls.row);
  const double norm1 = *std::max_element(col.begin(), col.end());
  const double norminf = *std::max_element(row.begin(), row.end());
  const double rho = std::min(fro2, mul_up(norm1, norminf));
  const double cheap = sqrt_up(rho);
  out.bound = UpperBound::proved(cheap);
  out.method = "fallback: frobenius/norm1-norminf";
  const int ex = std::ilogb(maxabs);
  if (ex > 300 || ex < -300) {
    // No power-of-two rescaling here (the single-machine tier has one); the cheap bound is proved.
    out.method += " (entries outside [2^-300, 2^300])";
    return out;
  }
  bool gfinite = true;
  for (int c = 0; c < G.local_cols() && gfinite; ++c)
    for (int r = 0; r < G.local_rows(); ++r)
      if (G.global_row(r) >= G.global_col(c) && !std::isfinite(G.local(r, c))) {
        gfinite = false;
        break;
      }
  if (!all_true(gfinite)) {
    out.method += " (Gram matrix overflowed)";
    return out;
  }
  const double r = gram_radius_up(rho, N);
  const std::vector<double> gdiag = replicated_diagonal(G);
  const double gmax = *std::max_element(gdiag.begin(), gdiag.end());
  const double theta = std::isfinite(theta_hint) ? std::max(theta_hint, gmax) : gmax;
  const double trace_lo = sum_down(gdiag);
  double f = 1.0;
  double rel = std::max(16.0 * static_cast<double>(N) * detail::kUnitRoundoff,
                        std::clamp(0.1 * static_cast<double>(N) * static_cast<double>(N) * detail::kUnitRoundoff,
                                   1e-14, 1e-9));
  double growth = N > 2000 ? 100.0 : 10.0;

  // 2. Rump's test in place on G's lower triangle; the strictly lower entries are kept packed for
  //    the next attempt (half a copy).
  const auto t1 = std::chrono::steady_clock::now();
  std::vector<double> packed;
  packed.reserve(static_cast<std::size_t>(G.local_rows()) * static_cast<std::size_t>(G.local_cols()) / 2 + 16);
  for (int c = 0; c < G.local_cols(); ++c)
    for (int rr = 0; rr < G.local_rows(); ++rr)
      if (G.global_row(rr) > G.global_col(c)) packed.push_back(G.local(rr, c));
  std::vector<double> lo, hi;
  for (int attempt = 0; attempt < std::max(opt.max_attempts, 1); ++attempt) {
    const double t = candidate(theta, trace_lo, r, N, f, rel);
    if (!(t > 0) || !std::isfinite(t)) break;
    diagonal_bounds(gdiag, t, r, lo, hi);
    std::size_t k = 0;
    for (int c = 0; c < G.local_cols(); ++c)
      for (int rr = 0; rr < G.local_rows(); ++rr)
        if (G.global_row(rr) > G.global_col(c)) G.local(rr, c) = -packed[k++];  // exact
    ++out.attempts;
    if (dist_prove_pd(g, G, lo, hi, opt.shift_scale)) {
      const double proved = sqrt_up(t);  // ‖M‖² <= λmax(MᵀM) < t
      out.cholesky_seconds = seconds_since(t1);
      if (proved < cheap) {
        out.bound = UpperBound::proved(proved);
        out.method = "distributed gram-cholesky (PDSYRK + PDPOTRF, Rump)";
      } else {
        out.method = "frobenius/norm1-norminf (tighter than gram-cholesky)";
      }
      return out;
    }
    f *= growth;
    rel *= growth;
    growth *= 10.0;
  }
  out.cholesky_seconds = seconds_since(t1);
  out.method += " (Cholesky proof failed after " + std::to_string(out.attempts) + " attempts)";
  return out;
}

DistNormProof dist_norm2_upper(const Grid& g, DistMatrix& M, double theta_hint, const DistNormOptions& opt) {
  const long N = M.n();
  auto fill = [&](long, DistMatrix& P) {
    std::copy(M.data(), M.data() + static_cast<std::size_t>(M.local_rows()) * static_cast<std::size_t>(M.local_cols()),
              P.data());
    M.release();
  };
  return dist_norm2_upper(g, N, M.nb(), N, fill, theta_hint, opt);
}

}  // namespace attnbound::mpi
