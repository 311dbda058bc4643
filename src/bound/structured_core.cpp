// The cores of one head, row by row, as verified norms (docs/structured.md §3, bound 7).
//
// The factored bound needs ‖C‖ = max_i ‖C_i‖ with C_i = s Σ_j P_ij (v_j − v̄_i)(k_j − κ_i)ᵀ, and
// ‖B‖ for the key-side core (B k̇)_i = s Σ_l P_il (v_l − v̄_i) q_iᵀ k̇_l. The triangle inequality
// over j (structured.cpp) ignores that the d_v-dimensional differences point in many directions;
// here C_i is enclosed as a d_v × d_k matrix and its norm proved, and B is bounded through the
// row factors M_i = s [P_il (v_l − v̄_i)]_l:
//   ‖B k̇‖² = Σ_i ‖M_i K̇ q_i‖² <= Σ_i ‖M_i‖² q_iᵀ K̇ᵀK̇ q_i <= ‖K̇‖_F² λmax(Σ_i ‖M_i‖² q_i q_iᵀ),
// so ‖B‖ <= ‖diag(μ) Q‖ for any μ_i >= ‖M_i‖ (monotone in every μ_i).
#include <cmath>

#include "bound/structured_internal.hpp"
#include "linalg/linalg.hpp"

namespace attnbound::detail {

namespace {

constexpr double kUlp = 0x1p-52;    // |fl_up(x) − x| <= kUlp·|fl_up(x)| + kEta for normal and subnormal x
constexpr double kEta = 0x1p-1074;

/// Rows 0..L−1 of A minus the row b (b_i of a MidRad), as a MidRad. Precondition: upward rounding.
MidRad minus_row(const MidRad& A, const MidRad& b, long i, long L) {
  MidRad D;
  D.mid = A.mid.topRows(L).rowwise() - b.mid.row(i);
  D.rad = (A.rad.topRows(L).rowwise() + b.rad.row(i)) + kUlp * D.mid.cwiseAbs() +
          Matrix::Constant(L, A.mid.cols(), kEta);
  return D;
}

/// diag(p) D for the row weights p (entries l of P's row i). Precondition: upward rounding.
MidRad scale_rows(const MidRad& P, long i, const MidRad& D) {
  const long L = D.mid.rows();
  MidRad W;
  W.mid.resize(L, D.mid.cols());
  W.rad.resize(L, D.mid.cols());
  for (long l = 0; l < L; ++l) {
    const double pm = P.mid(i, l), pr = P.rad(i, l), apm = std::abs(pm);
    for (long a = 0; a < D.mid.cols(); ++a) {
      const double m = pm * D.mid(l, a);
      W.mid(l, a) = m;
      W.rad(l, a) = apm * D.rad(l, a) + pr * (std::abs(D.mid(l, a)) + D.rad(l, a)) + kUlp * std::abs(m) + kEta;
    }
  }
  return W;
}

}  // namespace

CoreRows core_row_norms(const MidRad& P, const MidRad& V, const MidRad& Vbar, const MidRad& K, const MidRad& Kap,
                        double s, bool causal) {
  const long n = P.mid.rows();
  CoreRows out;
  out.gamma.resize(n);
  out.mu.resize(n);
  for (long i = 0; i < n; ++i) {
    const long L = causal ? i + 1 : n;
    const MidRad Pw = scale_rows(P, i, minus_row(V, Vbar, i, L));  // rows P_il (v_l − v̄_i)
    const MidRad C = mul(transpose(Pw), minus_row(K, Kap, i, L));  // Σ_l P_il (v_l − v̄_i)(k_l − κ_i)ᵀ
    out.gamma(i) = s * norm2_upper(C).value();
    out.mu(i) = s * norm2_upper(Pw).value();
  }
  return out;
}

double key_core_bound(const Vector& mu, const MidRad& Q) {
  MidRad M;
  M.mid = mu.asDiagonal() * Q.mid;
  M.rad = mu.asDiagonal() * Q.rad;
  M.rad += kUlp * M.mid.cwiseAbs() + Matrix::Constant(M.mid.rows(), M.mid.cols(), kEta);
  return norm2_upper(M).value();
}

}  // namespace attnbound::detail
