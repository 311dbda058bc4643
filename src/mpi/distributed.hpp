// attnbound/mpi — the distributed point tier: the dense verified spectral norm of J(X) on MPI +
// ScaLAPACK, each rank holding only its block-cyclic panel (docs/distributed.md).
//
// Guarantees (as the single-machine dense tier, src/bound/point.cpp):
//   * dist_norm2_upper returns an upper bound of ‖M‖₂ proved by Rump's Gram + Cholesky criterion
//     with the same constants as linalg (detail::gamma_up, detail::rump_shift_up), or a weaker
//     proved bound (Frobenius-type) whose method starts with "fallback".
//   * certify_point_distributed returns a Bracket whose lower side is the usual interval-JVP
//     witness and whose upper side is ‖mid J‖ (verified) + ‖rad J‖_F (upward), where [mid ± rad]
//     encloses the interval Jacobian at the exact point X.
// Every rank must call these collectively with identical arguments; all ranks get the same result.
#pragma once

#include <string>

#include "bound/bound.hpp"
#include "mpi/scalapack.hpp"

namespace attnbound::mpi {

struct DistNormOptions {
  int max_attempts = 6;
  /// Multiplies Rump's shift c: 1 always, except in the mutation test (0 = the "no shift" mutant).
  double shift_scale = 1.0;
};

struct DistNormProof {
  UpperBound bound = UpperBound::infinity();
  std::string method;
  int attempts = 0;
  double gram_seconds = 0, cholesky_seconds = 0;
};

/// Fills `panel` (an h × N block-cyclic matrix) with rows r0 .. r0 + h − 1 of the matrix.
using PanelSource = std::function<void(long r0, DistMatrix& panel)>;

/// Guarantee: upper bound of ‖M‖₂ for the N × N matrix M whose rows `fill` produces, panel_rows at
/// a time (the whole M never exists: memory is the Gram matrix, one panel, then half a copy of the
/// Gram for retries). theta_hint ≈ ‖M‖² (no guarantee; a low hint costs retries, never
/// soundness). Collective: every rank calls it with the same N, nb, panel_rows, theta_hint.
DistNormProof dist_norm2_upper(const Grid& g, long N, int nb, long panel_rows, const PanelSource& fill,
                               double theta_hint, const DistNormOptions& opt = {});
/// The same for a matrix held whole (square, block-cyclic); M is released.
DistNormProof dist_norm2_upper(const Grid& g, DistMatrix& M, double theta_hint, const DistNormOptions& opt = {});

/// Guarantee: true only if every real symmetric A with strictly-lower entries equal to those of
/// `work` and A_ii ∈ [lo_i, hi_i] is positive definite (Rump's test, docs/linalg.md §3.2 and §3.5):
/// the diagonal becomes fl_down(lo_i − c), c = rump_shift_up(N, Σhi, max hi)·shift_scale, then
/// PDPOTRF must succeed with finite entries. Destroys `work`. lo, hi are replicated. Collective.
bool dist_prove_pd(const Grid& g, DistMatrix& work, const std::vector<double>& lo,
                   const std::vector<double>& hi, double shift_scale = 1.0);

struct DistributedOptions {
  int block = 0;        ///< ScaLAPACK block size (0 = choose_block)
  long panel_rows = 0;  ///< rows of J formed at a time (0 = about (n·d)/8, a multiple of block·Pr)
};

/// The distributed point tier (collective). Same contract as certify_point's dense tier; the
/// upper evidence tier is "distributed".
Bracket certify_point_distributed(const Grid& g, const AttentionLayer& layer, const Matrix& X,
                                  const DistributedOptions& opt = {});

/// Peak resident memory of this process (getrusage ru_maxrss), in bytes.
double peak_rss_bytes();

}  // namespace attnbound::mpi
