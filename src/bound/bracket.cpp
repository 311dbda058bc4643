#include <chrono>
#include <cmath>

#include "bound/bound.hpp"

namespace attnbound {

double Bracket::gap() const {
  if (!(lower.value() > 0)) return std::numeric_limits<double>::infinity();
  return upper.value() / lower.value() - 1.0;
}

bool Bracket::meets(double tol) const {
  if (!(lower.value() > 0) || !upper.is_finite()) return false;
  // upper <= lower (1 + tol), with the right-hand side rounded down.
  return upper.value() <= mul_down(lower.value(), add_down(1.0, tol));
}

}  // namespace attnbound
