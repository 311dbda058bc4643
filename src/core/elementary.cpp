#include "core/elementary.hpp"

#include <mpfr.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>

#include "core/rounding.hpp"

namespace attnbound::detail {

namespace {

constexpr int kDegree = 15;           // Taylor degree; the remainder r^16/16! e^xi is >= 0.
constexpr double kMaxReduced = 0.36;  // |r| <= ln2/2 + tiny, checked at run time.

// Constants of the range reduction and the Taylor series, each derived from MPFR with the
// rounding that makes the use below safe.
struct ExpConstants {
  double ln2_hi;                 // ln2 rounded down to 42 bits: k * ln2_hi is exact for |k| < 2^11
  double ln2_lo_down, ln2_lo_up; // enclosure of ln2 - ln2_hi (> 0)
  double inv_ln2;                // any approximation; only steers the choice of k
  double coef_down[kDegree + 1], coef_up[kDegree + 1];  // enclosures of 1/j!
  double remainder_coef_up;      // >= e^0.36 / 16!: |e^r - T_15(r)| <= this * r^16 for |r| <= 0.36
};

ExpConstants make_constants() {
  ExpConstants c{};
  mpfr_t hi, t, u;
  mpfr_init2(hi, 42);
  mpfr_init2(t, 320);
  mpfr_init2(u, 320);
  mpfr_const_log2(hi, MPFR_RNDD);
  c.ln2_hi = mpfr_get_d(hi, MPFR_RNDN);  // exact: 42 bits fit a double
  mpfr_const_log2(t, MPFR_RNDN);         // 320-bit ln2, error 2^-320
  mpfr_sub(t, t, hi, MPFR_RNDN);         // exact (hi has 42 bits)
  // t is within 2^-320 * ln2 of ln2 - ln2_hi; the directed conversions below absorb that
  // because ln2 - ln2_hi ~ 2^-43 and a double's ulp there is ~2^-95.
  c.ln2_lo_down = std::nextafter(mpfr_get_d(t, MPFR_RNDD), 0.0);
  c.ln2_lo_up = std::nextafter(mpfr_get_d(t, MPFR_RNDU), 1.0);
  c.inv_ln2 = 1.0 / std::log(2.0);
  for (int j = 0; j <= kDegree; ++j) {
    mpfr_set_ui(t, 1, MPFR_RNDN);
    mpfr_fac_ui(u, static_cast<unsigned long>(j), MPFR_RNDN);  // j! <= 15! is exact at 320 bits
    mpfr_div(t, t, u, MPFR_RNDD);
    c.coef_down[j] = mpfr_get_d(t, MPFR_RNDD);
    mpfr_set_ui(t, 1, MPFR_RNDN);
    mpfr_div(t, t, u, MPFR_RNDU);
    c.coef_up[j] = mpfr_get_d(t, MPFR_RNDU);
  }
  // Lagrange remainder of T_15: e^xi r^16 / 16! with |xi| <= |r| <= kMaxReduced (a double).
  mpfr_set_d(t, kMaxReduced, MPFR_RNDU);
  mpfr_exp(u, t, MPFR_RNDU);
  mpfr_fac_ui(t, kDegree + 1, MPFR_RNDD);
  mpfr_div(u, u, t, MPFR_RNDU);
  c.remainder_coef_up = mpfr_get_d(u, MPFR_RNDU);
  mpfr_clear(hi);
  mpfr_clear(t);
  mpfr_clear(u);
  return c;
}

const ExpConstants& constants() {
  static const ExpConstants c = [] {
    RoundingGuard g(Rounding::nearest);
    return make_constants();
  }();
  return c;
}

// Keeps an operation in place: the compiler may neither fold it with a differently rounded twin
// nor move it (GCC 12 does both despite -frounding-math; see NUMERICS.md).
inline double pin(double x) {
  asm volatile("" : "+x"(x));
  return x;
}

// Upward-mode helpers; lower bounds through negation (exact).
inline double up_add(double a, double b) { return pin(a + b); }
inline double up_mul(double a, double b) { return pin(a * b); }
inline double dn_add(double a, double b) { return -pin((-a) - b); }
inline double dn_mul(double a, double b) { return -pin(a * (-b)); }

// Exact 2^m for -1022 <= m <= 1023.
inline double pow2(int m) {
  std::uint64_t bits = static_cast<std::uint64_t>(m + 1023) << 52;
  double r;
  std::memcpy(&r, &bits, sizeof r);
  return r;
}

// Upward rounding of p * 2^k for p in [0.5, 2] and |k| <= 1100: every multiplication but the last
// is exact, the last rounds upward (also into the subnormal range and to +inf on overflow).
inline double scale_up(double p, int k) {
  while (k > 1000) {
    p = up_mul(p, pow2(1000));
    k -= 1000;
  }
  while (k < -1000) {
    p = up_mul(p, pow2(-1000));
    k += 1000;
  }
  return up_mul(p, pow2(k));
}

// Enclosure [lo, hi] of T_15(r) = sum_{j<=15} r^j / j! at a point r, by Horner in interval form.
inline void taylor(const ExpConstants& c, double r, double& lo, double& hi) {
  lo = c.coef_down[kDegree];
  hi = c.coef_up[kDegree];
  for (int j = kDegree - 1; j >= 0; --j) {
    double plo, phi;
    if (r >= 0) {
      plo = dn_mul(r, lo);
      phi = up_mul(r, hi);
    } else {
      plo = dn_mul(r, hi);
      phi = up_mul(r, lo);
    }
    lo = dn_add(c.coef_down[j], plo);
    hi = up_add(c.coef_up[j], phi);
  }
}

// Reduced argument enclosure: x = k ln2 + r with r in [r_lo, r_hi]. Returns false if |r| is not
// small enough for the Taylor remainder bound (never expected; the caller falls back to MPFR).
inline bool reduce(const ExpConstants& c, double x, int& k, double& r_lo, double& r_hi) {
  const double kd = std::round(x * c.inv_ln2);  // round() ignores the rounding mode
  k = static_cast<int>(kd);
  const double y1 = kd * c.ln2_hi;  // exact: |k| < 2^11, ln2_hi has 42 bits
  const double t_hi = up_add(x, -y1);
  const double t_lo = dn_add(x, -y1);
  double kc_lo, kc_hi;  // enclosure of k * (ln2 - ln2_hi)
  if (kd >= 0) {
    kc_lo = dn_mul(kd, c.ln2_lo_down);
    kc_hi = up_mul(kd, c.ln2_lo_up);
  } else {
    kc_lo = dn_mul(kd, c.ln2_lo_up);
    kc_hi = up_mul(kd, c.ln2_lo_down);
  }
  r_hi = up_add(t_hi, -kc_lo);
  r_lo = dn_add(t_lo, -kc_hi);
  return r_lo >= -kMaxReduced && r_hi <= kMaxReduced;
}

constexpr double kOverflowArg = 709.8;     // exp(709.8) > DBL_MAX
constexpr double kUnderflowArg = -745.2;   // exp(-745.2) < 2^-1074 / 2

double mpfr_exp_dir(double x, mpfr_rnd_t rnd) {
  RoundingGuard g(Rounding::nearest);
  mpfr_t t;
  mpfr_init2(t, 53);
  mpfr_set_d(t, x, MPFR_RNDN);  // exact
  mpfr_exp(t, t, rnd);
  // MPFR's default exponent range is wider than double's: get_d applies the directed rounding
  // once more at the double boundary (subnormals, overflow), which stays on the safe side.
  double r = mpfr_get_d(t, rnd);
  mpfr_clear(t);
  return r;
}

double mpfr_log_dir(double x, mpfr_rnd_t rnd) {
  RoundingGuard g(Rounding::nearest);
  mpfr_t t;
  mpfr_init2(t, 53);
  mpfr_set_d(t, x, MPFR_RNDN);
  mpfr_log(t, t, rnd);
  double r = mpfr_get_d(t, rnd);
  mpfr_clear(t);
  return r;
}

}  // namespace

double mpfr_exp_down(double x) { return std::isnan(x) ? 0.0 : mpfr_exp_dir(x, MPFR_RNDD); }
double mpfr_exp_up(double x) {
  return std::isnan(x) ? std::numeric_limits<double>::infinity() : mpfr_exp_dir(x, MPFR_RNDU);
}

double exp_up(double x) noexcept {
  if (!(x <= kOverflowArg)) return std::numeric_limits<double>::infinity();  // NaN too
  if (x < kUnderflowArg) return x == -std::numeric_limits<double>::infinity()
                                    ? 0.0
                                    : std::numeric_limits<double>::denorm_min();
  const ExpConstants& c = constants();
  int k;
  double r_lo, r_hi;
  if (!reduce(c, x, k, r_lo, r_hi)) return mpfr_exp_up(x);
  double lo, hi;
  taylor(c, r_hi, lo, hi);
  double r2 = up_mul(r_hi, r_hi), r4 = up_mul(r2, r2), r8 = up_mul(r4, r4), r16 = up_mul(r8, r8);
  return scale_up(up_add(hi, up_mul(c.remainder_coef_up, r16)), k);
}

double exp_down(double x) noexcept {
  if (!(x >= kUnderflowArg)) return 0.0;  // NaN too
  if (x > kOverflowArg) return std::numeric_limits<double>::max();
  const ExpConstants& c = constants();
  int k;
  double r_lo, r_hi;
  if (!reduce(c, x, k, r_lo, r_hi)) return mpfr_exp_down(x);
  double lo, hi;
  taylor(c, r_lo, lo, hi);  // T_15(r) <= e^r: the remainder is >= 0
  return -scale_up(-lo, k);
}

double log_down(double x) {
  if (std::isnan(x) || x < 0) return -std::numeric_limits<double>::infinity();
  return mpfr_log_dir(x, MPFR_RNDD);
}

double log_up(double x) {
  if (std::isnan(x)) return std::numeric_limits<double>::infinity();
  if (x < 0) return std::numeric_limits<double>::quiet_NaN();
  return mpfr_log_dir(x, MPFR_RNDU);
}

}  // namespace attnbound::detail
