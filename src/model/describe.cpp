// describe: a short human-readable summary of a layer (for `attnbound info`). No guarantee is
// attached to the printed norms except the LayerNorm radius, which is a proved upper bound.
#include <sstream>

#include "model/json_util.hpp"
#include "model/model.hpp"

namespace attnbound {

namespace {
bool is_zero(const Vector& v) { return v.size() == 0 || (v.array() == 0).all(); }

std::string head_shape(const Head& h) {
  std::ostringstream os;
  os << "d_k = " << h.dk() << ", d_v = " << h.Wv.rows() << ", logits / sqrt(" << h.logit_divisor << ")"
     << (h.has_qk_bias() ? ", q/k bias" : "") << (is_zero(h.bv) ? "" : ", v bias");
  return os.str();
}
}  // namespace

std::string describe(const AttentionLayer& L) {
  std::ostringstream os;
  os << "source:  " << (L.source.empty() ? "(unknown)" : L.source) << "\n";
  os << "form:    " << (L.paper_form ? "paper (A_h, V_h)" : "full (W_Q, W_K, W_V, W_O per head)") << "\n";
  os << "d = " << L.d << ", " << L.n_heads() << " head" << (L.n_heads() == 1 ? "" : "s") << ", mask "
     << to_string(L.mask) << "\n";
  // Group consecutive heads with the same shape description.
  for (std::size_t h = 0; h < L.heads.size();) {
    const std::string s = L.paper_form ? std::string("A, V ") + std::to_string(L.d) + "x" + std::to_string(L.d)
                                       : head_shape(L.heads[h]);
    std::size_t e = h + 1;
    while (e < L.heads.size() && !L.paper_form && head_shape(L.heads[e]) == s) ++e;
    while (e < L.heads.size() && L.paper_form) ++e;
    os << "  head" << (e - h > 1 ? "s " + std::to_string(h) + "-" + std::to_string(e - 1) : " " + std::to_string(h))
       << ": " << s << "\n";
    h = e;
  }
  if (!L.paper_form) os << "b_O:     " << (is_zero(L.bo) ? "zero" : "nonzero") << " (does not affect the Jacobian)\n";
  if (L.norm.kind == Norm::Kind::none) {
    os << "norm:    none\n";
  } else {
    os << "norm:    " << (L.norm.kind == Norm::Kind::layernorm ? "LayerNorm" : "RMSNorm") << ", eps " << L.norm.eps;
    try {
      os << ", radius <= " << model_detail::exact_decimal(layernorm_radius(L.norm).value());
    } catch (const ModelError&) {
      os << ", radius unavailable";
    }
    os << "\n";
  }
  try {
    os << "sha256:  " << model_digest(L) << "\n";
  } catch (const ModelError& e) {
    os << "invalid: " << e.what() << "\n";
  }
  return os.str();
}

}  // namespace attnbound
