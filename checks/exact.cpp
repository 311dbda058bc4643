// Exact comparisons and decimal renderings used in the checker's verdicts.
#include <mpfr.h>

#include <array>
#include <charconv>

#include "internal.hpp"

namespace attnbound::check {

std::string dec(double v) {
  std::array<char, 64> buf;
  const auto r = std::to_chars(buf.data(), buf.data() + buf.size(), v);
  return std::string(buf.data(), r.ptr);
}

namespace {
std::string endpoint(const MpInterval& x, bool left, int digits) {
  mpfr_t t;
  mpfr_init2(t, x.precision());
  if (left) mpfi_get_left(t, x.raw());
  else mpfi_get_right(t, x.raw());
  char* s = nullptr;
  mpfr_asprintf(&s, left ? "%.*RDg" : "%.*RUg", digits, t);
  std::string out = s ? s : "?";
  mpfr_free_str(s);
  mpfr_clear(t);
  return out;
}
}  // namespace

std::string dec_lower(const MpInterval& x, int digits) { return endpoint(x, true, digits); }
std::string dec_upper(const MpInterval& x, int digits) { return endpoint(x, false, digits); }

bool certainly_at_least(const MpInterval& x, double v) {
  if (x.is_empty()) return false;
  mpfr_t t;
  mpfr_init2(t, x.precision());
  mpfi_get_left(t, x.raw());
  const bool ok = !mpfr_nan_p(t) && mpfr_cmp_d(t, v) >= 0;
  mpfr_clear(t);
  return ok;
}

bool certainly_at_most(const MpInterval& x, double v) {
  if (x.is_empty()) return false;
  mpfr_t t;
  mpfr_init2(t, x.precision());
  mpfi_get_right(t, x.raw());
  const bool ok = !mpfr_nan_p(t) && mpfr_cmp_d(t, v) <= 0;
  mpfr_clear(t);
  return ok;
}

}  // namespace attnbound::check
