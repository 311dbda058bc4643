// Internal to proofs/: building the THEORY.md witnesses in clustered form (approximate choices; the
// values at these points are always re-derived rigorously by the callers).
#pragma once

#include <optional>

#include "proofs/theorems.hpp"

namespace attnbound::proofs::detail {

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

/// The engine's LB1 witnesses of head h (attnbound::approx::lb1_witnesses on that head alone: LB1
/// and, when λmax ≤ −8λmin, the mirrored x_1 = −Ru_min, x_j = Ru_min) in clustered form
/// {y_1} × 1, {y_2} × (n − 1), each followed by its LB-cluster variant {y_1} × k, {y_2} × (n − k) with
/// k from the float logit gap. Positions are the engine's (proved inside B_R); n >= 2.
std::vector<ClusteredWitness> engine_witnesses(const AttentionLayer& layer, long head, double R, long n);

}  // namespace attnbound::proofs::detail
