// Branch-and-bound over a region: sup_{X ∈ S} ‖J(X)‖ to a relative tolerance.
//
// Best-first on the leaf upper bounds (box_upper: the plain and vertex box forms; the centred form
// is left out, as it almost never wins over these boxes and costs as much as the other two);
// a box is split at the coordinate that widens its bound most (r_k ‖∂J/∂x_k(B)‖). Every
// processed box donates a lower-bound candidate (its centre, projected into the region, improved
// by a few ascent steps when promising). Boxes are dropped, with a recorded reason the checker
// re-verifies, when they certainly miss the ball ("outside"), or when a symmetry maps them into
// the kept part of the region ("symmetry:perm" — unmasked layer, permutation-invariant region,
// tokens sorted by their first coordinate; "symmetry:sign" — no query/key biases,
// sign-invariant region, Σ_i x_i[0] >= 0; both from ‖J(πX)‖ = ‖J(X)‖ and ‖J(−X)‖ = ‖J(X)‖).
//
// Guarantee: the returned Bracket's upper bounds ‖J‖ on every leaf of a partition of the region
// (recorded in Bracket::partition), and its lower is a rigorous witness value inside the region.
#pragma once

#include <cstddef>
#include <optional>
#include <utility>
#include <vector>

#include "bound/bound.hpp"

namespace attnbound {

struct BabOptions {
  double tol = 1e-2;            // stop when upper <= lower (1 + tol)
  double time_limit = 0.0;      // seconds; 0 = none
  int threads = 1;
  std::size_t max_nodes = 4'000'000;  // open boxes kept in memory; beyond it the search stops (budget)
  bool progress = false;        // progress line on stderr: boxes, queue, bracket, elapsed, ETA
                                // (the CLI enables it when stderr is a terminal)
  bool symmetry = true;
  int ascent_steps = 3;
};

/// The search options of a certify call that has already spent `elapsed` seconds: its tol,
/// threads (0 = all cores becomes at least 1) and progress, and the time left of its limit. A limit
/// already used up stays a limit (a tiny positive one: the search bounds its root and stops with
/// a valid bracket), never 0, which BabOptions reads as "no limit".
BabOptions bab_options_for(const CertifyOptions& opt, double elapsed);

struct BabStats {
  std::size_t boxes = 0;        // boxes whose bound was computed
  std::size_t leaves = 0;
  std::size_t pruned_outside = 0, pruned_symmetry = 0;
  std::size_t pruned_bound = 0;      // leaves at once: upper <= the certified lower
  std::size_t closed_within_tol = 0; // leaves at once: upper <= lower (1 + tol), never split again
  std::size_t peak_open = 0;
  double seconds = 0.0;
  bool budget = false;
};

/// Runs the search over a Box or a BallProduct. Lower starts from `initial` when given.
Bracket branch_and_bound(const AttentionLayer& layer, const Region& region, const BabOptions& opt,
                         const Bracket* initial = nullptr, BabStats* stats = nullptr);

namespace approx {

/// Seconds until the gap upper/lower − 1 is expected to reach `tol`, from the history of a running
/// search ((elapsed seconds, gap) pairs, oldest first): the excess is fitted as a power of the
/// elapsed time between the first sample at or after half the current time and the last one.
/// An ESTIMATE for the progress line, nothing more: branch-and-bound gaps fall in steps.
/// nullopt while the gap is not shrinking or the history is too short; 0 once gap <= tol.
std::optional<double> eta_seconds(const std::vector<std::pair<double, double>>& history, double tol);

}  // namespace approx

/// The symmetries the search may use for this layer and region (see above).
bool permutation_symmetric(const AttentionLayer& layer, const Region& region);
bool sign_symmetric(const AttentionLayer& layer, const Region& region);
/// True if no point of the box has non-decreasing first coordinates (exact test).
bool certainly_unsorted(const Box& b);
/// True if Σ_i x_i[0] < 0 for every point of the box (proved with upward rounding).
bool certainly_negative_sum(const Box& b);

}  // namespace attnbound
