// attnbound/bound — the analytic tier over ball regions B_R^n (docs/ball.md): proved statements
// evaluated on verified norms, any n and any n·d.
//
// Guarantee of analytic_upper: `upper` >= Lip(f|B_R^n) for the exact layer, by the statement it
// names (docs/ball.md gives every proof; THEORY.md §3 the older ones). The statement values are
// increasing in every constant, and the constants recorded (AnalyticConstants) are proved upper
// bounds of the exact norms, so the value evaluated in MPFI at the recorded constants bounds the
// value at the exact norms.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "bound/bound.hpp"

namespace attnbound {

/// Two-sided enclosures of the per-head norms a statement needs (augmented form Ã_h when the
/// layer has query/key biases): a = ‖A_h‖, v = ‖W_O^h W_V^h‖ = ‖V_h‖, w = ‖W_V^h‖.
struct HeadNormEnclosure {
  MpInterval a, v, w;
  /// Which enclosure a and v came from: true for the d_k × d_k route, false for the generic d × d
  /// one (their widths differ by orders of magnitude, docs/linalg.md §6.1).
  bool a_lowrank = false, v_lowrank = false;
};
struct LayerNormEnclosure {
  bool augmented = false;
  std::vector<HeadNormEnclosure> heads;
  MpInterval wo;  // ‖W_O‖, the whole output projection [W_O^1 … W_O^H] (d × Σ d_k)
};

/// Enclosure of ‖PᵀQ‖ (P, Q: k × m) through the k × k problem (Cholesky of QQᵀ, Weyl), or nullopt
/// if a pivot is not certainly positive. ~1e-14-relative tight for well-conditioned factors.
std::optional<MpInterval> lowrank_norm_enclosure(const Matrix& P, const Matrix& Q);

/// Guarantee: every field encloses the exact norm. Heads with d_k < d use the d_k × d_k route
/// (lowrank_norm_enclosure); others the generic paper-form enclosure and verified norms.
LayerNormEnclosure layer_norm_enclosure(const AttentionLayer& layer);

/// Statement ids of the analytic tier, cheapest-to-sharpest order is irrelevant: the tier takes
/// the minimum of the applicable ones. "U1", "U1-sharp" (THEORY.md), "U-sum", "U-stack"
/// (docs/ball.md), "MF-block" (unmasked), "MF-causal" (causal) (THEORY.md).
const std::vector<std::string>& analytic_statement_ids();
/// True if the statement covers a layer with this mask.
bool analytic_applies(const std::string& id, bool causal);

/// The statement's value at the constants, in MPFI (an enclosure of the exact formula at the
/// exact recorded doubles). Throws std::invalid_argument for an unknown id.
/// `testing_drop_sqrt_n`: a deliberately wrong formula (U-sum/U-stack with √n := 1), only for
/// the mutation test; its value is NOT a bound.
MpInterval analytic_value(const std::string& id, const AnalyticConstants& c, bool testing_drop_sqrt_n = false);

/// One head's term of the head-wise statements at MPFI constants (for proofs/: the same
/// formulas with two-sided norm enclosures): U1 (k = 4), U1-sharp (k = 1), MF-block (m = 1),
/// MF-causal (m = 2), U-sum core.
MpInterval u1_head_value(const MpInterval& a, const MpInterval& v, const MpInterval& R2, long n, int k);
MpInterval block_head_value(const MpInterval& a, const MpInterval& v, const MpInterval& R2, int m);
/// c(a, R², n) = √n + aR²(√(n/2) + 1): the per-head core of U-sum and U-stack (docs/ball.md §2).
MpInterval usum_core(const MpInterval& a, const MpInterval& R2, long n);

struct AnalyticOptions {
  bool testing_drop_sqrt_n = false;  // mutation test only: the result is then NOT a bound
};

struct AnalyticBound {
  UpperBound upper = UpperBound::infinity();
  std::string statement;  // the id that gave `upper`
  AnalyticConstants constants;
  std::vector<std::pair<std::string, double>> values;  // every applicable statement, rounded up
  double seconds = 0.0;
};

/// The minimum over the applicable statements, proved (see the file comment). Never throws for a
/// valid layer; non-finite values are skipped (the result may then be +inf).
AnalyticBound analytic_upper(const AttentionLayer& layer, const BallProduct& ball, const AnalyticOptions& opt = {});

}  // namespace attnbound
