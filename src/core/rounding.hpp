// Rounding-mode control: the only place in attnbound that changes the floating-point rounding mode.
//
// Rigorous double code in attnbound runs inside a `RoundingGuard(Rounding::upward)` scope: lower
// bounds are formed as -(upward(-x)), so one mode serves both directions (the "opposite" trick of
// Boost.Interval's rounded_arith_opp). Code without a guarantee runs under `Rounding::nearest`.
// A guard restores the previous mode on destruction, so modes never leak out of a scope, and a
// guard affects only the calling thread: every worker thread installs its own.
#pragma once

namespace attnbound {

enum class Rounding { nearest, upward, downward, toward_zero };

/// RAII: installs `mode` for the calling thread (SSE and x87 control words) and restores the
/// previous mode on destruction. Non-copyable. Constructor and destructor are out of line and act
/// as compiler barriers, so no floating-point work is moved across them.
class RoundingGuard {
 public:
  explicit RoundingGuard(Rounding mode);
  ~RoundingGuard();
  RoundingGuard(const RoundingGuard&) = delete;
  RoundingGuard& operator=(const RoundingGuard&) = delete;

 private:
  int saved_;            // the hardware mode found on entry (an FE_* value)
  int installed_;        // the FE_* value this guard stands for
  signed char outer_;    // the guarded mode of the enclosing guard (see guarded_upward)
};

namespace detail {
/// The mode of the innermost RoundingGuard alive on this thread, as a Rounding value; -1 when no
/// guard is alive (the hardware mode is then unknown to attnbound).
extern thread_local signed char guarded_mode;
}  // namespace detail

/// True when the innermost live RoundingGuard of this thread installed upward rounding. This is
/// the per-operation check of Interval arithmetic: a thread-local read instead of an MXCSR read
/// (which cost 20% of branch-and-bound time). It catches the errors that matter — interval code
/// run without an upward guard, or in a worker thread that never installed one — because every
/// mode change in attnbound goes through RoundingGuard (the brief temporary switches inside
/// Interval's sqrt_down restore the mode before returning). Entry points of the rigorous kernels
/// (softmax, products, verified norms) still read the hardware mode with rounding_is_upward().
inline bool guarded_upward() noexcept { return detail::guarded_mode == static_cast<signed char>(Rounding::upward); }

/// The rounding mode currently in force for double arithmetic in this thread.
Rounding current_rounding();

/// True when double arithmetic in this thread rounds upward. Cheap (one MXCSR read on x86-64).
bool rounding_is_upward() noexcept;

/// The start-up canary: checks that directed rounding actually takes effect on this machine and
/// build (1 + 2^-54 rounds to 1 under nearest, to 1 + 2^-52 upward, and its negation the mirror),
/// and that the guard restores the previous mode. Returns an empty string on success, otherwise a
/// description of what failed. Every binary calls this before producing a bound.
const char* rounding_canary();

}  // namespace attnbound
