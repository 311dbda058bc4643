// Block norms of J(X) with the heads kept together (the "head-Gram" variant of the structured tier,
// docs/structured.md §3). For the block (i, l), with 768-dimensional per-head vectors
//   z^h = W_O^h (v^h_l − v̄^h_i),   b^h = W_K^hᵀ q^h_i,   y^h = W_Q^hᵀ (k^h_l − κ^h_i),
// and weights w_h = s_h P^h_il, the rank-one part is Z diag(w) Bᵀ (Z = [z^h], B = [b^h], d × H), so
//   ‖Z diag(w) Bᵀ‖ <= ‖diag(w) ZᵀZ diag(w)‖^{1/2} ‖BᵀB‖^{1/2} <= ρ(diag(w)|ZᵀZ|diag(w))^{1/2} ρ(|BᵀB|)^{1/2}
// (‖M‖² = ρ(MᵀM) and ρ(A) <= ρ(|A|) for H × H Gram matrices), and the diagonal term is the sum over
// l of Z diag(w) Yᵀ, bounded the same way. The P part Σ_h P^h_il W_O^h W_V^h is bounded by
// p ‖W_O W_V‖ + min(Σ_h (P^h_il − p) ‖W_O^h W_V^h‖, ‖W_O‖‖W_V‖ max_h (P^h_il − p)), p = min_h P^h_il.
// Unlike summing per-head norms, this keeps near-orthogonal heads from adding up.
#include <algorithm>
#include <cmath>

#include "bound/structured_internal.hpp"
#include "linalg/detail.hpp"
#include "linalg/linalg.hpp"

namespace attnbound::detail {

namespace {

/// |ZᵀZ| bounded entrywise (H × H) for the columns of Z (d × H) in [Zm ± Zr]. Precondition: upward.
/// |z_h·z_k| <= max(fl_up(zm_h·zm_k), fl_up(zm_h·(−zm_k))) + ‖zm_h‖‖zr_k‖ + ‖zr_h‖‖zm_k‖ + ‖zr_h‖‖zr_k‖.
Matrix abs_gram_up(const Matrix& Zm, const Matrix& Zr) {
  const Matrix negZ = -Zm;
  Matrix up, dn;
  up.noalias() = Zm.transpose() * Zm;
  dn.noalias() = Zm.transpose() * negZ;
  const long H = Zm.cols();
  Vector nm(H), nr(H);
  for (long h = 0; h < H; ++h) {
    nm(h) = std::sqrt(Zm.col(h).squaredNorm());
    nr(h) = std::sqrt(Zr.col(h).squaredNorm());
  }
  Matrix G(H, H);
  for (long h = 0; h < H; ++h)
    for (long k = 0; k < H; ++k)
      G(h, k) = std::max(up(h, k), dn(h, k)) + nm(h) * nr(k) + nr(h) * nm(k) + nr(h) * nr(k);
  return G;
}

/// Columns z_h = a_h − b_h (token columns ca of A[h], cb of B[h], stored d × n so that a token is
/// contiguous) as (mid, rad): mid = fl_up(a − b), rad = rad a + rad b + 2u|mid| + η (an upward
/// subtraction is off by less than one ulp). Precondition: upward.
void diff_cols(const std::vector<const MidRad*>& A, long ca, const std::vector<const MidRad*>& B, long cb,
               Matrix& Zm, Matrix& Zr) {
  const long H = static_cast<long>(A.size());
  for (long h = 0; h < H; ++h) {
    Zm.col(h) = A[h]->mid.col(ca) - B[h]->mid.col(cb);
    Zr.col(h) = A[h]->rad.col(ca) + B[h]->rad.col(cb) + 0x1p-52 * Zm.col(h).cwiseAbs();
    Zr.col(h).array() += 0x1p-1074;
  }
}

/// ρ(M) for a small non-negative M: a few power steps, then Collatz–Wielandt upward.
double rho_up(const Matrix& M) {
  const long H = M.rows();
  Vector v = Vector::Ones(H);
  {
    RoundingGuard nearest(Rounding::nearest);
    for (int it = 0; it < 12; ++it) {
      Vector w = M * v + 1e-12 * v.maxCoeff() * Vector::Ones(H);  // stays > 0
      const double m = w.maxCoeff();
      if (!(m > 0) || !std::isfinite(m)) break;
      v = w / m;
    }
  }
  double r = 0.0;
  for (long h = 0; h < H; ++h) {
    if (!(v(h) > 0)) return std::numeric_limits<double>::infinity();
    double s = 0.0;
    for (long k = 0; k < H; ++k) s += M(h, k) * v(k);
    r = std::max(r, s / v(h));
  }
  return r;
}

}  // namespace

BlockParts head_gram_block_norms(const std::vector<HeadFactors>& F, const GramBlockConstants& c, Mask mask,
                                 int threads, bool drop_diagonal) {
  const long H = static_cast<long>(F.size()), n = F[0].Plo.rows(), d = F[0].U.mid.rows();
  std::vector<const MidRad*> U(H), Ub(H), B(H), G(H), Gk(H);
  for (long h = 0; h < H; ++h) {
    U[h] = &F[h].U;
    Ub[h] = &F[h].Ubar;
    B[h] = &F[h].B;
    G[h] = &F[h].G;
    Gk[h] = &F[h].Gkap;
  }
  BlockParts N{Matrix::Zero(n, n), Matrix::Zero(n, n), Vector::Zero(n)};
  // Rows on `threads` workers (parallel_chunks: each under its own upward rounding).
  detail::parallel_chunks(threads, n, Rounding::upward, [&](long i) {
    Matrix Zm(d, H), Zr(d, H), Ym(d, H), Yr(d, H), Bm(d, H), Br(d, H);
    for (long h = 0; h < H; ++h) {
      Bm.col(h) = B[h]->mid.col(i);
      Br.col(h) = B[h]->rad.col(i);
    }
    const double rb = std::sqrt(rho_up(abs_gram_up(Bm, Br)));
    const long L = mask == Mask::causal ? i + 1 : n;
    double diag = 0.0;
    for (long l = 0; l < L; ++l) {
      Vector w(H);
      double pmin = std::numeric_limits<double>::infinity(), any = 0.0;
      for (long h = 0; h < H; ++h) {
        w(h) = F[h].s * F[h].Pup(i, l);
        pmin = std::min(pmin, F[h].Plo(i, l));
        any = std::max(any, F[h].Pup(i, l));
      }
      if (any == 0.0) continue;
      pmin = std::max(pmin, 0.0);
      double rest_sum = 0.0, rest_max = 0.0;
      for (long h = 0; h < H; ++h) {
        const double e = std::max(F[h].Pup(i, l) - pmin, 0.0);
        rest_sum += e * c.mu[h];
        rest_max = std::max(rest_max, e);
      }
      const double ppart = pmin * c.mu_all + std::min(rest_sum, c.wo_wv * rest_max);
      diff_cols(U, l, Ub, i, Zm, Zr);
      Matrix M = abs_gram_up(Zm, Zr);
      for (long h = 0; h < H; ++h)
        for (long k = 0; k < H; ++k) M(h, k) = w(h) * (M(h, k) * w(k));
      const double rz = std::sqrt(rho_up(M));
      N.P(i, l) = ppart;
      N.R(i, l) = rz * rb;
      diff_cols(G, l, Gk, i, Ym, Yr);
      diag += rz * std::sqrt(rho_up(abs_gram_up(Ym, Yr)));
    }
    if (!drop_diagonal) N.D(i) = diag;
  });
  return N;
}

}  // namespace attnbound::detail
