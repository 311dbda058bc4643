// Scalar traits: what the templated attention and linalg code may ask of a scalar type.
//
// T is one of double (no guarantee), Interval (rigorous, needs an UpwardScope), MpInterval
// (rigorous, any scope), Dual<double> (derivatives in floating point, no guarantee), or the
// derivative types Dual<Interval>, Dual<MpInterval> and IntervalJet (rigorous like their base).
#pragma once

#include <cmath>
#include <type_traits>

#include "core/dual.hpp"
#include "core/interval.hpp"
#include "core/mp_interval.hpp"

namespace attnbound {

template <class T>
struct ScalarTraits;

template <>
struct ScalarTraits<double> {
  static constexpr bool rigorous = false;
  static constexpr bool interval = false;
  static double from(double x) { return x; }
  static double approx(double x) { return x; }
  static double lo(double x) { return x; }
  static double hi(double x) { return x; }
  /// 1/sqrt(k) for the logit scale.
  static double inv_sqrt(long k) { return 1.0 / std::sqrt(static_cast<double>(k)); }
};

template <>
struct ScalarTraits<Interval> {
  static constexpr bool rigorous = true;
  static constexpr bool interval = true;
  static Interval from(double x) { return point(x); }
  static double approx(const Interval& x) { return 0.5 * x.lower() + 0.5 * x.upper(); }
  static double lo(const Interval& x) { return x.lower(); }
  static double hi(const Interval& x) { return x.upper(); }
  static Interval inv_sqrt(long k) { return point(1.0) / sqrt(point(static_cast<double>(k))); }
};

template <>
struct ScalarTraits<MpInterval> {
  static constexpr bool rigorous = true;
  static constexpr bool interval = true;
  static MpInterval from(double x) { return MpInterval(x); }
  static double approx(const MpInterval& x) { return x.mid_approx(); }
  static double lo(const MpInterval& x) { return x.lower_down(); }
  static double hi(const MpInterval& x) { return x.upper_up(); }
  static MpInterval inv_sqrt(long k) {
    return MpInterval(1) / sqrt(MpInterval(static_cast<double>(k)));
  }
};

template <class S>
struct ScalarTraits<Dual<S>> {
  static constexpr bool rigorous = ScalarTraits<S>::rigorous;
  static constexpr bool interval = false;
  static Dual<S> from(double x) { return Dual<S>(ScalarTraits<S>::from(x)); }
  static double approx(const Dual<S>& x) { return ScalarTraits<S>::approx(x.v); }
  static Dual<S> inv_sqrt(long k) { return Dual<S>(ScalarTraits<S>::inv_sqrt(k)); }
};

template <class S, int Max>
struct ScalarTraits<MultiDual<S, Max>> {
  static constexpr bool rigorous = ScalarTraits<S>::rigorous;
  static constexpr bool interval = false;
  static MultiDual<S, Max> from(double x) { return MultiDual<S, Max>(ScalarTraits<S>::from(x)); }
  static double approx(const MultiDual<S, Max>& x) { return ScalarTraits<S>::approx(x.v); }
  static MultiDual<S, Max> inv_sqrt(long k) { return MultiDual<S, Max>(ScalarTraits<S>::inv_sqrt(k)); }
};

/// Every partial derivative over a box in one pass: the box forms' mean-value Jacobian needs one
/// tangent per moving coordinate, so at most n·d <= kMaxBoxTangents of them.
inline constexpr int kMaxBoxTangents = 24;
using IntervalJet = MultiDual<Interval, kMaxBoxTangents>;

template <class T>
inline constexpr bool is_rigorous_v = ScalarTraits<T>::rigorous;
template <class T>
inline constexpr bool is_interval_v = ScalarTraits<T>::interval;

}  // namespace attnbound
