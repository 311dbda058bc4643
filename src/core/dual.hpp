// Dual<T>: forward-mode derivative numbers v + d·ε (ε² = 0) over any scalar T.
//
// Guarantee: inherits T's. Over double it is an exact-formula derivative evaluated in floating
// point (no guarantee: used by approx:: ascent). Over Interval it encloses value and directional
// derivative simultaneously.
#pragma once

#include <Eigen/Core>
#include <cmath>
#include <type_traits>

#include "core/eigen_scalar.hpp"

namespace attnbound {

template <class T>
struct Dual : detail::BinaryFromCompound<Dual<T>> {
  T v{};  // value
  T d{};  // derivative along the seeded direction

  Dual() = default;
  Dual(const T& value) : v(value), d(0) {}  // NOLINT: constants promote implicitly
  // Any arithmetic constant converts exactly through T (never through int: a double weight
  // must not be truncated when T is a class type such as Interval).
  template <class U>
    requires std::is_arithmetic_v<U>
  Dual(U value) : v(T(value)), d(0) {}  // NOLINT
  Dual(const T& value, const T& deriv) : v(value), d(deriv) {}

  Dual& operator+=(const Dual& o) { v += o.v; d += o.d; return *this; }
  Dual& operator-=(const Dual& o) { v -= o.v; d -= o.d; return *this; }
  Dual& operator*=(const Dual& o) { d = d * o.v + v * o.d; v *= o.v; return *this; }
  Dual& operator/=(const Dual& o) {
    T inv = T(1) / o.v;
    v *= inv;
    d = (d - v * o.d) * inv;
    return *this;
  }
  Dual operator-() const { return Dual(-v, -d); }
  friend Dual exp(const Dual& a) {
    using std::exp;
    T e = exp(a.v);
    return Dual(e, e * a.d);
  }
  friend Dual sqrt(const Dual& a) {
    using std::sqrt;
    T s = sqrt(a.v);
    return Dual(s, a.d / (T(2) * s));
  }
  friend Dual log(const Dual& a) {
    using std::log;
    return Dual(log(a.v), a.d / a.v);
  }
  // Order by value: only for approximate (double) use such as max-shifting a softmax.
  friend bool operator<(const Dual& a, const Dual& b) { return a.v < b.v; }
  friend bool operator>(const Dual& a, const Dual& b) { return a.v > b.v; }
};

/// MultiDual<T, Max>: forward-mode numbers with up to Max tangents, v + Σ_t d_t ε_t (ε_s ε_t = 0).
///
/// Guarantee: inherits T's, per tangent exactly as Dual<T> (each tangent sees the same operations
/// Dual<T> would apply to it). Where Dual<T> needs one pass per direction, one MultiDual pass gives
/// all of them and computes the value part (and every exp) once: the branch-and-bound's
/// ∂J/∂x_k over a box for all coordinates k at once.
///
/// `k` counts the stored tangents; tangents t >= k are zero and never read. Constants have k = 0,
/// so products with weights touch only the value and the k stored tangents.
template <class T, int Max>
struct MultiDual : detail::BinaryFromCompound<MultiDual<T, Max>> {
  T v{};
  unsigned k = 0;
  T d[Max];
  static_assert(Max > 0);

  MultiDual() = default;
  MultiDual(const T& value) : v(value) {}  // NOLINT: constants promote implicitly
  template <class U>
    requires std::is_arithmetic_v<U>
  MultiDual(U value) : v(T(value)) {}  // NOLINT
  MultiDual(const MultiDual& o) : v(o.v), k(o.k) { copy_tangents(o); }
  MultiDual& operator=(const MultiDual& o) {
    v = o.v;
    k = o.k;
    copy_tangents(o);
    return *this;
  }
  /// The value `value` with tangent `t` equal to `deriv` (t < Max) and zero tangents below it.
  static MultiDual seeded(const T& value, unsigned t, const T& deriv) {
    MultiDual r(value);
    r.k = t + 1;
    for (unsigned s = 0; s < t; ++s) r.d[s] = T(0);
    r.d[t] = deriv;
    return r;
  }
  /// Tangent t (zero when not stored).
  T tangent(unsigned t) const { return t < k ? d[t] : T(0); }

