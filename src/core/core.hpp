// attnbound/core — the public header of the arithmetic layer.
//
// What lives here: rounding control (one RAII guard), rigorous elementary functions, the Interval
// (double) and MpInterval (MPFR) types, forward-mode Dual numbers, and the epistemic types that
// say what a number claims (Enclosure, UpperBound, LowerBound, Estimate).
// Everything downstream (linalg, attention, bound, certificate) builds on these and on nothing
// with weaker guarantees. The trust base is listed in ASSUMPTIONS.md.
#pragma once

#include "core/bounds.hpp"
#include "core/dual.hpp"
#include "core/elementary.hpp"
#include "core/file_io.hpp"
#include "core/interval.hpp"
#include "core/matrix.hpp"
#include "core/mp_interval.hpp"
#include "core/rounding.hpp"
#include "core/scalar.hpp"
