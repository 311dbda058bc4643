// Stated error bounds from which the tests' tolerances on enclosure widths are derived (issue 15).
//
// A width depends on the order in which sums are evaluated (Eigen's blocking and packet width, the
// thread count, -march), so a tolerance read off one machine can fail on another. Every function
// here is an a-priori bound that holds for ANY evaluation order, stated in docs/ next to the
// algorithm it bounds; a test compares its measured width with it. None of these numbers was
// tuned to a value observed on a machine. docs/tests.md lists every width tolerance of the suite
// and the bound it comes from.
#pragma once

#include <algorithm>
#include <cmath>

namespace attnbound::testing::stated {

inline constexpr double u = 0x1p-53;  // unit roundoff of binary64, round to nearest

/// γ_k = k u / (1 − k u) (Higham 2002, §3.1).
inline double gamma(double k) { return k * u / (1 - k * u); }

/// docs/linalg.md §3.3, "Tightness": relative excess ‖M‖-bound / σ − 1 of `norm2_upper` for a
/// matrix with N = min(rows, cols), K = max(rows, cols), when the Cholesky proof succeeds within
/// `attempts` candidates (margins f = 1, 10, 100, … and ρ ×10 per failed attempt). From step 3,
///   t ≤ θ + ((1 + f)(κ(Nθ − tr G̃) + r) + θρ)/(1 − κN),   κ = (N+2)u/(1 − 2(N+2)u),
///   r ≤ γ_{K+2}‖|M|‖² ≤ γ_{K+2}·N·σ²  (‖|M|‖² ≤ ‖M‖_F² ≤ Nσ²),  Nθ − tr G̃ ≤ Nθ,
///   θ ≤ λmax(G̃) ≤ σ²(1 + γ_{K+2}N)  (θ is a Ritz value or the dense solver's value of G̃),
///   ρ = max(16Nu, Lanczos tolerance), the tolerance being 0 for N ≤ 400 and
///   clamp(0.1N²u, 1e-14, 1e-9) above,
/// so t/σ² − 1 ≤ (1 + γ_{K+2}N)(1 + ((1+f)(κN + γ_{K+2}N) + ρ)/(1 − κN)) − 1 =: τ, and
/// bound/σ − 1 ≤ τ/2 + 4u (square root and the final roundings, upward). Underflow terms
/// (2NKη) are negligible for the normal-range matrices the tests use and covered by the 4u.
inline double norm2_gap(double N, double K, int attempts = 2) {
  const double kappa = (N + 2) * u / (1 - 2 * (N + 2) * u);
  const double g = gamma(K + 2) * N;
  double f = 1, rho = std::max(16 * N * u, N <= 400 ? 0.0 : std::clamp(0.1 * N * N * u, 1e-14, 1e-9));
  for (int a = 1, growth = 10; a < attempts; ++a, growth *= 10) f *= growth, rho *= growth;
  const double tau = (1 + g) * (1 + ((1 + f) * (kappa * N + g) + rho) / (1 - kappa * N)) - 1;
  return tau / 2 + 4 * u;
}

/// norm2_gap for an N_rows × N_cols matrix in either orientation.
inline double norm2_gap_of(double rows, double cols, int attempts = 2) {
  return norm2_gap(std::min(rows, cols), std::max(rows, cols), attempts);
}

/// docs/linalg.md §3.4: `norm2_upper_max` over a family shares one candidate whose relative margin
/// is ρ = max(1e-9, 16Nu), ×10 per thin-margin failure; otherwise as norm2_gap.
inline double norm2_family_gap(double N, double K, int attempts = 2) {
  const double kappa = (N + 2) * u / (1 - 2 * (N + 2) * u);
  const double g = gamma(K + 2) * N;
  double f = 1, rho = std::max(1e-9, 16 * N * u);
  for (int a = 1, growth = 10; a < attempts; ++a, growth *= 10) f *= growth, rho *= growth;
  const double tau = (1 + g) * (1 + ((1 + f) * (kappa * N + g) + rho) / (1 - kappa * N)) - 1;
  return tau / 2 + 4 * u;
}

/// docs/linalg.md §6, MPFI path: t = θ(1 + ρ) with θ the double eigen-solver's value for the
/// scaled midpoint Gram (relative error ≤ γ_{N+2}N) and ρ = 1e-12, 1e-10, … per attempt; the
/// Gram is exact to ≥ 128 bits. Within `attempts` candidates, bound/σ − 1 ≤ (ρ + 2γ_{N+2}N)/2 + 4u.
inline double mp_norm2_gap(double N, int attempts = 2) {
  return (1e-12 * std::pow(100.0, attempts - 1) + 2 * gamma(N + 2) * N) / 2 + 4 * u;
}

/// docs/linalg.md §6, double-interval path (§4): outward conversion adds radii ≤ u|M|, so
/// ‖rad‖ ≤ u‖|M|‖ ≤ u√N σ on top of the midpoint's norm2_gap.
inline double mp_double_interval_gap(double rows, double cols) {
  return norm2_gap_of(rows, cols) + 2 * u * std::sqrt(std::min(rows, cols)) + 2 * u;
}

/// docs/linalg.md §4: Collatz–Wielandt upper bound of ρ(B), B ≥ 0 of order n, when the power
/// steps converge (the stopping rule is max/min of the quotients within 1e-13): the excess is that
/// spread plus the upward roundings of one product and one division, γ_{n+2}.
inline double collatz_gap(double n) { return 1e-13 + 2 * gamma(n + 2); }

/// docs/linalg.md §4: ‖B‖₂ = √ρ(BᵀB) for B ≥ 0 (r × c), two matrix-free upward products.
inline double nonneg_norm_gap(double r, double c) { return (1e-13 + 2 * gamma(r + c + 2)) / 2 + 2 * u; }

/// docs/linalg.md §5: the lower bound ‖Mv‖/‖v‖ at a float top singular vector v with angle error
/// ε from the exact one is ≥ σ(1 − ε²/2·(1 − σ₂²/σ²)) ≥ σ(1 − ε²/2); evaluated in interval
/// arithmetic it loses at most γ_{K+2} (the products) + 2u (square root, division) more. For the
/// dense solvers the tests use, ε ≤ (N u)·‖M‖²/(σ² − σ₂²) ≤ 1e-6 for gaps above 1e-4 relative,
/// so the deficit is below 1e-12 + γ_{K+2} + 2u.
inline double norm2_lower_deficit(double K) { return 1e-12 + gamma(K + 2) + 2 * u; }

/// docs/linalg.md §6.1 (the generic route of proofs/quantities.cpp): relative width of the
/// enclosure of ‖PᵀQ‖ (P, Q: k × m) when PᵀQ is enclosed entrywise by a directed product with
/// inner dimension k (radius ≤ γ_{k+1}|P|ᵀ|Q|, the +1 for a division by √divisor) and its norm by
/// `norm2_upper(IMatrix)` = ‖mid‖ + ‖rad‖ above, the interval ‖Mv‖/‖v‖ below:
///   relw ≤ 2γ_{k+1}‖|P|ᵀ|Q|‖/‖PᵀQ‖ + norm2_gap(m, m) + norm2_lower_deficit(m).
inline double product_norm_relwidth(double k, double m, double abs_product_norm, double norm) {
  return 2 * gamma(k + 1) * abs_product_norm / norm + norm2_gap(m, m) + norm2_lower_deficit(m);
}

/// docs/linalg.md §6.1 (the low-rank route): relative width of the enclosure of a = ‖PᵀQ‖
/// (P, Q: k × m, k < m) from the k × k problem λ = a² = λmax(H), H = L_Qᵀ G_P L_Q. First order in u:
///  * G_P = PPᵀ and G_Q = QQᵀ by directed GEMMs: radii ≤ γ_m|P||P|ᵀ, γ_m|Q||Q|ᵀ (any order);
///  * the interval Cholesky of G_Q: radius of L_Q ≤ κ(G_Q)‖L_Q‖‖rad G_Q‖/‖G_Q‖ in norm (Sun's
///    first-order perturbation bound for the Cholesky factor, ‖δL‖_F ≤ κ₂(G)‖L‖₂‖δG‖_F/(√2‖G‖₂),
///    Sun, Linear Algebra Appl. 151 (1991)), which the interval factor attains up to wrapping;
///  * the two k × k interval products: γ_k|L_Q|ᵀ|G_P||L_Q|;
/// so ‖rad H‖ ≤ γ_m‖|L_Q|‖²‖|P||P|ᵀ‖ + 2γ_m κ(G_Q)‖G_P‖‖|Q||Q|ᵀ‖ + 2γ_k‖|L_Q|‖²‖|G_P|‖, and
/// λ ∈ [λ − ‖rad H‖ − deficit, λ + ‖rad H‖ + gap], i.e. for a = √λ
///   relw(a) ≤ ‖rad H‖/λ + (norm2_gap(k, k) + norm2_lower_deficit(k))/2 + 2u.
/// The factors are properties of the weights, which the caller computes in floating point.
inline double lowrank_norm_relwidth(double k, double m, double absL2, double absGP, double nGP, double absGQ,
                                    double condQ, double lambda) {
  const double radH = gamma(m) * absL2 * absGP + 2 * gamma(m) * condQ * nGP * absGQ + 2 * gamma(k) * absL2 * absGP;
  return radH / lambda + (norm2_gap(k, k) + norm2_lower_deficit(k)) / 2 + 2 * u;
}

}  // namespace attnbound::testing::stated
