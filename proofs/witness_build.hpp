// Internal to proofs/: building the THEORY.md witnesses (approximate choices; the values at these
// points are always re-derived rigorously by the callers).
#pragma once

#include <optional>

#include "proofs/theorems.hpp"

namespace attnbound::proofs::detail {

/// ≈ extreme eigenpairs of sym(A_h) = (A_h + A_hᵀ)/2 (paper form, not augmented). Dense for small
/// d or full-rank heads; otherwise Lanczos with the factored product x ↦ (W_Qᵀ W_K x + W_Kᵀ W_Q x)/2s,
/// O(d·d_k) per step instead of a d × d eigen-decomposition (12 of them cost seconds at GPT-2 width).
struct SymExtremes {
  double lmax = 0.0, lmin = 0.0;
  Vector umax, umin;
};
SymExtremes sym_extremes(const AttentionLayer& layer, long head);

/// w ≈ (R/2)·u with u the top eigenvector of sym(A_h) (float), shrunk until 2w is proved inside
/// B_R; c ≈ wᵀA_h w (float, = qR²/4 up to rounding). nullopt when sym(A_h) has no positive
/// eigenvalue. Paper form without augmentation (callers check the hypotheses).
struct LB1Direction {
  Vector w;
  double c = 0.0;
  long head = 0;
};
std::optional<LB1Direction> lb1_direction(const AttentionLayer& layer, long head, double R);

/// k ≈ n e^{−c} / (1 + e^{−c}) clamped to [1, n − 1] (THEORY.md LB-cluster: k/(n−k) ≈ e^{−c}).
long cluster_k(long n, double c);

/// LB1 as clusters: {2w} × 1, {w} × (n − 1); direction w on the first token.
ClusteredWitness lb1_clustered(const LB1Direction& w, long n);
/// LB-cluster as clusters: {2w} × k, {w} × (n − k); direction w on every token of the first cluster.
ClusteredWitness lbcluster_clustered(const LB1Direction& w, long n, long k);

/// The witness family the engine uses for head h (bound/witness.cpp's constructions), as two
/// clusters {y_1} × first, {y_2} × rest with the direction on the first cluster, positions proved
/// inside B_R: LB1 (x_1 = Ru, x_j = Ru/2, u the top eigenvector), the mirrored LB1 when
/// λmax ≤ −8λmin (x_1 = −Ru_min, x_j = Ru_min), and — when `with_cluster` — the LB-cluster
/// variant of each, {y_1} × k, {y_2} × (n − k) with k/(n−k) ≈ e^{−c}, c = y_2ᵀA(y_1 − y_2). n >= 2.
std::vector<ClusteredWitness> head_witnesses(const AttentionLayer& layer, long head, double R, long n,
                                             bool with_cluster);

}  // namespace attnbound::proofs::detail
