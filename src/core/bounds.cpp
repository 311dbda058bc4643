#include "core/bounds.hpp"

#include "core/rounding.hpp"

namespace attnbound {

namespace {
inline double pin(double x) {
  asm volatile("" : "+x"(x));
  return x;
}
template <class F>
__attribute__((noinline)) double in_mode(Rounding m, F f) {
  RoundingGuard g(m);
  return pin(f());
}
}  // namespace

double add_up(double a, double b) { return in_mode(Rounding::upward, [&] { return pin(a) + pin(b); }); }
double add_down(double a, double b) { return in_mode(Rounding::downward, [&] { return pin(a) + pin(b); }); }
double sub_up(double a, double b) { return in_mode(Rounding::upward, [&] { return pin(a) - pin(b); }); }
double sub_down(double a, double b) { return in_mode(Rounding::downward, [&] { return pin(a) - pin(b); }); }
double mul_up(double a, double b) { return in_mode(Rounding::upward, [&] { return pin(a) * pin(b); }); }
double mul_down(double a, double b) { return in_mode(Rounding::downward, [&] { return pin(a) * pin(b); }); }
double div_up(double a, double b) { return in_mode(Rounding::upward, [&] { return pin(a) / pin(b); }); }
double div_down(double a, double b) { return in_mode(Rounding::downward, [&] { return pin(a) / pin(b); }); }
double sqrt_up(double a) { return in_mode(Rounding::upward, [&] { return std::sqrt(pin(a)); }); }
double sqrt_down(double a) { return in_mode(Rounding::downward, [&] { return std::sqrt(pin(a)); }); }

UpperBound operator*(UpperBound a, UpperBound b) {
  if (!(a.v_ >= 0 && b.v_ >= 0)) return UpperBound::infinity();
  return UpperBound(mul_up(a.v_, b.v_));
}

UpperBound UpperBound::scaled(double c) const {
  if (!(c >= 0)) return infinity();
  return UpperBound(mul_up(v_, c));
}

UpperBound UpperBound::sqrt() const {
  if (!(v_ >= 0)) return v_ < 0 ? UpperBound(0.0) : infinity();
  return UpperBound(sqrt_up(v_));
}

LowerBound operator*(LowerBound a, LowerBound b) {
  if (!(a.v_ >= 0 && b.v_ >= 0)) return LowerBound::minus_infinity();
  return LowerBound(mul_down(a.v_, b.v_));
}

LowerBound LowerBound::scaled(double c) const {
  if (!(c >= 0)) return minus_infinity();
  return LowerBound(mul_down(v_, c));
}

LowerBound LowerBound::sqrt() const {
  if (!(v_ > 0)) return LowerBound(0.0);
  return LowerBound(sqrt_down(v_));
}

}  // namespace attnbound
