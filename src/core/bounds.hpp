// Epistemic types: what a number is allowed to claim.
//
//   Enclosure   an interval proved to contain the quantity.
//   UpperBound  a double proved >= the quantity.   Only monotone-safe operations.
//   LowerBound  a double proved <= the quantity.   Only monotone-safe operations.
//   Estimate    a double with no guarantee. Never converts to any of the above.
//
// The only ways to make a bound are from an Enclosure/MpInterval, or through `proved(v)`, which
// rigorous code calls on a value it computed with directed rounding (grep for it in review).
// A NaN bound carries no information: UpperBound treats it as +inf and LowerBound as -inf.
// Arithmetic on bounds rounds in the safe direction by itself (each operation installs its own
// rounding mode), so these types may be used in any scope.
#pragma once

#include <cmath>
#include <limits>
#include <string>

#include "core/interval.hpp"
#include "core/mp_interval.hpp"

namespace attnbound {

// Directed scalar arithmetic usable in any rounding context (each call sets and restores the mode).
double add_up(double a, double b);
double add_down(double a, double b);
double sub_up(double a, double b);
double sub_down(double a, double b);
double mul_up(double a, double b);
double mul_down(double a, double b);
double div_up(double a, double b);
double div_down(double a, double b);
double sqrt_up(double a);
double sqrt_down(double a);

class LowerBound;

/// A value proved to be >= some quantity.
class UpperBound {
 public:
  /// Wraps `v` as a proved upper bound. Only for values produced by rigorous arithmetic.
  static UpperBound proved(double v) { return UpperBound(v); }
  static UpperBound infinity() { return UpperBound(std::numeric_limits<double>::infinity()); }
  double value() const { return v_; }
  bool is_finite() const { return std::isfinite(v_); }

  friend UpperBound operator+(UpperBound a, UpperBound b) { return UpperBound(add_up(a.v_, b.v_)); }
  /// Product of two non-negative upper bounds (precondition: both >= 0; checked, else +inf).
  friend UpperBound operator*(UpperBound a, UpperBound b);
  /// a - b for an upper bound a and a lower bound b is an upper bound of the difference.
  friend UpperBound operator-(UpperBound a, const LowerBound& b);
  /// Scaling by an exactly known non-negative factor.
  UpperBound scaled(double c) const;
  /// sqrt of a non-negative upper bound.
  UpperBound sqrt() const;
  friend UpperBound min(UpperBound a, UpperBound b) { return UpperBound(std::fmin(a.v_, b.v_)); }
  friend UpperBound max(UpperBound a, UpperBound b) { return UpperBound(std::fmax(a.v_, b.v_)); }

 private:
  explicit UpperBound(double v) : v_(std::isnan(v) ? std::numeric_limits<double>::infinity() : v) {}
  double v_;
};

/// A value proved to be <= some quantity.
class LowerBound {
 public:
  static LowerBound proved(double v) { return LowerBound(v); }
  static LowerBound zero() { return LowerBound(0.0); }
  static LowerBound minus_infinity() { return LowerBound(-std::numeric_limits<double>::infinity()); }
  double value() const { return v_; }

  friend LowerBound operator+(LowerBound a, LowerBound b) { return LowerBound(add_down(a.v_, b.v_)); }
  friend LowerBound operator*(LowerBound a, LowerBound b);  // both >= 0, else -inf
  friend LowerBound operator-(LowerBound a, const UpperBound& b) {
    return LowerBound(sub_down(a.v_, b.value()));
  }
  LowerBound scaled(double c) const;
  LowerBound sqrt() const;  // of a lower bound: sqrt(max(v, 0))
  friend LowerBound min(LowerBound a, LowerBound b) { return LowerBound(std::fmin(a.v_, b.v_)); }
  friend LowerBound max(LowerBound a, LowerBound b) { return LowerBound(std::fmax(a.v_, b.v_)); }

 private:
  explicit LowerBound(double v) : v_(std::isnan(v) ? -std::numeric_limits<double>::infinity() : v) {}
  double v_;
};

inline UpperBound operator-(UpperBound a, const LowerBound& b) {
  return UpperBound::proved(sub_up(a.value(), b.value()));
}

/// An interval proved to contain some quantity.
class Enclosure {
 public:
  explicit Enclosure(const Interval& x) : lo_(x.lower()), hi_(x.upper()) {}
  explicit Enclosure(const MpInterval& x) : lo_(x.lower_down()), hi_(x.upper_up()) {}
  LowerBound lower() const { return LowerBound::proved(lo_); }
  UpperBound upper() const { return UpperBound::proved(hi_); }

 private:
  double lo_, hi_;
};

/// A floating-point result with no guarantee. Deliberately has no conversion to any bound type.
class Estimate {
 public:
  explicit Estimate(double v) : v_(v) {}
  double value() const { return v_; }

 private:
  double v_;
};

/// "certainly" comparisons between bounds: true only when proved.
inline bool certainly_below(const UpperBound& u, const LowerBound& l) { return u.value() < l.value(); }
inline bool certainly_at_most(const UpperBound& u, const LowerBound& l) { return u.value() <= l.value(); }

}  // namespace attnbound
