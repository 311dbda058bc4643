// attnbound/linalg — verified linear algebra: enclosed matrix products and spectral-norm bounds.
//
// Contract of the module (docs/linalg.md has the proofs):
//   * An enclosure (IMatrix, IVector, MidRad) returned here contains the exact result for every
//     choice of inputs inside the input enclosures. It need not be the smallest such enclosure.
//   * An UpperBound / LowerBound returned here is proved from end to end: every step is either
//     exact, rounded in the safe direction, or covered by an a-priori rounding-error bound that
//     holds for any summation order (with or without FMA). Approximations (power iteration,
//     Lanczos, eigen-solvers) are only used to choose candidates that are then verified.
//   * When a proof cannot be completed the functions return a weaker but still proved bound
//     (ultimately +infinity / -infinity / an entire interval) and say so; they never return an
//     unproved number as a bound. Non-finite inputs give "no information" results, not errors.
//   * Rounding: every function installs the rounding mode it needs (RoundingGuard) and restores
//     the caller's, so callers may be in any mode. Functions returning Interval matrices are
//     normally called inside an UpwardScope, because that is where the caller can use the result.
//   * Gradual underflow is part of every error bound: the functions throw std::runtime_error when
//     flush-to-zero / denormals-are-zero is enabled in the calling thread (MXCSR), instead of
//     returning numbers that might be unsound.
//   * Threads: kernels may split big products over `LinalgThreads::current()` threads (default 1);
//     each worker installs its own rounding mode. Nothing here uses Eigen's own threading.
//
// Approximate helpers without any guarantee live in attnbound::approx.
#pragma once

#include <functional>
#include <limits>
#include <string>
#include <type_traits>
#include <vector>

#include "core/bounds.hpp"
#include "core/interval.hpp"
#include "core/matrix.hpp"
#include "core/mp_interval.hpp"

namespace attnbound {

// ---- threads ----------------------------------------------------------------------------------

/// RAII: the number of threads the linalg kernels of the calling thread may use (thread-local;
/// 1 unless set). Values < 1 are treated as 1. Restores the previous setting on destruction.
class LinalgThreads {
 public:
  explicit LinalgThreads(int threads);
  ~LinalgThreads();
  LinalgThreads(const LinalgThreads&) = delete;
  LinalgThreads& operator=(const LinalgThreads&) = delete;
  static int current();

 private:
  int saved_;
};

// ---- midpoint-radius form ---------------------------------------------------------------------

/// Guarantee: enclosure. {X : |X - mid| <= rad} contains every member of A. An entry with an
/// infinite or NaN (empty = "no information") endpoint becomes mid 0, rad +inf (entire).
MidRad to_midrad(const IMatrix& A);
/// Guarantee: enclosure. Entry (i,j) contains [mid - rad, mid + rad]; a non-finite mid or rad
/// gives the entire interval [-inf, +inf]. Precondition: same shapes, rad >= 0 (checked:
/// std::invalid_argument; the MidRad products check the same).
IMatrix to_intervals(const MidRad& A);
/// Exact: the transposed enclosure (midpoint and radius transposed).
inline MidRad transpose(const MidRad& A) { return MidRad{A.mid.transpose(), A.rad.transpose()}; }

// ---- enclosed products --------------------------------------------------------------------------
// Guarantee: enclosure of {A·B : A ∈ A, B ∈ B}. Precondition: inner dimensions agree (checked:
// std::invalid_argument). Method (docs/linalg.md §2): mid = fl_nearest(Am·Bm) and
// rad = fl_up(|Am|(Br + γ|Bm|) + Ar(|Bm| + Br)) + 2kη with γ = γ_{k+2} (u = 2^-53), where k is
// the inner dimension and η = 2^-1074; that is 2 GEMMs for interval × point and 3 for
// interval × interval (2 when the left radius is zero). The extra width over the exact range is
// at most γ_{k+2}|Am||Bm| + 2kη plus the rounding of the radius product. Overflow, unbounded or
// empty inputs give entire entries (never NaN endpoints). Cost: 2-3 double GEMMs plus O(n²)
// conversions (measured 2.5-3× one double GEMM at 256×768×768); big products are split over
// LinalgThreads::current() threads. The IMatrix overloads convert their operands in one fused pass;
// the MidRad overloads skip the conversions (chain them when several products share operands).

/// A point (weight) matrix with its entrywise absolute value precomputed (both exact, immutable):
/// products with it skip the O(rows·cols) |B| pass of every call, which matters when one side is
/// thin (n = 16 tokens against a 768×768 weight).
class PreparedMatrix {
 public:
  explicit PreparedMatrix(Matrix m);
  const Matrix& value() const { return value_; }
  const Matrix& abs() const { return abs_; }

