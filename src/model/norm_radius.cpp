// layernorm_radius (THEORY.md §3): ‖N(x)‖₂ <= ‖γ‖_∞ √d + ‖β‖₂ for every x, because the normalised
// vector z = (x - mean) / sqrt(var + eps) has ‖z‖₂ = sqrt(d var / (var + eps)) < √d (RMSNorm: the
// same with the mean square). Evaluated with upward rounding: the result is a proved upper bound.
#include <cmath>

#include "model/model.hpp"

namespace attnbound {

UpperBound layernorm_radius(const Norm& n) {
  if (n.kind == Norm::Kind::none) throw ModelError("layernorm_radius: the layer has no LayerNorm/RMSNorm");
  const Eigen::Index d = n.gamma.size();
  if (d < 1) throw ModelError("layernorm_radius: norm gamma is empty");
  double gmax = 0;  // ‖γ‖_∞: exact
  for (Eigen::Index i = 0; i < d; ++i) {
    if (!std::isfinite(n.gamma(i))) throw ModelError("layernorm_radius: norm gamma has a non-finite entry");
    gmax = std::fmax(gmax, std::fabs(n.gamma(i)));
  }
  double r = mul_up(gmax, sqrt_up(static_cast<double>(d)));  // d < 2^53: exact as a double
  if (n.kind == Norm::Kind::layernorm) {
    if (n.beta.size() != d) throw ModelError("layernorm_radius: norm beta has the wrong length");
    double s = 0;  // Σ β_i², rounded up term by term (all terms >= 0)
    for (Eigen::Index i = 0; i < d; ++i) {
      if (!std::isfinite(n.beta(i))) throw ModelError("layernorm_radius: norm beta has a non-finite entry");
      s = add_up(s, mul_up(n.beta(i), n.beta(i)));
    }
    r = add_up(r, sqrt_up(s));
  }
  return UpperBound::proved(r);
}

}  // namespace attnbound
