// Shared test helpers: logged seeds and high-precision MPFR references.
#pragma once

#include <gtest/gtest.h>
#include <mpfr.h>

#include <cstdint>
#include <cstdlib>
#include <random>
#include <string>

namespace attnbound::testing {

/// Seed for a test's RNG: ATTNBOUND_SEED if set, else `fallback`. Recorded in the test log so a
/// failure can be replayed.
inline std::uint64_t seed(std::uint64_t fallback) {
  std::uint64_t s = fallback;
  if (const char* e = std::getenv("ATTNBOUND_SEED")) s = std::strtoull(e, nullptr, 10);
  ::testing::Test::RecordProperty("seed", std::to_string(s));
  return s;
}

/// A high-precision MPFR number (RAII).
class Big {
 public:
  explicit Big(mpfr_prec_t prec = 256) { mpfr_init2(v_, prec); }
  Big(double x, mpfr_prec_t prec) : Big(prec) { mpfr_set_d(v_, x, MPFR_RNDN); }
  ~Big() { mpfr_clear(v_); }
  Big(const Big&) = delete;
  Big& operator=(const Big&) = delete;
  mpfr_ptr get() { return v_; }
  mpfr_srcptr get() const { return v_; }
  /// lo <= this <= hi, compared exactly.
  bool inside(double lo, double hi) const {
    return mpfr_cmp_d(v_, lo) >= 0 && mpfr_cmp_d(v_, hi) <= 0;
  }

 private:
  mpfr_t v_;
};

}  // namespace attnbound::testing
