// Spectral-norm bounds of MPFI interval matrices (docs/linalg.md §6).
//
// Pure-MPFI upper bound: G ⊇ {XᵀX : X ∈ M} by MPFI sums; t = candidate from a double
// eigen-solver on scaled midpoints (no guarantee); an interval Cholesky of tI − G whose every
// pivot interval is certainly positive proves tI − XᵀX ≻ 0 for every member X (each exact pivot
// of the point matrix lies in the computed pivot interval by inclusion isotonicity), so
// sup ‖X‖ <= √t. Everything except the candidate is MPFI: independent of the hardware rounding
// mode and of the double exponent range.
#include <mpfi.h>
#include <mpfr.h>

#include <Eigen/Eigenvalues>
#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>

#include "linalg/linalg.hpp"

namespace attnbound {

namespace {

using Eigen::Index;

/// Midpoint of x as d·2^exp with |d| in [0.5, 1) (d = 0 for a zero midpoint). No guarantee.
double scaled_mid(const MpInterval& x, long& exp) {
  mpfr_t m;
  mpfr_init2(m, mpfi_get_prec(x.raw()));
  mpfi_mid(m, x.raw());
  const double d = mpfr_get_d_2exp(&exp, m, MPFR_RNDN);
  mpfr_clear(m);
  return d;
}

/// x · 2^e, exact.
MpInterval times_pow2(const MpInterval& x, long e) {
  MpInterval r(x);
  mpfi_mul_2si(r.raw(), x.raw(), e);
  return r;
}

/// The MPFI enclosure of XᵀX (X = M or Mᵀ, whichever gives the smaller Gram).
MpMatrix gram(const MpMatrix& M) {
  const bool right = M.cols() <= M.rows();
  const Index N = right ? M.cols() : M.rows(), K = right ? M.rows() : M.cols();
  auto x = [&](Index k, Index i) -> const MpInterval& { return right ? M(k, i) : M(i, k); };
  MpMatrix G(N, N);
  for (Index j = 0; j < N; ++j)
    for (Index i = 0; i <= j; ++i) {
      MpInterval acc(0);
      for (Index k = 0; k < K; ++k) acc += (i == j) ? square(x(k, i)) : x(k, i) * x(k, j);
      G(i, j) = acc;
      G(j, i) = acc;
    }
  return G;
}

/// Double approximation of the largest eigenvalue of mid(G), as θ·2^E. No guarantee.
double approx_lambda_max(const MpMatrix& G, long& E) {
  const Index N = G.rows();
  std::vector<double> d(static_cast<std::size_t>(N * N));
  std::vector<long> ex(static_cast<std::size_t>(N * N));
  E = std::numeric_limits<long>::min();
  for (Index i = 0; i < N * N; ++i) {
    d[static_cast<std::size_t>(i)] = scaled_mid(G.data()[i], ex[static_cast<std::size_t>(i)]);
    if (d[static_cast<std::size_t>(i)] != 0) E = std::max(E, ex[static_cast<std::size_t>(i)]);
  }
  if (E == std::numeric_limits<long>::min()) {
    E = 0;
    return 0.0;
  }
  Matrix S(N, N);
  for (Index i = 0; i < N * N; ++i) {
    const long shift = ex[static_cast<std::size_t>(i)] - E;
    S.data()[i] = shift < -1100 ? 0.0 : std::ldexp(d[static_cast<std::size_t>(i)], static_cast<int>(shift));
  }
  RoundingGuard nearest(Rounding::nearest);
  Eigen::SelfAdjointEigenSolver<Matrix> es(S, Eigen::EigenvaluesOnly);
  return std::max(es.eigenvalues().maxCoeff(), S.diagonal().maxCoeff());
}

/// True if the interval Cholesky of tI − G has certainly positive pivots.
bool interval_cholesky_proves(const MpMatrix& G, const MpInterval& t) {
  const Index N = G.rows();
  MpMatrix L(N, N);
  for (Index j = 0; j < N; ++j) {
    MpInterval s = t - G(j, j);
    for (Index k = 0; k < j; ++k) s -= square(L(j, k));
    if (!certainly_positive(s)) return false;
    L(j, j) = sqrt(s);
    for (Index i = j + 1; i < N; ++i) {
      MpInterval a = -G(i, j);
      for (Index k = 0; k < j; ++k) a -= L(i, k) * L(j, k);
      L(i, j) = a / L(j, j);
    }
  }
  return true;
}

UpperBound mpfi_frobenius(const MpMatrix& M) {
  MpInterval s(0);
  for (Index i = 0; i < M.size(); ++i) s += square(M.data()[i]);
  const double u = sqrt(s).upper_up();
  return std::isnan(u) ? UpperBound::infinity() : UpperBound::proved(u);
}

UpperBound mpfi_norm_upper(const MpMatrix& M) {
  MpPrecision prec(std::max<mpfr_prec_t>(MpInterval::default_precision(), 128));
  for (Index i = 0; i < M.size(); ++i)
    if (M.data()[i].is_empty()) return UpperBound::infinity();
  const MpMatrix G = gram(M);
  long E = 0;
  const double theta = approx_lambda_max(G, E);
  if (theta == 0) {
    bool zero = true;
    for (Index i = 0; i < M.size() && zero; ++i)
      zero = M.data()[i].lower_down() == 0 && M.data()[i].upper_up() == 0;
    if (zero) return UpperBound::proved(0.0);
  }
  double rel = 1e-12;
  for (int attempt = 0; attempt < 6 && theta > 0; ++attempt, rel *= 100.0) {
    const MpInterval t = times_pow2(MpInterval(theta * (1.0 + rel)), E);  // a point: exact
    if (interval_cholesky_proves(G, t)) {
      const double u = sqrt(t).upper_up();
      if (!std::isnan(u)) return min(UpperBound::proved(u), mpfi_frobenius(M));
    }
  }
  return mpfi_frobenius(M);
}

}  // namespace

UpperBound norm2_upper(const MpMatrix& M, MpNormPath path) {
  if (M.size() == 0) return UpperBound::proved(0.0);
  const double N = static_cast<double>(std::min(M.rows(), M.cols()));
  if (path == MpNormPath::automatic)
    path = (N <= 96 && static_cast<double>(M.rows()) * static_cast<double>(M.cols()) * N <= 2097152.0)
               ? MpNormPath::mpfi
               : MpNormPath::double_intervals;
  if (path == MpNormPath::mpfi) return mpfi_norm_upper(M);
  IMatrix I(M.rows(), M.cols());
  {
    UpwardScope up;
    for (Index i = 0; i < M.size(); ++i) {
      const MpInterval& x = M.data()[i];
      I.data()[i] = x.is_empty() ? Interval(-std::numeric_limits<double>::infinity(),
                                            std::numeric_limits<double>::infinity(), true)
                                 : x.to_interval();
    }
  }
  return norm2_upper(I);
}

LowerBound norm2_lower(const MpMatrix& M, const Vector& v) {
  if (M.cols() != v.size()) throw std::invalid_argument("norm2_lower: size mismatch");
  if (!v.allFinite() || v.isZero(0.0)) return LowerBound::zero();
  MpPrecision prec(std::max<mpfr_prec_t>(MpInterval::default_precision(), 128));
  MpInterval num(0), den(0);
  for (Index j = 0; j < v.size(); ++j) den += square(MpInterval(v(j)));
  for (Index i = 0; i < M.rows(); ++i) {
    MpInterval y(0);
    for (Index j = 0; j < M.cols(); ++j)
      if (v(j) != 0) y += M(i, j) * MpInterval(v(j));
    num += square(y);
  }
  const MpInterval r = sqrt(num / den);
  const double lo = r.lower_down();
  return (lo > 0 && std::isfinite(lo)) ? LowerBound::proved(lo) : LowerBound::zero();
}

}  // namespace attnbound
