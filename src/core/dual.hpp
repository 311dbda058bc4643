// Dual<T>: forward-mode derivative numbers v + d·ε (ε² = 0) over any scalar T.
//
// Guarantee: inherits T's. Over double it is an exact-formula derivative evaluated in floating
// point (no guarantee: used by approx:: ascent). Over Interval it encloses value and directional
// derivative simultaneously.
#pragma once

#include <Eigen/Core>
#include <cmath>
#include <type_traits>

namespace attnbound {

template <class T>
struct Dual {
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
  friend Dual operator+(Dual a, const Dual& b) { return a += b; }
  friend Dual operator-(Dual a, const Dual& b) { return a -= b; }
  friend Dual operator*(Dual a, const Dual& b) { return a *= b; }
  friend Dual operator/(Dual a, const Dual& b) { return a /= b; }
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

}  // namespace attnbound

namespace Eigen {
template <class T>
struct NumTraits<attnbound::Dual<T>> : NumTraits<double> {
  using Real = attnbound::Dual<T>;
  using NonInteger = attnbound::Dual<T>;
  using Nested = attnbound::Dual<T>;
  using Literal = attnbound::Dual<T>;
  enum {
    IsComplex = 0,
    IsInteger = 0,
    IsSigned = 1,
    RequireInitialization = 1,
    ReadCost = 2,
    AddCost = 2,
    MulCost = 4
  };
};
}  // namespace Eigen
