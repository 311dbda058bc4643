#include "core/rounding.hpp"

#include <cfenv>
#include <cstdint>
#if defined(__SSE2__)
#include <immintrin.h>
#endif

namespace attnbound {

namespace {

int to_fe(Rounding mode) {
  switch (mode) {
    case Rounding::nearest: return FE_TONEAREST;
    case Rounding::upward: return FE_UPWARD;
    case Rounding::downward: return FE_DOWNWARD;
    case Rounding::toward_zero: return FE_TOWARDZERO;
  }
  return FE_TONEAREST;
}

// Opaque to the optimiser: the canary's operands must be read at run time, in the current mode.
__attribute__((noinline)) double opaque(double x) {
  asm volatile("" : "+x"(x));
  return x;
}

__attribute__((noinline)) double add_in_current_mode(double a, double b) {
  double r = opaque(a) + opaque(b);
  asm volatile("" : "+x"(r));
  return r;
}

}  // namespace

namespace detail {
thread_local signed char guarded_mode = -1;
}  // namespace detail

namespace {
// The SSE rounding mode as an FE_* value (one MXCSR read; fegetround is a libm call that also
// reads the x87 word). Doubles are SSE arithmetic here (-mfpmath=sse, ASSUMPTIONS.md).
int sse_mode() {
#if defined(__SSE2__)
  switch (_mm_getcsr() & 0x6000u) {
    case 0x0000u: return FE_TONEAREST;
    case 0x2000u: return FE_DOWNWARD;
    case 0x4000u: return FE_UPWARD;
    default: return FE_TOWARDZERO;
  }
#else
  return std::fegetround();
#endif
}
}  // namespace

// fesetround (x87 and SSE words) is skipped when the hardware already rounds as requested: nested
// guards of the same mode are common in the small-matrix kernels of branch-and-bound, and the
// libm call was an eighth of its time. The decision reads the hardware, never the thread-local.
__attribute__((noinline)) RoundingGuard::RoundingGuard(Rounding mode)
    : saved_(sse_mode()), installed_(to_fe(mode)), outer_(detail::guarded_mode) {
  if (saved_ != installed_) std::fesetround(installed_);
  detail::guarded_mode = static_cast<signed char>(mode);
  asm volatile("" ::: "memory");
}

__attribute__((noinline)) RoundingGuard::~RoundingGuard() {
  asm volatile("" ::: "memory");
  if (saved_ != installed_) std::fesetround(saved_);
  detail::guarded_mode = outer_;
}

Rounding current_rounding() {
  switch (std::fegetround()) {
    case FE_UPWARD: return Rounding::upward;
    case FE_DOWNWARD: return Rounding::downward;
    case FE_TOWARDZERO: return Rounding::toward_zero;
    default: return Rounding::nearest;
  }
}

bool rounding_is_upward() noexcept {
#if defined(__SSE2__)
  return (_mm_getcsr() & 0x6000u) == 0x4000u;
#else
  return std::fegetround() == FE_UPWARD;
#endif
}

const char* rounding_canary() {
  const double tiny = 0x1p-54;
  const double up1 = 1.0 + 0x1p-52;
  const Rounding before = current_rounding();
  {
    RoundingGuard g(Rounding::nearest);
    if (add_in_current_mode(1.0, tiny) != 1.0) return "round-to-nearest: 1 + 2^-54 != 1";
  }
  {
    RoundingGuard g(Rounding::upward);
    if (!rounding_is_upward()) return "upward guard did not set the SSE rounding mode";
    if (add_in_current_mode(1.0, tiny) != up1) return "upward: 1 + 2^-54 did not round up";
    if (add_in_current_mode(-1.0, -tiny) != -1.0) return "upward: -1 - 2^-54 did not round up";
    {
      RoundingGuard inner(Rounding::downward);
      if (add_in_current_mode(-1.0, -tiny) != -up1) return "downward: -1 - 2^-54 did not round down";
    }
    if (!rounding_is_upward()) return "nested guard did not restore the upward mode";
  }
  if (current_rounding() != before) return "guard did not restore the previous mode";
  {
    // Subnormals must be honoured (no flush-to-zero / denormals-are-zero).
    RoundingGuard g(Rounding::nearest);
    if (add_in_current_mode(0x1p-1074, 0x1p-1074) != 0x1p-1073) return "subnormal addition flushed (DAZ/FTZ set?)";
    if (add_in_current_mode(0x1p-1022, -0x1.8p-1022) != -0x1p-1023) return "subnormal result flushed to zero (FTZ set?)";
  }
  return "";
}

}  // namespace attnbound
