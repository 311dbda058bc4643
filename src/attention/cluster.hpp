// Exact cluster reduction of the Jacobian (THEORY.md §3) for unmasked layers.
//
// If the tokens take C distinct positions y_c with multiplicities m_c, then with cluster weights
// w_ce = m_e exp(s_ce) / Σ_e' m_e' exp(s_ce') (per head), the Jacobian leaves two orthogonal
// subspaces invariant: cluster-constant perturbations, where in the isometric coordinates
// ζ_c = √m_c z_c it acts as the Cd × Cd matrix
//   J_sym(c, e) = Σ_h √(m_c/m_e) w_ce W_O [W_V + s (v_e − v̄_c) q_cᵀ W_K] + δ_ce D_c,
// and within-cluster zero-sum perturbations, where it acts as D_c = Σ_h s W_O C_c W_Q on cluster c
// (C_c = Σ_e w_ce (v_e − v̄_c) k_eᵀ). Hence ‖J‖ = max(‖J_sym‖, max_{m_c ≥ 2} ‖D_c‖), at a cost
// independent of n.
#pragma once

#include <vector>

#include "core/core.hpp"
#include "model/layer.hpp"

namespace attnbound {

/// Tokens as C distinct positions (rows of Y) with multiplicities m (Σ m = n, each >= 1).
struct ClusteredInput {
  Matrix Y;
  std::vector<long long> m;
};

/// The distinct rows of X (exact equality) and their counts.
ClusteredInput clusters_of(const Matrix& X);

/// J restricted to its two invariant subspaces: J_sym (Cd × Cd, cluster-constant modes in
/// isometric coordinates) and D_c (d × d, within-cluster modes of cluster c).
/// Guarantee for rigorous T: enclosures of the exact operators (for unmasked layers; the caller
/// checks the mask). Interval requires an UpwardScope.
template <class T>
struct ClusterOperators {
  Mat<T> Jsym;
  std::vector<Mat<T>> D;
};
template <class T>
ClusterOperators<T> cluster_operators(const AttentionLayer& layer, const ClusteredInput& in);

}  // namespace attnbound