  MultiDual& operator+=(const MultiDual& o) {
    v += o.v;
    const unsigned c = k < o.k ? k : o.k;
    for (unsigned t = 0; t < c; ++t) d[t] += o.d[t];
    for (unsigned t = c; t < o.k; ++t) d[t] = o.d[t];
    if (o.k > k) k = o.k;
    return *this;
  }
  MultiDual& operator-=(const MultiDual& o) {
    v -= o.v;
    const unsigned c = k < o.k ? k : o.k;
    for (unsigned t = 0; t < c; ++t) d[t] -= o.d[t];
    for (unsigned t = c; t < o.k; ++t) d[t] = -o.d[t];
    if (o.k > k) k = o.k;
    return *this;
  }
  MultiDual& operator*=(const MultiDual& o) {
    const unsigned c = k < o.k ? k : o.k;
    for (unsigned t = 0; t < c; ++t) d[t] = d[t] * o.v + v * o.d[t];
    for (unsigned t = c; t < k; ++t) d[t] = d[t] * o.v;
    for (unsigned t = c; t < o.k; ++t) d[t] = v * o.d[t];
    if (o.k > k) k = o.k;
    v *= o.v;
    return *this;
  }
  MultiDual& operator/=(const MultiDual& o) {
    const T inv = T(1) / o.v;
    v *= inv;
    const unsigned c = k < o.k ? k : o.k;
    for (unsigned t = 0; t < c; ++t) d[t] = (d[t] - v * o.d[t]) * inv;
    for (unsigned t = c; t < k; ++t) d[t] = d[t] * inv;
    for (unsigned t = c; t < o.k; ++t) d[t] = -(v * o.d[t]) * inv;
    if (o.k > k) k = o.k;
    return *this;
  }
  MultiDual operator-() const {
    MultiDual r(-v);
    r.k = k;
    for (unsigned t = 0; t < k; ++t) r.d[t] = -d[t];
    return r;
  }
  /// c += a · b in place: per tangent the same interval operations as c += (a * b), without the
  /// product's temporary (whose copy of every tangent dominated the jet's matrix products).
  friend void add_product(MultiDual& c, const MultiDual& a, const MultiDual& b) {
    const unsigned m = a.k < b.k ? a.k : b.k, top = a.k > b.k ? a.k : b.k;
    for (unsigned t = c.k; t < top; ++t) c.d[t] = T(0);
    for (unsigned t = 0; t < m; ++t) c.d[t] += a.d[t] * b.v + a.v * b.d[t];
    for (unsigned t = m; t < a.k; ++t) c.d[t] += a.d[t] * b.v;
    for (unsigned t = m; t < b.k; ++t) c.d[t] += a.v * b.d[t];
    if (top > c.k) c.k = top;
    c.v += a.v * b.v;
  }
  friend MultiDual exp(const MultiDual& a) {
    using std::exp;
    MultiDual r(exp(a.v));
    r.k = a.k;
    for (unsigned t = 0; t < a.k; ++t) r.d[t] = r.v * a.d[t];
    return r;
  }
  friend MultiDual sqrt(const MultiDual& a) {
    using std::sqrt;
    MultiDual r(sqrt(a.v));
    const T twice = T(2) * r.v;
    r.k = a.k;
    for (unsigned t = 0; t < a.k; ++t) r.d[t] = a.d[t] / twice;
    return r;
  }
  friend MultiDual log(const MultiDual& a) {
    using std::log;
    MultiDual r(log(a.v));
    r.k = a.k;
    for (unsigned t = 0; t < a.k; ++t) r.d[t] = a.d[t] / a.v;
    return r;
  }

 private:
  void copy_tangents(const MultiDual& o) {
    for (unsigned t = 0; t < o.k; ++t) d[t] = o.d[t];
  }
};

}  // namespace attnbound

namespace Eigen {
template <class T>
struct NumTraits<attnbound::Dual<T>> : attnbound::detail::EigenScalarTraits<attnbound::Dual<T>, 2, 2, 4> {};
template <class T, int Max>
struct NumTraits<attnbound::MultiDual<T, Max>>
    : attnbound::detail::EigenScalarTraits<attnbound::MultiDual<T, Max>, 2, 2 * Max, 4 * Max> {};
}  // namespace Eigen
