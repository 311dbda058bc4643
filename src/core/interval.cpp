#include "core/interval.hpp"

#include <cfenv>
#include <cstdio>
#include <cstdlib>
#if defined(__SSE2__)
#include <immintrin.h>
#endif

namespace attnbound {

namespace detail {

void rounding_violation(const char* where) {
  std::fprintf(stderr,
               "attnbound: internal error: %s ran without upward rounding; refusing to produce an "
               "unsound result\n",
               where);
  std::abort();
}

#if defined(__SSE2__)
namespace {
constexpr unsigned kRcMask = 0x6000u;
inline void set_rc(unsigned rc) { _mm_setcsr((_mm_getcsr() & ~kRcMask) | rc); }
}  // namespace
void SseRoundingControl::get_rounding_mode(rounding_mode& m) { m = static_cast<int>(_mm_getcsr()); }
void SseRoundingControl::set_rounding_mode(rounding_mode m) { _mm_setcsr(static_cast<unsigned>(m)); }
void SseRoundingControl::upward() { set_rc(0x4000u); }
void SseRoundingControl::downward() { set_rc(0x2000u); }
void SseRoundingControl::to_nearest() { set_rc(0x0000u); }
void SseRoundingControl::toward_zero() { set_rc(0x6000u); }
#else
void SseRoundingControl::get_rounding_mode(rounding_mode& m) { m = std::fegetround(); }
void SseRoundingControl::set_rounding_mode(rounding_mode m) { std::fesetround(m); }
void SseRoundingControl::upward() { std::fesetround(FE_UPWARD); }
void SseRoundingControl::downward() { std::fesetround(FE_DOWNWARD); }
void SseRoundingControl::to_nearest() { std::fesetround(FE_TONEAREST); }
void SseRoundingControl::toward_zero() { std::fesetround(FE_TOWARDZERO); }
#endif

}  // namespace detail

Interval from_mid_rad(double mid, double rad) {
  if (!rounding_is_upward()) detail::rounding_violation("from_mid_rad");
  double hi = mid + rad;
  double lo = -((-mid) + rad);
  return Interval(lo, hi, true);
}

double mig(const Interval& x) {
  if (x.lower() > 0) return x.lower();
  if (x.upper() < 0) return -x.upper();
  return 0.0;
}

double width_up(const Interval& x) {
  if (!rounding_is_upward()) detail::rounding_violation("width_up");
  return x.upper() - x.lower();
}

Interval sqrt_int(long k) { return sqrt(point(static_cast<double>(k))); }

}  // namespace attnbound
