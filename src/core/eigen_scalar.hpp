// What Eigen and the templates need from attnbound's class scalars, written once.
//
// EigenScalarTraits: Eigen's NumTraits for a class scalar (never complex or integer, always
// constructed; Add/Mul are the relative costs Eigen uses to choose its kernels).
// BinaryFromCompound: a + b, a − b, a · b, a / b from the compound operators +=, −=, *=, /= of the
// derived type (hidden friends: found by argument-dependent lookup, constants still promote).
// Neither adds arithmetic of its own: every guarantee is the scalar's.
#pragma once

#include <Eigen/Core>

namespace attnbound::detail {

template <class T, int Read, int Add, int Mul>
struct EigenScalarTraits : Eigen::NumTraits<double> {
  using Real = T;
  using NonInteger = T;
  using Nested = T;
  using Literal = T;
  enum {
    IsComplex = 0,
    IsInteger = 0,
    IsSigned = 1,
    RequireInitialization = 1,
    ReadCost = Read,
    AddCost = Add,
    MulCost = Mul
  };
};

template <class D>
struct BinaryFromCompound {
  friend D operator+(D a, const D& b) { return a += b; }
  friend D operator-(D a, const D& b) { return a -= b; }
  friend D operator*(D a, const D& b) { return a *= b; }
  friend D operator/(D a, const D& b) { return a /= b; }
};

}  // namespace attnbound::detail
