// The distributed point tier (docs/distributed.md §1): each rank forms only its block-cyclic
// panel of the interval Jacobian at the exact point X, straight from the model, and the ranks
// prove ‖mid‖ together (norm.cpp); the radius enters as ‖rad‖₂ <= ‖rad‖_F, summed upward.
#include <sys/resource.h>

#include <chrono>
#include <cmath>
#include <vector>

#include "attention/attention.hpp"
#include "core/interval.hpp"
#include "mpi/distributed.hpp"

namespace attnbound::mpi {

namespace {

inline double pin(double x) {
  asm volatile("" : "+x"(x));
  return x;
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

/// Fills this rank's part of the panel P = rows r0 .. r0 + P.m() − 1 of mid J and adds Σ rad² over
/// it to rad2 (upward), where [mid ± rad] contains every entry of the interval Jacobian (hence the
/// exact one): mid = fl(lo/2 + hi/2) (any double works) and rad = max(fl_up(hi − mid),
/// fl_up(mid − lo)); an entry with a non-finite end gives rad = +inf (so the bound is +inf, never a
/// wrong number).
__attribute__((noinline)) void form_panel(const AttentionLayer& layer, const ForwardState<Interval>& s,
                                          const JacobianFactors<Interval>& f, long r0, DistMatrix& P,
                                          double& rad2) {
  const long n = s.n(), d = layer.d;
  UpwardScope up;
  // Local rows by token: rows_of[i] = the coordinates a of token i whose global row i·d + a this
  // rank owns in the panel, local_of[i] = their local indices.
  std::vector<std::vector<long>> rows_of(static_cast<std::size_t>(n));
  std::vector<std::vector<int>> local_of(static_cast<std::size_t>(n));
  for (int r = 0; r < P.local_rows(); ++r) {
    const long gr = r0 + P.global_row(r);
    rows_of[static_cast<std::size_t>(gr / d)].push_back(gr % d);
    local_of[static_cast<std::size_t>(gr / d)].push_back(r);
  }
  // At most kChunk rows per jacobian_rows call: its temporaries grow like rows·d·(H + n)
  // intervals (≈ 0.5 GB for a whole GPT-2 token), a chunk keeps them to a few MB.
  constexpr std::size_t kChunk = 64;
  for (long i = 0; i < n; ++i) {
    const auto& all_rows = rows_of[static_cast<std::size_t>(i)];
    const auto& all_loc = local_of[static_cast<std::size_t>(i)];
    if (all_rows.empty() || P.local_cols() == 0) continue;
    for (std::size_t k0 = 0; k0 < all_rows.size(); k0 += kChunk) {
      const std::size_t k1 = std::min(all_rows.size(), k0 + kChunk);
      const std::vector<long> rows(all_rows.begin() + static_cast<std::ptrdiff_t>(k0),
                                   all_rows.begin() + static_cast<std::ptrdiff_t>(k1));
      const std::vector<int> loc(all_loc.begin() + static_cast<std::ptrdiff_t>(k0),
                                 all_loc.begin() + static_cast<std::ptrdiff_t>(k1));
      const IMatrix strip = jacobian_rows<Interval>(layer, s, f, i, rows);
      for (int c = 0; c < P.local_cols(); ++c) {
        const long gc = P.global_col(c);
        for (std::size_t k = 0; k < loc.size(); ++k) {
          const Interval& e = strip(static_cast<Eigen::Index>(k), gc);
          const double lo = e.lower(), hi = e.upper();
          double mid = 0.0, rad = std::numeric_limits<double>::infinity();
          if (std::isfinite(lo) && std::isfinite(hi)) {
            mid = pin(pin(lo * 0.5) + pin(hi * 0.5));
            rad = std::max(pin(hi - mid), pin(mid - lo));
          }
          P.local(loc[k], c) = mid;
          rad2 = pin(rad2 + pin(rad * rad));
        }
      }
    }
  }
}

/// The forward state and the per-head factors at the exact point X (interval arithmetic).
__attribute__((noinline)) std::pair<ForwardState<Interval>, JacobianFactors<Interval>> interval_state(
    const AttentionLayer& layer, const Matrix& X) {
  UpwardScope up;
  IMatrix Xi(X.rows(), X.cols());
  for (long i = 0; i < X.rows(); ++i)
    for (long a = 0; a < X.cols(); ++a) Xi(i, a) = point(X(i, a));
  ForwardState<Interval> s = forward<Interval>(layer, Xi);
  JacobianFactors<Interval> f = jacobian_factors(layer, s);
  return {std::move(s), std::move(f)};
}

__attribute__((noinline)) double add_up(double a, double b) {
  UpwardScope up;
  return pin(pin(a) + pin(b));
}
__attribute__((noinline)) double sqrt_up(double a) {
  UpwardScope up;
  return pin(std::sqrt(pin(a)));
}

}  // namespace

double peak_rss_bytes() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_maxrss) * 1024.0;  // Linux: kilobytes
}

Bracket certify_point_distributed(const Grid& g, const AttentionLayer& layer, const Matrix& X,
                                  const DistributedOptions& opt) {
  const auto t0 = std::chrono::steady_clock::now();
  Bracket b;
  const long N = X.rows() * X.cols();
  // Lower side and the candidate's estimate: rank 0 alone (matrix-free Lanczos + interval JVP);
  // the estimate is broadcast so every rank builds the very same shifted matrix.
  double sigma = 0.0;
  if (g.rank() == 0) {
    const auto est = approx::jacobian_norm(layer, X);
    b.estimate = est.sigma;
    b.lower = evaluate_witness(layer, X, est.right);
    b.lower_method = "witness: ‖J(X)v‖/‖v‖ at the float top singular vector (interval JVP)";
    b.witness = Witness{"point", X, est.right};
    b.upper_evidence = UpperEvidence{"distributed", est.right};
    sigma = est.sigma.value();
  }
  MPI_Bcast(&sigma, 1, MPI_DOUBLE, 0, MPI_COMM_WORLD);

  const int nb = opt.block > 0 ? opt.block : choose_block(X.cols(), N);
  // Panels of about N/8 rows (a multiple of nb·Pr, so every process row gets whole blocks).
  const long unit = static_cast<long>(nb) * g.rows();
  const long h = opt.panel_rows > 0 ? opt.panel_rows : std::max(unit, (N / 8 + unit - 1) / unit * unit);
  const auto [s, f] = interval_state(layer, X);
  double rad2 = 0.0;
  const DistNormProof p = dist_norm2_upper(
      g, N, nb, h, [&](long r0, DistMatrix& P) { form_panel(layer, s, f, r0, P, rad2); }, sigma * sigma);
  const double radF = sqrt_up(allsum_up(rad2));  // >= ‖rad‖_F >= ‖rad‖₂
  // sup ‖J‖ over [mid ± rad] <= ‖mid‖ + ‖rad‖₂ (docs/linalg.md §4).
  b.upper = UpperBound::proved(add_up(p.bound.value(), radF));
  b.upper_method = "distributed: interval Jacobian at X on " + std::to_string(g.size()) + " ranks (" +
                   std::to_string(g.rows()) + "×" + std::to_string(g.cols()) + " grid, block " +
                   std::to_string(nb) + ", panels of " + std::to_string(h) + " rows), verified ‖mid‖ by " + p.method + " + ‖rad‖_F";
  if (g.rank() != 0) b.upper_evidence = UpperEvidence{"distributed", Matrix()};
  b.seconds = seconds_since(t0);
  return b;
}

}  // namespace attnbound::mpi
