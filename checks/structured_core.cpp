// The checker's own derivation of the row-by-row core norms (docs/structured.md §3, bound 7),
// with the directed HiLo kernels of hilo.hpp; only linalg's verified norms are shared with the
// engine (src/bound/structured_core.cpp works in midpoint-radius form instead).

#include "hilo.hpp"
#include "internal.hpp"
#include "linalg/detail.hpp"
#include "linalg/linalg.hpp"

namespace attnbound::check {

namespace {

using namespace hilo;

/// Rows 0..L−1 of A minus row i of B: hi = hi(a) + nlo(b), nlo = nlo(a) + hi(b) (upward).
HiLo minus_row(const HiLo& A, const HiLo& B, long i, long L) {
  return HiLo{A.hi.topRows(L).rowwise() + B.nlo.row(i), A.nlo.topRows(L).rowwise() + B.hi.row(i)};
}

/// sup ‖X‖ over the HiLo box: ‖mid‖ + ‖rad‖ (linalg's verified norms).
double norm_hilo(const HiLo& A) {
  MidRad m;
  mid_rad(A, m.mid, m.rad);
  return norm2_upper(m).value();
}

}  // namespace

void core_rows(const HiLo& P, const HiLo& V, const HiLo& Vbar, const HiLo& K, const HiLo& Kap, double s,
               bool causal, Vector& gamma, Vector& mu) {
  const long n = P.hi.rows(), dv = V.hi.cols();
  gamma.resize(n);
  mu.resize(n);
  // One row per chunk, on LinalgThreads::current() workers, each under its own upward rounding.
  auto row = [&](long i) {
    const long L = causal ? i + 1 : n;
    const HiLo Dv = minus_row(V, Vbar, i, L);
    const HiLo Pi{P.hi.row(i).head(L).transpose().replicate(1, dv), P.nlo.row(i).head(L).transpose().replicate(1, dv)};
    const HiLo Pw = hadamard(Pi, Dv);                                // rows P_il (v_l − v̄_i)
    const HiLo C = times(transpose(Pw), minus_row(K, Kap, i, L));  // d_v × d_k
    gamma(i) = s * norm_hilo(C);
    mu(i) = s * norm_hilo(Pw);
  };
  detail::parallel_chunks(LinalgThreads::current(), n, Rounding::upward, row);
}

double key_core(const Vector& mu, const HiLo& Q) {
  HiLo M{Matrix(Q.hi.rows(), Q.hi.cols()), Matrix(Q.hi.rows(), Q.hi.cols())};
  // μ_i >= 0 exact: μ·[lo, hi] = [μ lo, μ hi], both ends rounded up in their own sign.
  for (Eigen::Index i = 0; i < Q.hi.rows(); ++i) {
    M.hi.row(i) = mu(i) * Q.hi.row(i);
    M.nlo.row(i) = mu(i) * Q.nlo.row(i);
  }
  return norm_hilo(M);
}

}  // namespace attnbound::check
