// The paper form of each head (THEORY.md §1): A_h = W_Qᵀ W_K / sqrt(divisor), V_h = W_O W_V, so
// that s_ij = x_iᵀ A_h x_j and f(X)_i = Σ_h Σ_j P^h_ij V_h x_j + const. With query/key biases the
// augmented token x̃ = (x, 1) gives Ã_h = [W_Q, b_Q]ᵀ [W_K, b_K] / sqrt(divisor) and
// Ṽ_h = [V_h, 0], on the ball of radius sqrt(R² + 1).
#pragma once

#include <vector>

#include "core/core.hpp"
#include "model/layer.hpp"

namespace attnbound {

/// Enclosures of (A_h, V_h) — or of the augmented (Ã_h, Ṽ_h) — for every head.
/// Guarantee: each interval matrix contains the exact matrix. Requires an UpwardScope.
struct PaperFormEnclosure {
  std::vector<IMatrix> A, V;
  bool augmented = false;  // tokens are (x, 1): A is (d+1)×(d+1), V is d×(d+1)
};
PaperFormEnclosure paper_form_enclosure(const AttentionLayer& layer, bool augment);

/// True if some head has a non-zero query or key bias (then the augmented form is needed).
bool needs_augmentation(const AttentionLayer& layer);

/// [W, b] when `augment` (the bias appended as a last column, exact), else W.
Matrix with_bias(const Matrix& W, const Vector& b, bool augment);

namespace approx {
/// Floating-point (A_h, V_h) (augmented if requested). No guarantee: for building witnesses.
struct PaperForm {
  std::vector<Matrix> A, V;
  bool augmented = false;
};
PaperForm paper_form(const AttentionLayer& layer, bool augment);
}  // namespace approx

}  // namespace attnbound
