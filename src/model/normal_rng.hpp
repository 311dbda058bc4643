// Deterministic pseudo-random numbers for the builtin models: the same seed gives the same
// doubles on every machine and compiler (unlike std::normal_distribution, whose algorithm is
// implementation-defined). Approximate by design: nothing here is part of a proof.
//
//   seeding   : splitmix64 (Steele, Lea, Flood 2014) run from `seed` gives the 4 state words
//   uniforms  : xoshiro256** (Blackman, Vigna 2018); u53 = next() >> 11
//   normals   : ratio of uniforms (Kinderman, Monahan 1977): U = (u53 + 1) 2^-53 in (0, 1],
//               W = u53' 2^-53 in [0, 1), V = 1.7156 (W - 1/2); accept iff V² <= -4 U² ln U,
//               return V / U. The acceptance test is decided exactly (docs/models.md): in double
//               with libm's log when the margin exceeds 1e-12, else with MPFR at 256 bits, so
//               libm's last-bit differences cannot change a decision.
//
// Every operation producing an output value is a single IEEE operation (exact power-of-two
// scalings, one subtraction, one product, one quotient), hence identical everywhere.
#pragma once

#include <cstdint>

namespace attnbound::model_detail {

class NormalRng {
 public:
  explicit NormalRng(std::uint64_t seed);
  std::uint64_t next_u64();
  /// Uniform on (0, 1], a multiple of 2^-53.
  double uniform_open0();
  /// A standard normal deviate.
  double normal();

 private:
  std::uint64_t s_[4];
};

/// The ratio-of-uniforms acceptance test V² <= -4 U² ln U for U in (0, 1], decided exactly (see
/// above); identical on every machine.
bool ratio_of_uniforms_accept(double u, double v);

/// splitmix64 step: advances `state` and returns the next output.
std::uint64_t splitmix64(std::uint64_t& state);

}  // namespace attnbound::model_detail
