// Internal to the structured and first-order tiers (structured*.cpp, first_order.cpp): not part of bound.hpp.
#pragma once

#include <vector>

#include "core/core.hpp"
#include "model/layer.hpp"

namespace attnbound::detail {

/// One head's factors at X, as enclosures stored d × n (token l = column l, contiguous):
/// U = W_O Vᵀ (columns W_O v_l), Ubar = U Pᵀ, B = W_Kᵀ Qᵀ (columns W_Kᵀ q_i), G = W_Qᵀ Kᵀ,
/// Gkap = W_Qᵀ κᵀ for the exact centres κ_i; P^h between Plo and Pup entrywise; s >= the scale.
struct HeadFactors {
  MidRad U, Ubar, B, G, Gkap;
  Matrix Plo, Pup;
  double s = 0.0;
};

/// Model constants: mu[h] >= ‖W_O^h W_V^h‖, mu_all >= ‖Σ_h W_O^h W_V^h‖, wo_wv >= ‖W_O‖‖W_V‖.
struct GramBlockConstants {
  std::vector<double> mu;
  double mu_all = 0.0, wo_wv = 0.0;
};

/// Bounds of the three parts of every block J_il = (P part) + (rank-one part) + δ_il (diagonal
/// part): P(i, l), R(i, l) and D(i) bound their norms, so P + R + diag(D) >= ‖J_il‖ blockwise (zero
/// where the mask hides l from i).
struct BlockParts {
  Matrix P, R;
  Vector D;
};

/// Guarantee: the BlockParts of J(X), with the heads kept together through H × H Gram matrices
/// (structured_gram.cpp). Rows are split over `threads` workers, each under its own upward
/// rounding. `drop_diagonal` is the mutation switch of StructuredOptions (then D = 0: no bound).
BlockParts head_gram_block_norms(const std::vector<HeadFactors>& F, const GramBlockConstants& c, Mask mask,
                                 int threads, bool drop_diagonal);

/// The cores of one head row by row (structured_core.cpp), from enclosures P, V, v̄ = PV, K and
/// exact centres κ (Kap, zero radius): gamma(i) >= s‖Σ_j P_ij (v_j − v̄_i)(k_j − κ_i)ᵀ‖ (the query
/// core's diagonal block) and mu(i) >= s‖[P_il (v_l − v̄_i)]_l‖ (the key core's row factor), for
/// any s' <= s. Precondition: upward rounding.
struct CoreRows {
  Vector gamma, mu;
};
CoreRows core_row_norms(const MidRad& P, const MidRad& V, const MidRad& Vbar, const MidRad& K, const MidRad& Kap,
                        double s, bool causal);

/// Guarantee: >= ‖B‖ for the key-side core B, given mu from core_row_norms and the enclosed
/// queries Q: ‖B‖ <= ‖diag(mu) Q‖. Precondition: upward rounding.
double key_core_bound(const Vector& mu, const MidRad& Q);

/// D(i, l) >= ‖a − b‖ for every a ∈ A row l, b ∈ B row i (midpoint-radius rows), as
/// ‖a_mid − b_mid‖ + ‖a_rad‖ + ‖b_rad‖ with ‖x − y‖² <= ‖x‖² + ‖y‖² + 2 fl_up(x·(−y)).
/// Precondition: upward rounding (every GEMM entry is then an upper bound of its exact value).
Matrix pair_dist_up(const MidRad& A, const MidRad& B);

/// Verified upper bounds (linalg's Gram + Cholesky proof) of the norms of the stacked weights of all
/// heads: ‖[W_O^1 … W_O^H]‖, ‖[W_V^1; …; W_V^H]‖, the same for W_K and W_Q, and, with `with_in`,
/// ‖[W_V; W_K; W_Q]‖ over all heads (else 0). Any rounding mode.
struct Stacked {
  double o = 0.0, v = 0.0, k = 0.0, q = 0.0;
  double in = 0.0;
};
Stacked stacked_norms(const AttentionLayer& layer, bool with_in);

}  // namespace attnbound::detail
