// MpInterval: an interval with MPFR endpoints (MPFI), precision chosen at run time.
//
// Guarantee: like Interval, every operation returns an enclosure of the exact result over its
// operands, at any precision (MPFI rounds each endpoint outward). Independent of the hardware
// rounding mode, so it is safe in any thread and any scope. Used by the checker and as the
// high-precision reference in tests.
//
// Precision: a thread-local default (128 bits unless changed), set with `MpPrecision`. A result has
// the larger of its operands' precisions and the thread default.
#pragma once

#include <mpfi.h>
#include <mpfr.h>

#include <Eigen/Core>
#include <iosfwd>
#include <string>

#include "core/interval.hpp"

namespace attnbound {

class MpInterval {
 public:
  /// The calling thread's default precision in bits (128 until changed).
  static mpfr_prec_t default_precision();

  MpInterval();                       // [0, 0]
  MpInterval(double x);               // exact [x, x]  (implicit: doubles convert exactly)
  MpInterval(int x);                  // exact
  explicit MpInterval(const Interval& x);  // same endpoints (exact)
  /// [lo, hi] exactly; lo <= hi.
  static MpInterval hull(double lo, double hi);
  /// The enclosure of a decimal string such as "0.1" or "1e-3" (outward rounded).
  static MpInterval from_decimal(const std::string& text);

  MpInterval(const MpInterval& o);
  MpInterval(MpInterval&& o) noexcept;
  MpInterval& operator=(const MpInterval& o);
  MpInterval& operator=(MpInterval&& o) noexcept;
  ~MpInterval();

  MpInterval& operator+=(const MpInterval& o);
  MpInterval& operator-=(const MpInterval& o);
  MpInterval& operator*=(const MpInterval& o);
  MpInterval& operator/=(const MpInterval& o);
  MpInterval operator-() const;

  /// Lower endpoint rounded down to double, upper endpoint rounded up: a double enclosure.
  double lower_down() const;
  double upper_up() const;
  /// The exact endpoints as degenerate intervals.
  MpInterval lower_point() const;
  MpInterval upper_point() const;
  /// Nearest double to the midpoint (no guarantee: an estimate).
  double mid_approx() const;
  Interval to_interval() const;  // [lower_down, upper_up]; requires an UpwardScope
  mpfr_prec_t precision() const;
  bool is_empty() const;  // NaN endpoints
  bool contains(double v) const;
  bool contains(const MpInterval& inner) const;
  /// Upper bound on the width, as a double.
  double width_up() const;
  std::string str(int digits = 20) const;

  mpfi_srcptr raw() const { return v_; }
  mpfi_ptr raw() { return v_; }

  friend MpInterval exp(const MpInterval& x);
  friend MpInterval log(const MpInterval& x);
  friend MpInterval sqrt(const MpInterval& x);
  friend MpInterval abs(const MpInterval& x);
  friend MpInterval square(const MpInterval& x);
  friend MpInterval hull(const MpInterval& a, const MpInterval& b);

 private:
  explicit MpInterval(mpfr_prec_t prec, int /*tag*/);
  mpfi_t v_;
};

/// RAII: sets this thread's default MpInterval precision (bits) for the scope.
class MpPrecision {
 public:
  explicit MpPrecision(mpfr_prec_t bits);
  ~MpPrecision();
  MpPrecision(const MpPrecision&) = delete;
  MpPrecision& operator=(const MpPrecision&) = delete;

 private:
  mpfr_prec_t saved_;
};

MpInterval operator+(MpInterval a, const MpInterval& b);
MpInterval operator-(MpInterval a, const MpInterval& b);
MpInterval operator*(MpInterval a, const MpInterval& b);
MpInterval operator/(MpInterval a, const MpInterval& b);

bool certainly_less(const MpInterval& a, const MpInterval& b);
/// True if every element of a is <= every element of b (false if either is empty).
bool certainly_le(const MpInterval& a, const MpInterval& b);
bool certainly_positive(const MpInterval& a);
std::ostream& operator<<(std::ostream& os, const MpInterval& x);

}  // namespace attnbound

namespace Eigen {
template <>
struct NumTraits<attnbound::MpInterval> : attnbound::detail::EigenScalarTraits<attnbound::MpInterval, 8, 64, 128> {};
}  // namespace Eigen
