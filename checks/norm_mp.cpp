// gram_below_mp: the checker's own spectral-norm test, at a threshold given by the certificate.
//
// To prove sup_{M ∈ M} ‖M‖₂² < t2 it suffices that t2·I − MᵀM is positive definite for every
// member. G ⊇ {MᵀM} is enclosed in MPFI (the smaller Gram side); an interval Cholesky of t2·I − G
// whose every pivot interval is certainly positive proves it: for each member, the exact Cholesky
// pivots lie in the computed pivot intervals (induction over the steps, inclusion isotonicity), so
// they are all positive. No candidate search is needed: the threshold is the claim.
#include "internal.hpp"

namespace attnbound::check {

bool gram_below_mp(const MpMatrix& M, const MpInterval& t2) {
  const bool right = M.cols() <= M.rows();  // G = MᵀM (N = cols) or MMᵀ (N = rows)
  const Eigen::Index N = right ? M.cols() : M.rows(), K = right ? M.rows() : M.cols();
  auto x = [&](Eigen::Index k, Eigen::Index i) -> const MpInterval& { return right ? M(k, i) : M(i, k); };
  for (Eigen::Index k = 0; k < M.size(); ++k)
    if (M.data()[k].is_empty()) return false;
  if (!certainly_positive(t2)) return false;

  // A = t2·I − G, lower triangle.
  MpMatrix A(N, N);
  MpInterval tmp;
  for (Eigen::Index j = 0; j < N; ++j)
    for (Eigen::Index i = j; i < N; ++i) {
      MpInterval acc(0);
      for (Eigen::Index k = 0; k < K; ++k) {
        if (i == j) mpfi_sqr(tmp.raw(), x(k, i).raw());  // the square, without dependency
        else mpfi_mul(tmp.raw(), x(k, i).raw(), x(k, j).raw());
        mpfi_add(acc.raw(), acc.raw(), tmp.raw());
      }
      A(i, j) = i == j ? t2 - acc : -acc;
    }
  // In-place interval Cholesky (lower).
  for (Eigen::Index j = 0; j < N; ++j) {
    MpInterval s = A(j, j);
    for (Eigen::Index k = 0; k < j; ++k) {
      mpfi_sqr(tmp.raw(), A(j, k).raw());
      mpfi_sub(s.raw(), s.raw(), tmp.raw());
    }
    if (!certainly_positive(s)) return false;
    const MpInterval ljj = sqrt(s);
    A(j, j) = ljj;
    for (Eigen::Index i = j + 1; i < N; ++i) {
      MpInterval a = A(i, j);
      for (Eigen::Index k = 0; k < j; ++k) {
        mpfi_mul(tmp.raw(), A(i, k).raw(), A(j, k).raw());
        mpfi_sub(a.raw(), a.raw(), tmp.raw());
      }
      mpfi_div(a.raw(), a.raw(), ljj.raw());
      A(i, j) = a;
    }
  }
  return true;
}

namespace {

/// Entrywise midpoint (an exact point) and radius (an upper bound, exact point) of an enclosure.
void split_mid_rad(const MpMatrix& M, MpMatrix& mid, MpMatrix& rad) {
  mid.resize(M.rows(), M.cols());
  rad.resize(M.rows(), M.cols());
  const mpfr_prec_t p = MpInterval::default_precision();
  mpfr_t m, a, b;
  mpfr_inits2(p, m, a, b, static_cast<mpfr_ptr>(nullptr));
  for (Eigen::Index k = 0; k < M.size(); ++k) {
    const mpfi_srcptr x = M.data()[k].raw();
    mpfi_mid(m, x);                         // any point will do: the radius is proved from it
    mpfi_get_right(a, x);
    mpfr_sub(a, a, m, MPFR_RNDU);           // >= right − m
    mpfi_get_left(b, x);
    mpfr_sub(b, m, b, MPFR_RNDU);           // >= m − left
    mpfr_max(a, a, b, MPFR_RNDU);
    mpfi_set_fr(mid.data()[k].raw(), m);
    mpfi_set_fr(rad.data()[k].raw(), a);
  }
  mpfr_clears(m, a, b, static_cast<mpfr_ptr>(nullptr));
}

/// Upper bound of ‖R‖₂ for an entrywise non-negative point matrix R (Collatz–Wielandt).
MpInterval nonneg_norm_upper(const MpMatrix& R) {
  const Eigen::Index m = R.rows(), N = R.cols();
  Matrix Rd(m, N);
  for (Eigen::Index k = 0; k < R.size(); ++k) Rd.data()[k] = R.data()[k].upper_up();
  // The vector: a few power steps on RᵀR in double (no guarantee needed), kept positive.
  Vector w = Vector::Ones(N);
  {
    RoundingGuard nearest(Rounding::nearest);
    for (int it = 0; it < 40; ++it) {
      Vector z = Rd.transpose() * (Rd * w);
      const double mx = z.maxCoeff();
      if (!(mx > 0) || !std::isfinite(mx)) break;
      w = z / mx;
    }
    const double floor = 1e-6 * std::max(w.maxCoeff(), 1e-300);
    for (Eigen::Index i = 0; i < N; ++i) w(i) = std::max(w(i), floor);
  }
  MpVector y(m);
  MpInterval tmp;
  for (Eigen::Index r = 0; r < m; ++r) {
    y(r) = MpInterval(0);
    for (Eigen::Index i = 0; i < N; ++i) {
      mpfi_mul_d(tmp.raw(), R(r, i).raw(), w(i));
      mpfi_add(y(r).raw(), y(r).raw(), tmp.raw());
    }
  }
  MpInterval rho(0);
  for (Eigen::Index i = 0; i < N; ++i) {
    MpInterval z(0);
    for (Eigen::Index r = 0; r < m; ++r) {
      mpfi_mul(tmp.raw(), R(r, i).raw(), y(r).raw());
      mpfi_add(z.raw(), z.raw(), tmp.raw());
    }
    rho = hull(rho, (z / MpInterval(w(i))).upper_point());
  }
  return sqrt(rho.upper_point()).upper_point();
}

}  // namespace

bool norm_below_mp(const MpMatrix& M, const MpInterval& t) {
  bool thin = true;
  for (Eigen::Index k = 0; k < M.size() && thin; ++k) thin = M.data()[k].width_up() == 0.0;
  if (thin) return gram_below_mp(M, square(t));
  MpMatrix mid, rad;
  split_mid_rad(M, mid, rad);
  const MpInterval r = nonneg_norm_upper(rad);
  if (certainly_less(r, t) && gram_below_mp(mid, square((t - r).lower_point()).lower_point())) return true;
  return gram_below_mp(M, square(t));  // the interval Gram: sometimes better for narrow widths
}

}  // namespace attnbound::check
