// The attention layer as data: weights exactly as loaded (doubles), no derived quantities.
//
//   s^h_ij   = (W_Q^h x_i + b_Q^h)ᵀ (W_K^h x_j + b_K^h) / sqrt(logit_divisor^h)
//   P^h_ij   = softmax_j(s^h_ij) over visible j (all j, or j <= i under a causal mask)
//   f(X)_i   = Σ_h W_O^h Σ_j P^h_ij (W_V^h x_j + b_V^h) + b_O
//
// Conventions (THEORY.md §1): tokens are the rows of an n×d matrix X; W_Q, W_K, W_V are d_k×d
// ("out × in", as nn.Linear); W_O^h is d×d_k. A paper-form head (A, V) is stored exactly as
// W_Q = I, W_K = A, W_V = V, W_O = I, logit_divisor = 1, so that s_ij = x_iᵀ A x_j — no rounding.
// The divisor is kept as an integer because 1/sqrt(d_k) is not a double in general: rigorous code
// encloses it, approximate code rounds it.
#pragma once

#include <stdexcept>
#include <string>
#include <vector>

#include "core/matrix.hpp"

namespace attnbound {

enum class Mask { none, causal };
const char* to_string(Mask m);

/// A model that cannot be used as given. what() is one line naming the offending field/tensor.
class ModelError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct Head {
  Matrix Wq, Wk, Wv;  // d_k × d
  Vector bq, bk, bv;  // d_k (zero when the model has no bias)
  Matrix Wo;          // d × d_k
  long logit_divisor = 1;

  long dk() const { return Wq.rows(); }
  bool has_qk_bias() const { return (bq.array() != 0).any() || (bk.array() != 0).any(); }
};

/// Optional normalisation in front of the layer, for the LayerNorm radius (THEORY.md §3).
struct Norm {
  enum class Kind { none, layernorm, rmsnorm } kind = Kind::none;
  Vector gamma, beta;  // beta empty for RMSNorm
  double eps = 0.0;
};

struct AttentionLayer {
  long d = 0;
  Mask mask = Mask::none;
  std::vector<Head> heads;
  Vector bo;           // d (zero when absent); does not affect the Jacobian
  Norm norm;           // the normalisation feeding this layer, if known
  std::string source;  // where it came from, for messages and certificates
  bool paper_form = false;  // built from (A_h, V_h): heads are W_Q = I, W_K = A, W_V = V, W_O = I

  long n_heads() const { return static_cast<long>(heads.size()); }
  /// Throws ModelError naming the first inconsistent field (shapes, non-finite values, divisor).
  void validate() const;
};

/// A paper-form layer from (A_h, V_h) pairs (exact: no arithmetic on the weights).
AttentionLayer make_paper_layer(const std::vector<Matrix>& A, const std::vector<Matrix>& V, Mask mask);

}  // namespace attnbound
