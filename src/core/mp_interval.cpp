#include "core/mp_interval.hpp"

#include <algorithm>
#include <ostream>
#include <stdexcept>

namespace attnbound {

namespace {
thread_local mpfr_prec_t tl_precision = 128;
}  // namespace

mpfr_prec_t MpInterval::default_precision() { return tl_precision; }

MpPrecision::MpPrecision(mpfr_prec_t bits) : saved_(tl_precision) {
  if (bits < MPFR_PREC_MIN || bits > 100000) throw std::invalid_argument("MpPrecision: bad bit count");
  tl_precision = bits;
}
MpPrecision::~MpPrecision() { tl_precision = saved_; }

MpInterval::MpInterval(mpfr_prec_t prec, int) { mpfi_init2(v_, prec); }

MpInterval::MpInterval() : MpInterval(tl_precision, 0) { mpfi_set_ui(v_, 0); }

MpInterval::MpInterval(double x) : MpInterval(std::max<mpfr_prec_t>(tl_precision, 53), 0) {
  mpfi_set_d(v_, x);  // exact at >= 53 bits
}

MpInterval::MpInterval(int x) : MpInterval(std::max<mpfr_prec_t>(tl_precision, 32), 0) {
  mpfi_set_si(v_, x);
}

MpInterval::MpInterval(const Interval& x) : MpInterval(std::max<mpfr_prec_t>(tl_precision, 53), 0) {
  mpfi_interv_d(v_, x.lower(), x.upper());
}

MpInterval MpInterval::hull(double lo, double hi) {
  MpInterval r(std::max<mpfr_prec_t>(tl_precision, 53), 0);
  mpfi_interv_d(r.v_, lo, hi);
  return r;
}

MpInterval MpInterval::from_decimal(const std::string& text) {
  MpInterval r(tl_precision, 0);
  if (mpfi_set_str(r.v_, text.c_str(), 10) != 0)
    throw std::invalid_argument("not a decimal number: '" + text + "'");
  return r;
}

MpInterval::MpInterval(const MpInterval& o) : MpInterval(mpfi_get_prec(o.v_), 0) {
  mpfi_set(v_, o.v_);
}

MpInterval::MpInterval(MpInterval&& o) noexcept : MpInterval(mpfi_get_prec(o.v_), 0) {
  mpfi_swap(v_, o.v_);
}

MpInterval& MpInterval::operator=(const MpInterval& o) {
  if (this != &o) {
    if (mpfi_get_prec(v_) < mpfi_get_prec(o.v_)) mpfi_set_prec(v_, mpfi_get_prec(o.v_));
    mpfi_set(v_, o.v_);  // rounds outward if this has more bits than needed: still exact here
  }
  return *this;
}

MpInterval& MpInterval::operator=(MpInterval&& o) noexcept {
  mpfi_swap(v_, o.v_);
  return *this;
}

MpInterval::~MpInterval() { mpfi_clear(v_); }

namespace {
// Raise the precision of `x` to at least `p` (exactly: its value is copied at the higher precision).
void widen_to(mpfi_ptr x, mpfr_prec_t p) {
  if (mpfi_get_prec(x) >= p) return;
  mpfi_t t;
  mpfi_init2(t, p);
  mpfi_set(t, x);
  mpfi_swap(t, x);
  mpfi_clear(t);
}
mpfr_prec_t result_prec(mpfi_srcptr a, mpfi_srcptr b) {
  return std::max({mpfi_get_prec(a), mpfi_get_prec(b), tl_precision});
}
}  // namespace

MpInterval& MpInterval::operator+=(const MpInterval& o) {
  widen_to(v_, result_prec(v_, o.v_));
  mpfi_add(v_, v_, o.v_);
  return *this;
}
MpInterval& MpInterval::operator-=(const MpInterval& o) {
  widen_to(v_, result_prec(v_, o.v_));
  mpfi_sub(v_, v_, o.v_);
  return *this;
}
MpInterval& MpInterval::operator*=(const MpInterval& o) {
  widen_to(v_, result_prec(v_, o.v_));
  mpfi_mul(v_, v_, o.v_);
  return *this;
}
MpInterval& MpInterval::operator/=(const MpInterval& o) {
  widen_to(v_, result_prec(v_, o.v_));
  mpfi_div(v_, v_, o.v_);
  return *this;
}
MpInterval MpInterval::operator-() const {
  MpInterval r(*this);
  mpfi_neg(r.v_, v_);
  return r;
}

MpInterval operator+(MpInterval a, const MpInterval& b) { return a += b; }
MpInterval operator-(MpInterval a, const MpInterval& b) { return a -= b; }
MpInterval operator*(MpInterval a, const MpInterval& b) { return a *= b; }
MpInterval operator/(MpInterval a, const MpInterval& b) { return a /= b; }

namespace {
template <class F>
MpInterval unary(const MpInterval& x, F f) {
  MpInterval r(x);
  widen_to(r.raw(), std::max(mpfi_get_prec(x.raw()), MpInterval::default_precision()));
  f(r.raw(), x.raw());
  return r;
}
}  // namespace

MpInterval exp(const MpInterval& x) { return unary(x, [](mpfi_ptr r, mpfi_srcptr a) { mpfi_exp(r, a); }); }
MpInterval log(const MpInterval& x) { return unary(x, [](mpfi_ptr r, mpfi_srcptr a) { mpfi_log(r, a); }); }
MpInterval sqrt(const MpInterval& x) { return unary(x, [](mpfi_ptr r, mpfi_srcptr a) { mpfi_sqrt(r, a); }); }
MpInterval abs(const MpInterval& x) { return unary(x, [](mpfi_ptr r, mpfi_srcptr a) { mpfi_abs(r, a); }); }
MpInterval square(const MpInterval& x) { return unary(x, [](mpfi_ptr r, mpfi_srcptr a) { mpfi_sqr(r, a); }); }

MpInterval hull(const MpInterval& a, const MpInterval& b) {
  MpInterval r(result_prec(a.v_, b.v_), 0);
  mpfi_union(r.v_, a.v_, b.v_);
  return r;
}

double MpInterval::lower_down() const {
  mpfr_t t;
  mpfr_init2(t, mpfi_get_prec(v_));
  mpfi_get_left(t, v_);
  double r = mpfr_get_d(t, MPFR_RNDD);
  mpfr_clear(t);
  return r;
}

double MpInterval::upper_up() const {
  mpfr_t t;
  mpfr_init2(t, mpfi_get_prec(v_));
  mpfi_get_right(t, v_);
  double r = mpfr_get_d(t, MPFR_RNDU);
  mpfr_clear(t);
  return r;
}

MpInterval MpInterval::lower_point() const {
  MpInterval r(mpfi_get_prec(v_), 0);
  mpfr_t t;
  mpfr_init2(t, mpfi_get_prec(v_));
  mpfi_get_left(t, v_);
  mpfi_set_fr(r.v_, t);  // exact: same precision
  mpfr_clear(t);
  return r;
}

MpInterval MpInterval::upper_point() const {
  MpInterval r(mpfi_get_prec(v_), 0);
  mpfr_t t;
  mpfr_init2(t, mpfi_get_prec(v_));
  mpfi_get_right(t, v_);
  mpfi_set_fr(r.v_, t);
  mpfr_clear(t);
  return r;
}

double MpInterval::mid_approx() const { return mpfi_get_d(v_); }

Interval MpInterval::to_interval() const { return Interval(lower_down(), upper_up()); }

mpfr_prec_t MpInterval::precision() const { return mpfi_get_prec(v_); }

bool MpInterval::is_empty() const { return mpfi_nan_p(v_) != 0 || mpfi_is_empty(v_) != 0; }

bool MpInterval::contains(double v) const {
  return !is_empty() && mpfi_is_inside_d(v, v_) > 0;
}

bool MpInterval::contains(const MpInterval& inner) const {
  return !is_empty() && !inner.is_empty() && mpfi_is_inside(inner.v_, v_) > 0;
}

double MpInterval::width_up() const {
  mpfr_t t;
  mpfr_init2(t, 64);
  mpfi_diam_abs(t, v_);
  double r = mpfr_get_d(t, MPFR_RNDU);
  mpfr_clear(t);
  return r;
}

std::string MpInterval::str(int digits) const {
  mpfr_t a, b;
  mpfr_init2(a, mpfi_get_prec(v_));
  mpfr_init2(b, mpfi_get_prec(v_));
  mpfi_get_left(a, v_);
  mpfi_get_right(b, v_);
  char* sa = nullptr;
  char* sb = nullptr;
  mpfr_asprintf(&sa, "%.*RDe", digits, a);
  mpfr_asprintf(&sb, "%.*RUe", digits, b);
  std::string s = std::string("[") + sa + ", " + sb + "]";
  mpfr_free_str(sa);
  mpfr_free_str(sb);
  mpfr_clear(a);
  mpfr_clear(b);
  return s;
}

namespace {
// Compares a's right end with b's left end exactly (mpfr_lessequal_p or mpfr_less_p).
bool ends_compare(const MpInterval& a, const MpInterval& b, int (*cmp)(mpfr_srcptr, mpfr_srcptr)) {
  if (a.is_empty() || b.is_empty()) return false;
  mpfr_t ra, lb;
  mpfr_init2(ra, a.precision());
  mpfr_init2(lb, b.precision());
  mpfi_get_right(ra, a.raw());
  mpfi_get_left(lb, b.raw());
  const bool r = cmp(ra, lb) != 0;
  mpfr_clear(ra);
  mpfr_clear(lb);
  return r;
}
}  // namespace

bool certainly_le(const MpInterval& a, const MpInterval& b) { return ends_compare(a, b, mpfr_lessequal_p); }

bool certainly_less(const MpInterval& a, const MpInterval& b) { return ends_compare(a, b, mpfr_less_p); }

bool certainly_positive(const MpInterval& a) { return !a.is_empty() && mpfi_is_strictly_pos(a.raw()) > 0; }

std::ostream& operator<<(std::ostream& os, const MpInterval& x) { return os << x.str(); }

}  // namespace attnbound
