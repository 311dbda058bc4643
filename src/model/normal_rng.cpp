#include "model/normal_rng.hpp"

#include <mpfr.h>

#include <cmath>

#include "core/rounding.hpp"

namespace attnbound::model_detail {

std::uint64_t splitmix64(std::uint64_t& state) {
  std::uint64_t z = (state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

NormalRng::NormalRng(std::uint64_t seed) {
  std::uint64_t st = seed;
  for (auto& w : s_) w = splitmix64(st);
}

namespace {
inline std::uint64_t rotl(std::uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

/// Sign of v² + 4 u² ln u, exactly enough: MPFR results are correctly rounded, hence the same on
/// every machine. v² and u² are exact at 128 bits; ln u carries a relative error below 2^-255.
bool accept_exact(double u, double v) {
  mpfr_t a, b, l;
  mpfr_inits2(256, a, b, l, static_cast<mpfr_ptr>(nullptr));
  mpfr_set_d(a, v, MPFR_RNDN);
  mpfr_sqr(a, a, MPFR_RNDN);  // v², exact
  mpfr_set_d(b, u, MPFR_RNDN);
  mpfr_log(l, b, MPFR_RNDN);
  mpfr_sqr(b, b, MPFR_RNDN);  // u², exact
  mpfr_mul(b, b, l, MPFR_RNDN);
  mpfr_mul_2ui(b, b, 2, MPFR_RNDN);
  mpfr_add(a, a, b, MPFR_RNDN);
  const bool ok = mpfr_sgn(a) <= 0;
  mpfr_clears(a, b, l, static_cast<mpfr_ptr>(nullptr));
  return ok;
}
}  // namespace

std::uint64_t NormalRng::next_u64() {
  const std::uint64_t result = rotl(s_[1] * 5, 7) * 9;
  const std::uint64_t t = s_[1] << 17;
  s_[2] ^= s_[0];
  s_[3] ^= s_[1];
  s_[1] ^= s_[2];
  s_[0] ^= s_[3];
  s_[2] ^= t;
  s_[3] = rotl(s_[3], 45);
  return result;
}

double NormalRng::uniform_open0() {
  return static_cast<double>((next_u64() >> 11) + 1) * 0x1p-53;
}

double NormalRng::normal() {
  RoundingGuard nearest(Rounding::nearest);
  for (;;) {
    const double u = uniform_open0();
    const double w = static_cast<double>(next_u64() >> 11) * 0x1p-53;
    const double v = 1.7156 * (w - 0.5);  // |V| <= 0.8578 >= sqrt(2/e): the region's height
    if (ratio_of_uniforms_accept(u, v)) return v / u;
  }
}

bool ratio_of_uniforms_accept(double u, double v) {
  // g = v² + 4 u² ln u; |g| <= 1 and its float error (any libm within a few ulps, with or without
  // FMA contraction) is ~1e-15, far below the margin: outside it the sign is certain.
  const double g = v * v + 4.0 * u * u * std::log(u);
  return std::fabs(g) > 1e-12 ? g < 0 : accept_exact(u, v);
}

}  // namespace attnbound::model_detail