 private:
  Matrix value_, abs_;
};

IMatrix mul(const IMatrix& A, const IMatrix& B);
IMatrix mul(const IMatrix& A, const Matrix& B);
IMatrix mul(const IMatrix& A, const PreparedMatrix& B);
IMatrix mul(const PreparedMatrix& A, const IMatrix& B);
IMatrix mul(const Matrix& A, const IMatrix& B);
IVector mul(const IMatrix& A, const Vector& x);
MidRad mul(const MidRad& A, const MidRad& B);
MidRad mul(const MidRad& A, const Matrix& B);
MidRad mul(const Matrix& A, const MidRad& B);
MidRad mul(const MidRad& A, const PreparedMatrix& B);
MidRad mul(const PreparedMatrix& A, const MidRad& B);
/// Guarantee: enclosure of the exact product of two double matrices. Two directed GEMMs
/// (upper = fl_up(A·B), lower = -fl_up((-A)·B)), so each entry is as tight as directed rounding
/// allows (typically a few ulps of the cancellation). Overflow gives entire entries.
IMatrix mul_enclose(const Matrix& A, const Matrix& B);

// ---- spectral norm: upper bounds ----------------------------------------------------------------

struct NormOptions {
  /// Threads for the Gram product and the Cholesky factorisation; 0 = LinalgThreads::current().
  int threads = 0;
  /// Proof attempts (each one Cholesky factorisation, at least 1) before falling back to the
  /// cheap bound.
  int max_attempts = 6;
  /// Relative margin of the first attempt, t = θ(1 + margin) + (shift consumed by the proof);
  /// 0 = automatic (as small as the proof allows). Grows after each failed attempt.
  double margin = 0.0;
};

/// What proved a norm bound (for the CLI's "which method proved it").
struct NormProof {
  UpperBound bound;     ///< proved >= the spectral norm
  Estimate estimate;    ///< the floating-point σ̃ the proof started from (no guarantee)
  std::string method;   ///< e.g. "gram-cholesky", "frobenius", "zero", "fallback: ..."
  int attempts = 0;     ///< Cholesky factorisations run
  double seconds = 0.0; ///< wall time
};

/// Guarantee: upper bound of ‖M‖₂ (any shape, any scaling). Method (Rump, BIT 51 2011 with the
/// positive-definiteness test of BIT 46 2006; docs/linalg.md §3): G̃ = fl(MᵀM) (or MMᵀ, the
/// smaller) with an a-priori error bound, θ ≈ λmax(G̃) by Lanczos / eigen-solver, t slightly above
/// θ, and a round-to-nearest Cholesky of tI - G̃ - (c + r)I proves tI - MᵀM ≻ 0, so ‖M‖ < √t.
/// On failure t grows and the proof is retried; when no attempt succeeds (or the Gram overflows)
/// the result is the cheap bound min(‖M‖_F, √(‖M‖₁‖M‖∞)) and `method` starts with "fallback".
/// Non-finite entries give +inf ("non-finite input"). Memory: one N×N buffer, N = min(rows, cols).
NormProof norm2_upper_proof(const Matrix& M, const NormOptions& options = {});
UpperBound norm2_upper(const Matrix& M);
/// Eigen expressions of doubles (e.g. `M.transpose()`, `A * B`) are evaluated into a Matrix
/// first; without these the Matrix / IMatrix / MpMatrix overloads would be ambiguous.
template <class Derived>
  requires std::is_same_v<typename Derived::Scalar, double>
NormProof norm2_upper_proof(const Eigen::MatrixBase<Derived>& M, const NormOptions& options = {}) {
  return norm2_upper_proof(Matrix(M), options);
}
template <class Derived>
  requires std::is_same_v<typename Derived::Scalar, double>
UpperBound norm2_upper(const Eigen::MatrixBase<Derived>& M) {
  return norm2_upper(Matrix(M));
}

/// Guarantee: upper bound of sup{‖X‖₂ : X ∈ M} = ‖mid‖ (as above) + ‖rad‖ (Collatz–Wielandt on
/// radᵀrad). Non-finite radii give +inf.
NormProof norm2_upper_proof(const MidRad& M, const NormOptions& options = {});
UpperBound norm2_upper(const MidRad& M);
NormProof norm2_upper_proof(const IMatrix& M, const NormOptions& options = {});
UpperBound norm2_upper(const IMatrix& M);

/// Guarantee: an upper bound of max_s ‖M_s‖₂ over a family of matrices, or +inf once that maximum
/// is found to reach `give_up` (which then need not be proved). The proof of norm2_upper for
/// each member, with one shared candidate t (from power-step estimates warm-started across the
/// family, no eigen-solver per member): built for the 2^m vertex matrices of a box, which are
/// small and close to each other. Falls back to norm2_upper per member when the shared proof
/// fails or the family needs scaling; +inf for non-finite entries.
UpperBound norm2_upper_max(const std::vector<Matrix>& Ms,
                           double give_up = std::numeric_limits<double>::infinity());

/// Guarantee: upper bound of ‖M‖₂ by min(‖M‖_F, √(‖M‖₁‖M‖∞)), rounded up. O(mn), no proof
/// machinery; typically 2-20× too large. +inf for non-finite entries.
UpperBound norm2_upper_cheap(const Matrix& M);

/// Guarantee: upper bound of the spectral radius ρ(B) of a square non-negative matrix, by
/// Collatz–Wielandt (ρ(B) <= max_i (Bv)_i / v_i for any v > 0), rounded up, with v from at most
/// `power_steps` shifted power steps (stopping once the quotients agree to ~1e-13). Each step is
/// one product with B (O(n²)). Precondition: B square with B >= 0 entrywise (checked:
/// std::invalid_argument for a negative entry or a non-square B). NaN/inf entries, or overflow
/// inside the iteration, give +inf.
UpperBound perron_upper(const Matrix& B, int power_steps = 60);

/// Guarantee: upper bound of ‖B‖₂ for an entrywise non-negative B (any shape), as
/// √ρ(BᵀB) with Collatz–Wielandt on the smaller Gram side, computed matrix-free (each step is
/// one product with B and one with Bᵀ, O(rows·cols)). Precondition: B >= 0 (checked:
/// std::invalid_argument). Used for radius matrices and block-norm matrices.
UpperBound norm2_upper_nonneg(const Matrix& B, int power_steps = 60);

// ---- spectral norm: lower bounds ----------------------------------------------------------------

/// Guarantee: lower bound of ‖y‖₂ / ‖v‖₂ for every y in the box Mv (so of ‖M‖₂ for every M with
/// M v ∈ Mv — the attention code encloses J·v matrix-free). Uses mig(y_i) (0 when y_i contains 0).
/// v = 0 or non-finite data give 0 (a trivially valid lower bound of a norm). Any rounding mode.
LowerBound ratio_lower(const IVector& Mv, const Vector& v);
/// Guarantee: lower bound of ‖X‖₂ for every X in M, as ratio_lower(mul(M, v), v).
LowerBound norm2_lower(const IMatrix& M, const Vector& v);
/// Guarantee: lower bound of ‖M‖₂, as ratio_lower(mul_enclose(M, v), v).
LowerBound norm2_lower(const Matrix& M, const Vector& v);

// ---- multiprecision (independent checker, badly scaled matrices) --------------------------------

enum class MpNormPath {
  automatic,         ///< pure MPFI when rows·cols·min(rows,cols) <= 2^21 and min(rows,cols) <= 96
  mpfi,              ///< pure MPFI: MPFI Gram + interval Cholesky of tI - G (any size; O(N²K))
  double_intervals,  ///< outward-rounded double intervals, then norm2_upper(const IMatrix&)
};

/// Guarantee: upper bound of sup{‖X‖₂ : X ∈ M}. The pure-MPFI path encloses G = XᵀX in MPFI at the
/// thread's MpInterval precision (at least 128 bits) and proves tI - G ≻ 0 for every symmetric
/// member by an interval Cholesky with positive pivots; it never touches the hardware rounding
/// mode and works for exponents outside the double range. The double path is fast but turns
/// entries beyond the double range into infinite radii (bound +inf) or zero-width underflow
/// enclosures. If no candidate t is proved the MPFI path returns the MPFI Frobenius bound.
UpperBound norm2_upper(const MpMatrix& M, MpNormPath path = MpNormPath::automatic);
/// Guarantee: lower bound of ‖X‖₂ for every X in M, by ‖Xv‖/‖v‖ evaluated in MPFI (pure MPFI,
/// any size; O(rows·cols) MPFI operations). v = 0 gives 0.
LowerBound norm2_lower(const MpMatrix& M, const Vector& v);

// ---- approximations (no guarantee) --------------------------------------------------------------

namespace approx {

struct TopSingular {
  Estimate sigma{0.0};   ///< ≈ σ_max
  Vector u, v;           ///< ≈ unit left / right singular vectors, M v ≈ σ u
  int iterations = 0;    ///< products with M (and with Mᵀ) performed
  bool converged = false;
};

struct TopEigen {
  Estimate lambda{0.0};  ///< ≈ λ_max of a symmetric operator
  Vector v;              ///< ≈ unit eigenvector
  int iterations = 0;
  bool converged = false;
};

/// Guarantee: none. Lanczos on MᵀM through the callbacks (the Golub–Kahan Krylov space), full
/// reorthogonalisation, deterministic start vector; stops when the Ritz residual of MᵀM is
/// <= tol·σ² or after max_iter pairs of products (restarting from the best Ritz vector every 200
/// steps; a breakdown = invariant subspace counts as converged). σ = ‖M v‖, u = M v / σ.
/// mv(x) = M x (x of length cols), mtv(y) = Mᵀ y; each is called once per iteration.
TopSingular top_singular(const std::function<Vector(const Vector&)>& mv,
                         const std::function<Vector(const Vector&)>& mtv, long cols, int max_iter,
                         double tol);
TopSingular top_singular(const Matrix& M, int max_iter = 300, double tol = 1e-14);

/// Guarantee: none. Symmetric Lanczos with full reorthogonalisation for the largest eigenvalue
/// of a symmetric operator (mv(x) = A x, A n×n).
TopEigen top_eigen_symmetric(const std::function<Vector(const Vector&)>& mv, long n, int max_iter,
                             double tol);

/// Guarantee: none. ≈ ‖M‖₂ (dense SVD for small matrices, Lanczos otherwise).
Estimate norm2(const Matrix& M);

}  // namespace approx

}  // namespace attnbound
