// The checker's head-Gram block norms (docs/structured.md §3), re-derived from HiLo enclosures.
// Same inequalities as the engine's src/bound/structured_gram.cpp, own code: the rows of
// z = W_O(v_l − v̄_i), y = W_Qᵀ(k_l − κ_i) are enclosed as hi/nlo pairs directly (no rounding
// model of the subtraction is needed), and ρ of each H × H Gram matrix by Collatz–Wielandt.
#include <algorithm>
#include <cmath>
#include <vector>

#include "linalg/detail.hpp"
#include "linalg/linalg.hpp"

#include "hilo.hpp"
#include "internal.hpp"

namespace attnbound::check {

namespace {

/// Entrywise upper bound of |ZᵀZ| for the columns of Z in [−nlo, hi] (d × H). Precondition: upward.
Matrix abs_gram(const HiLo& Z) {
  Matrix m, r;
  hilo::mid_rad(Z, m, r);
  const Matrix negm = -m;
  Matrix up, dn;
  up.noalias() = m.transpose() * m;
  dn.noalias() = m.transpose() * negm;
  const long H = m.cols();
  Vector a(H), b(H);
  for (long h = 0; h < H; ++h) {
    a(h) = std::sqrt(m.col(h).squaredNorm());
    b(h) = std::sqrt(r.col(h).squaredNorm());
  }
  Matrix G(H, H);
  for (long h = 0; h < H; ++h)
    for (long k = 0; k < H; ++k) G(h, k) = std::max(up(h, k), dn(h, k)) + (a(h) * b(k) + b(h) * a(k)) + b(h) * b(k);
  return G;
}

/// Collatz–Wielandt upper bound of ρ(M), M >= 0 small. Precondition: upward.
double rho(const Matrix& M) {
  const long H = M.rows();
  Vector v = Vector::Ones(H);
  for (int it = 0; it < 16; ++it) {
    Vector w = M * v;
    const double mx = w.maxCoeff();
    if (!(mx > 0) || !std::isfinite(mx)) break;
    v = (w / mx).cwiseMax(1e-9);
  }
  double r = 0.0;
  for (long h = 0; h < H; ++h) r = std::max(r, (M.row(h) * v)(0) / v(h));
  return r;
}

}  // namespace

GramParts head_gram_blocks(const std::vector<HeadImages>& F, const std::vector<double>& mu, double mu_all,
                           double wo_wv, Mask mask) {
  const long H = static_cast<long>(F.size()), n = F[0].Pup.rows(), d = F[0].U.hi.rows();
  GramParts N{Matrix::Zero(n, n), Matrix::Zero(n, n), Vector::Zero(n)};
  // Rows are independent (each worker writes its own rows of N); the O(n² H² d) loop dominates
  // the check at n = 1024, so it runs on LinalgThreads::current() workers (linalg's
  // parallel_chunks: rows handed out in order, so causal rows of cost ∝ i balance), each under its
  // own upward rounding (NUMERICS.md: threads do not inherit the mode).
  auto row = [&](long i) {
    HiLo Z{Matrix(d, H), Matrix(d, H)}, Y{Matrix(d, H), Matrix(d, H)}, B{Matrix(d, H), Matrix(d, H)};
    for (long h = 0; h < H; ++h) {
      B.hi.col(h) = F[h].B.hi.col(i);
      B.nlo.col(h) = F[h].B.nlo.col(i);
    }
    const double rb = std::sqrt(rho(abs_gram(B)));
    const long L = mask == Mask::causal ? i + 1 : n;
    double diag = 0.0;
    for (long l = 0; l < L; ++l) {
      Vector w(H);
      double p = std::numeric_limits<double>::infinity(), top = 0.0;
      for (long h = 0; h < H; ++h) {
        w(h) = F[h].s * F[h].Pup(i, l);
        p = std::min(p, -F[h].Pnlo(i, l));
        top = std::max(top, F[h].Pup(i, l));
      }
      if (top == 0.0) continue;
      p = std::max(p, 0.0);
      double esum = 0.0, emax = 0.0;
      for (long h = 0; h < H; ++h) {
        const double e = std::max(F[h].Pup(i, l) - p, 0.0);
        esum += e * mu[h];
        emax = std::max(emax, e);
      }
      for (long h = 0; h < H; ++h) {
        // z ∈ [u_l − ū_i]: hi = hi(u_l) + nlo(ū_i), nlo = nlo(u_l) + hi(ū_i); likewise y.
        Z.hi.col(h) = F[h].U.hi.col(l) + F[h].Ubar.nlo.col(i);
        Z.nlo.col(h) = F[h].U.nlo.col(l) + F[h].Ubar.hi.col(i);
        Y.hi.col(h) = F[h].G.hi.col(l) + F[h].Gkap.nlo.col(i);
        Y.nlo.col(h) = F[h].G.nlo.col(l) + F[h].Gkap.hi.col(i);
      }
      Matrix M = abs_gram(Z);
      for (long h = 0; h < H; ++h)
        for (long k = 0; k < H; ++k) M(h, k) = w(h) * (M(h, k) * w(k));
      const double rz = std::sqrt(rho(M));
      N.P(i, l) = p * mu_all + std::min(esum, wo_wv * emax);
      N.R(i, l) = rz * rb;
      diag += rz * std::sqrt(rho(abs_gram(Y)));
    }
    N.D(i) = diag;
  };
  detail::parallel_chunks(LinalgThreads::current(), n, Rounding::upward, row);
  return N;
}

}  // namespace attnbound::check
