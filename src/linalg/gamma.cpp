// The a-priori rounding-error constant γ_k of the floating-point error analyses (docs/linalg.md §1).
#include <limits>

#include "core/interval.hpp"
#include "linalg/detail.hpp"

namespace attnbound::detail {

__attribute__((noinline)) double gamma_up(long k) {
  if (k < 0) k = 0;
  UpwardScope up;
  // k·u is exact (k < 2^53 and u a power of two). The denominator is rounded down as
  // -(fl_up(k·u − 1)) (it is exact anyway for k·u <= 1/4) and the quotient up, so the result is
  // >= γ_k.
  double ku = static_cast<double>(k) * kUnitRoundoff;
  asm volatile("" : "+x"(ku));
  if (!(ku < 0.25)) return std::numeric_limits<double>::infinity();
  double num = ku, den = ku - 1.0;
  asm volatile("" : "+x"(den));
  den = -den;
  asm volatile("" : "+x"(num), "+x"(den));
  double g = num / den;
  asm volatile("" : "+x"(g));
  return g;
}

}  // namespace attnbound::detail
