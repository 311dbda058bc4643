// Verified model quantities for the statements: two-sided enclosures of ‖A_h‖ and ‖V_h‖ (of the
// augmented Ã_h, Ṽ_h when the layer has query/key biases) and of the radius R² (or R² + 1).
//
// Why both sides: a statement's value S(a, v, R) is increasing in a and v, so
// S ∈ [S(a_lo, v_lo), S(a_hi, v_hi)]. The lower end is what "holds" is compared with (certified
// upper ≤ S.lo), the upper end what "refuted" is compared with (certified lower > S.hi). One-sided
// norms would make one of the two verdicts unsound.
//
// Why tight: MF-type values carry e^{2aR²}, which turns a relative width δ of ‖A_h‖ into 2aR²·δ
// (≈ 1100 δ for GPT-2 at R = 100). The generic d × d route (paper_form_enclosure + Gram/Cholesky,
// δ ≈ 7e-11 at d = 768) would leave MF only ~1e-7-accurate. Heads with d_k < d therefore go through
// the d_k × d_k problem, in MPFI:
//   ‖PᵀQ‖² = λmax(QᵀPPᵀQ) = λmax(G_P G_Q) = ‖L_Qᵀ L_P‖²,  G_P = PPᵀ = L_P L_Pᵀ, G_Q = QQᵀ = L_Q L_Qᵀ,
// with P = W̃_Q, Q = W̃_K for A_h (then / √divisor) and P = W_Oᵀ, Q = W_V for V_h. G_P, G_Q are
// enclosed by directed-rounding GEMMs, their Cholesky factors by an interval Cholesky (which
// encloses the factor of every symmetric member; it fails, and the generic route is used, if a
// pivot is not certainly positive), and ‖L_Qᵀ L_P‖ by the pure-MPFI verified norm. The code now
// lives in src/bound/analytic.cpp (the engine's analytic tier uses the same enclosures).
#include "bound/analytic.hpp"
#include "proofs/theorems.hpp"

namespace attnbound::proofs {

// The norms themselves are computed by the engine's analytic tier (src/bound/analytic.cpp), which
// `certify` uses for the same statements; the checker re-derives them with its own code.
ModelQuantities model_quantities(const AttentionLayer& layer, double R) {
  ModelQuantities q;
  const LayerNormEnclosure e = layer_norm_enclosure(layer);
  q.augmented = e.augmented;
  q.R = R;
  const MpInterval r(R);
  q.R2 = r * r;
  if (q.augmented) q.R2 += MpInterval(1);
  for (const HeadNormEnclosure& h : e.heads) q.heads.push_back({h.a, h.v, h.a_lowrank, h.v_lowrank});
  return q;
}

}  // namespace attnbound::proofs
