// Interval: Boost.Interval over double with a rounding policy that is rigorous and fast.
//
// Guarantee: every operation on Interval returns an interval that contains the exact result for
// every choice of operands in the operand intervals (inclusion isotonicity). exp and log are
// rigorous (core/elementary.hpp), never std::exp.
//
// Precondition: upward rounding is in force in the calling thread, installed once by
// `RoundingGuard(Rounding::upward)` (or `UpwardScope`) around the rigorous computation, instead of
// a mode switch per operation. Every interval operation checks the mode (one MXCSR read) and
// aborts the process if it is wrong: a wrong mode is a programming error that would otherwise
// make results silently unsound.
//
// Empty intervals (NaN endpoints) arise only from inf - inf or 0 * inf; conversions to bounds
// (core/bounds.hpp) treat them as "no information".
#pragma once

#include <boost/numeric/interval.hpp>

#include <Eigen/Core>
#include <cmath>
#include <limits>

#include "core/eigen_scalar.hpp"
#include "core/elementary.hpp"
#include "core/rounding.hpp"

namespace attnbound {

namespace detail {

[[noreturn]] void rounding_violation(const char* where);

/// Boost.Interval rounding control on the SSE control word. The opposite trick needs only upward
/// mode; `downward()`/`to_nearest()` are used transiently by sqrt and median.
struct SseRoundingControl {
  using rounding_mode = int;
  static void get_rounding_mode(rounding_mode& m);
  static void set_rounding_mode(rounding_mode m);
  static void upward();
  static void downward();
  static void to_nearest();
  static void toward_zero();
  static double force_rounding(double r) {
    asm volatile("" : "+x"(r));  // no folding of -(-a*b) into a*b, no motion across modes
    return r;
  }
  static double to_int(double r) { return std::nearbyint(r); }
};

/// Rounding policy of Interval: Boost's rounded_arith_opp (upward mode assumed) plus rigorous
/// transcendental endpoints. Construction (once per interval operation) verifies the mode.
struct UpwardPolicy
    : boost::numeric::interval_lib::rounded_arith_opp<double, SseRoundingControl> {
  UpwardPolicy() {
    if (!guarded_upward()) rounding_violation("Interval operation outside an upward RoundingGuard");
  }
  // Boost's sqrt_down/sqrt_up evaluate the same sqrt(x) under two modes, which GCC merges into
  // one instruction (NUMERICS.md). Pinning the operand forces a fresh evaluation in each mode.
  double sqrt_up(double x) { return force_rounding(std::sqrt(force_rounding(x))); }
  double sqrt_down(double x) {
    downward();
    double r = force_rounding(std::sqrt(force_rounding(x)));
    upward();
    return r;
  }
  double exp_down(double x) { return detail::exp_down(x); }
  double exp_up(double x) { return detail::exp_up(x); }
  double log_down(double x) { return detail::log_down(x); }
  double log_up(double x) { return detail::log_up(x); }
};

}  // namespace detail

using Interval = boost::numeric::interval<
    double, boost::numeric::interval_lib::policies<
                detail::UpwardPolicy, boost::numeric::interval_lib::checking_base<double>>>;

/// Upward rounding for the enclosing scope: the context every rigorous double computation runs in.
class UpwardScope {
 public:
  UpwardScope() : guard_(Rounding::upward) {}

 private:
  RoundingGuard guard_;
};

// ---- construction and inspection -------------------------------------------------------------

/// The degenerate interval [x, x] (exact for any double).
inline Interval point(double x) { return Interval(x, x, true); }
/// [lo, hi]; precondition lo <= hi (checked: a reversed pair yields the empty interval).
inline Interval hull(double lo, double hi) { return Interval(lo, hi); }
/// Radius-form constructor: the smallest floating interval containing [m - r, m + r] (r >= 0).
Interval from_mid_rad(double mid, double rad);

inline double lower(const Interval& x) { return x.lower(); }
inline double upper(const Interval& x) { return x.upper(); }
/// An upper bound of |y| for all y in x.
inline double mag(const Interval& x) { return std::max(-x.lower(), x.upper()); }
/// A lower bound of |y| for all y in x (0 if x contains 0).
double mig(const Interval& x);
/// Upper bound on the width of x.
double width_up(const Interval& x);
/// True if x has NaN endpoints (no information).
inline bool is_empty(const Interval& x) { return !(x.lower() <= x.upper()); }
/// True if both endpoints are finite numbers.
inline bool is_bounded(const Interval& x) {
  return std::isfinite(x.lower()) && std::isfinite(x.upper());
}
inline bool contains(const Interval& x, double v) { return x.lower() <= v && v <= x.upper(); }

// ---- certain / possible comparisons (never plain bool on intervals) ---------------------------

/// True only if every element of a is < every element of b. False when unsure or empty.
inline bool certainly_less(const Interval& a, const Interval& b) { return a.upper() < b.lower(); }
inline bool certainly_positive(const Interval& a) { return a.lower() > 0; }
inline bool certainly_nonnegative(const Interval& a) { return a.lower() >= 0; }
/// True unless every element of a is >= every element of b.
inline bool possibly_less(const Interval& a, const Interval& b) { return !(a.lower() >= b.upper()); }

// ---- functions -------------------------------------------------------------------------------
// Boost supplies +, -, *, /, sqrt, square, abs, exp and log (the last two through UpwardPolicy).

/// Enclosure of sqrt(dk) and of 1/sqrt(dk) for a positive integer.
Interval sqrt_int(long k);

}  // namespace attnbound

namespace Eigen {
template <>
struct NumTraits<attnbound::Interval> : attnbound::detail::EigenScalarTraits<attnbound::Interval, 2, 4, 8> {};
}  // namespace Eigen
