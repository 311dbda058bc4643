// Internal to attnbound-check: directed-rounding kernels on HiLo interval matrices (hi >= X >= −nlo).
// Precondition of every function: upward rounding in the calling thread (UpwardScope). Under
// upward rounding every product and sum of a GEMM rounds up, whatever the summation order or FMA
// contraction, so fl_up(A·B) >= A·B entrywise; negations are materialised on an operand (Eigen
// would otherwise pull the sign out as α = −1 and return a lower bound where an upper is needed).
#pragma once

#include <algorithm>
#include <cmath>

#include "internal.hpp"

namespace attnbound::check::hilo {

/// Midpoint (any double) and a proved radius.
inline void mid_rad(const HiLo& A, Matrix& m, Matrix& r) {
  m = (A.hi - A.nlo) * 0.5;
  r = (A.hi - m).cwiseMax(m + A.nlo);
}

inline HiLo exact(const Matrix& X) { return HiLo{X, -X}; }

/// A·W for an exact W: mA·W ± rA·|W|.
inline HiLo times(const HiLo& A, const Matrix& W) {
  Matrix mA, rA;
  mid_rad(A, mA, rA);
  const Matrix negW = -W;
  Matrix up, nup, rad;
  up.noalias() = mA * W;
  nup.noalias() = mA * negW;
  rad.noalias() = rA * W.cwiseAbs();
  return HiLo{up + rad, nup + rad};
}

/// A·B: mA·mB ± (|mA| rB + rA (|mB| + rB)).
inline HiLo times(const HiLo& A, const HiLo& B) {
  Matrix mA, rA, mB, rB;
  mid_rad(A, mA, rA);
  mid_rad(B, mB, rB);
  const Matrix neg_mB = -mB;
  Matrix up, nup, r1, r2;
  up.noalias() = mA * mB;
  nup.noalias() = mA * neg_mB;
  r1.noalias() = mA.cwiseAbs() * rB;
  r2.noalias() = rA * (mB.cwiseAbs() + rB);
  const Matrix rad = r1 + r2;
  return HiLo{up + rad, nup + rad};
}

inline HiLo transpose(const HiLo& A) { return HiLo{A.hi.transpose(), A.nlo.transpose()}; }

inline HiLo plus(const HiLo& A, const HiLo& B) { return HiLo{A.hi + B.hi, A.nlo + B.nlo}; }

/// Entrywise product: the four corners, each rounded up.
inline HiLo hadamard(const HiLo& A, const HiLo& B) {
  HiLo R{Matrix(A.hi.rows(), A.hi.cols()), Matrix(A.hi.rows(), A.hi.cols())};
  for (Eigen::Index k = 0; k < A.hi.size(); ++k) {
    const double ah = A.hi.data()[k], al = -A.nlo.data()[k], bh = B.hi.data()[k], bl = -B.nlo.data()[k];
    R.hi.data()[k] = std::max(std::max(ah * bh, al * bl), std::max(ah * bl, al * bh));
    const double nah = -ah, nal = -al;
    R.nlo.data()[k] = std::max(std::max(nah * bh, nal * bl), std::max(nah * bl, nal * bh));
  }
  return R;
}

/// s·A for a positive scalar s ∈ [sl, su].
inline void scale(HiLo& A, double sl, double su) {
  A.hi = (A.hi * su).cwiseMax(A.hi * sl);
  A.nlo = (A.nlo * su).cwiseMax(A.nlo * sl);
}

/// + b on every row (b exact).
inline void add_row_bias(HiLo& M, const Vector& b) {
  for (Eigen::Index j = 0; j < M.hi.cols(); ++j) {
    if (b(j) == 0.0) continue;
    const double nb = -b(j);
    M.hi.col(j).array() += b(j);
    M.nlo.col(j).array() += nb;
  }
}

inline HiLo from_mp(const MpMatrix& A) {
  HiLo r{Matrix(A.rows(), A.cols()), Matrix(A.rows(), A.cols())};
  for (Eigen::Index k = 0; k < A.size(); ++k) {
    r.hi.data()[k] = A.data()[k].upper_up();
    r.nlo.data()[k] = -A.data()[k].lower_down();
  }
  return r;
}

}  // namespace attnbound::check::hilo
