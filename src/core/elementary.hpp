// Rigorous one-sided values of exp and log for double arguments.
//
// Guarantee: exp_down(x) <= exp(x) <= exp_up(x) for every double x (exp(-inf) = 0,
// exp(+inf) = +inf; NaN gives the widest answer, 0 and +inf), and likewise for log on x >= 0.
//
// exp is our own range-reduced Taylor evaluation with an interval remainder: the range reduction
// x = k ln2 + r uses a Cody-Waite split of ln2 whose pieces, the Taylor coefficients 1/j! and the
// remainder constant are all derived from MPFR at start-up (no hand-typed constants). Every
// floating-point step rounds in the safe direction. It is ~40x faster than calling MPFR per
// endpoint and is checked against MPFR on 10^6+ arguments in the test suite. The proof is written
// in docs/exp.md.
//
// Precondition for exp_down/exp_up: upward rounding is in force in this thread (they are called
// from Interval arithmetic, which runs under RoundingGuard(Rounding::upward)). log_* call MPFR
// with directed rounding and accept any mode.
#pragma once

namespace attnbound::detail {

double exp_down(double x) noexcept;
double exp_up(double x) noexcept;

double log_down(double x);
double log_up(double x);

/// Both bounds through MPFR (53-bit, RNDD/RNDU): the slow reference path, any rounding mode.
double mpfr_exp_down(double x);
double mpfr_exp_up(double x);

}  // namespace attnbound::detail
