// Internal building blocks of linalg (not part of the public API; tests include it to check each
// piece on its own and to demonstrate that broken variants are caught).
//
// Every function says which rounding mode it runs in; each one installs that mode itself.
#pragma once

#include <atomic>
#include <exception>
#include <limits>
#include <string>
#include <mutex>
#include <thread>
#include <vector>

#include <Eigen/Core>

#include "core/matrix.hpp"
#include "core/rounding.hpp"
#include "linalg/linalg.hpp"

namespace attnbound::detail {

/// Unit roundoff of binary64 round-to-nearest and the smallest positive subnormal.
inline constexpr double kUnitRoundoff = 0x1p-53;
inline constexpr double kEta = 0x1p-1074;

/// Upper bound of γ_k = k·u / (1 − k·u) with u = 2^-53 (round-to-nearest), computed with upward
/// rounding. +inf when k·u >= 1/4 (the error analyses need k·u well below 1).
double gamma_up(long k);

/// Throws std::runtime_error if flush-to-zero or denormals-are-zero is enabled in the calling
/// thread (MXCSR FTZ/DAZ, e.g. set by a library built with -ffast-math): every error bound here
/// assumes gradual underflow, and an upward-rounded tiny result flushed to 0 is not an upper bound.
void require_gradual_underflow(const char* where);

/// Threads to use: `requested` if > 0, else LinalgThreads::current(); at least 1.
int resolve_threads(int requested);

/// Runs f(chunk) for chunk = 0 .. chunks-1 on up to `threads` threads (the caller's thread is
/// one of them); chunks are handed out in increasing order. Every participating thread runs
/// under RoundingGuard(mode). The first exception thrown by f is rethrown after all threads join.
template <class F>
void parallel_chunks(int threads, long chunks, Rounding mode, F&& f) {
  if (chunks <= 0) return;
  const int workers = static_cast<int>(std::min<long>(std::max(threads, 1), chunks));
  std::atomic<long> next{0};
  std::exception_ptr error;
  std::mutex error_mutex;
  auto body = [&] {
    RoundingGuard guard(mode);
    try {
      for (long c = next.fetch_add(1); c < chunks; c = next.fetch_add(1)) f(c);
    } catch (...) {
      std::lock_guard<std::mutex> lock(error_mutex);
      if (!error) error = std::current_exception();
      next.store(chunks);
    }
  };
  std::vector<std::thread> pool;
  pool.reserve(static_cast<std::size_t>(workers - 1));
  for (int w = 1; w < workers; ++w) pool.emplace_back(body);
  body();
  for (auto& t : pool) t.join();
  if (error) std::rethrow_exception(error);
}

// ---- non-negative matrices (nonneg.cpp; upward rounding, installed inside) ----------------------

/// y >= |M| v entrywise, for v >= 0 (upward rounding).
Vector abs_matvec_up(const Matrix& M, const Vector& v, int threads);
/// z >= |M|ᵀ w entrywise, for w >= 0 (upward rounding).
Vector abs_tmatvec_up(const Matrix& M, const Vector& w, int threads);
/// Upper bound of ρ(|M|ᵀ|M|) = ‖ |M| ‖₂² by Collatz–Wielandt on the smaller Gram side after at
/// most `power_steps` power steps from v = 1 (fewer once the quotients agree to a relative `tol`;
/// the bound is valid for any number of steps). NaN/inf entries give +inf; empty or zero M give 0.
double abs_gram_rho_up(const Matrix& M, int power_steps, int threads, double tol = 1e-13);

// ---- Gram enclosure (gram.cpp) ------------------------------------------------------------------

struct GramEnclosure {
  long dim = 0;            ///< N: G is N×N
  long inner = 0;          ///< K: the summation length of each entry
  double radius_norm = 0;  ///< r >= ‖G̃ − G‖₂ (upward); +inf if unknown
  bool finite = false;     ///< every computed entry of G̃ is finite
};

/// Computes G̃ = fl_nearest(XᵀX) into the upper triangle (with the diagonal) of `G` (resized to
/// N×N; the strict lower triangle is scratch afterwards), where X = M if M has at least as many
/// rows as columns and X = Mᵀ otherwise (so N = min(rows, cols), K = max(rows, cols)).
/// Guarantee: |G̃ − XᵀX| <= γ_{K+2}|X|ᵀ|X| + 2Kη entrywise for any summation order of the GEMM
/// (docs/linalg.md §3.1), hence ‖G̃ − XᵀX‖₂ <= r := γ_{K+2}·ρ(|M|ᵀ|M|) + 2NKη, returned with ρ from
/// abs_gram_rho_up. Round-to-nearest GEMMs on column panels, `threads` threads.
GramEnclosure gram_upper(const Matrix& M, Matrix& G, int threads);

// ---- Cholesky-based positive-definiteness proof (cholesky.cpp) ----------------------------------

/// Plain right-looking blocked Cholesky A = LLᵀ in round-to-nearest on the lower triangle of A
/// (the strict upper triangle is never read or written). Every entry is computed as
/// l_ij = fl(fl(a_ij − Σ_{k<j} l_ik l_jk) / l_jj), l_jj = fl(√fl(a_jj − Σ_{k<j} l_jk²)) with the
/// sums in some order (blocked GEMM updates), true division — the model of Rump (BIT 46, 2006).
/// Returns -1 when every pivot is > 0 and every entry of L is finite, else the failing column.
long cholesky_lower_rn(Eigen::Ref<Matrix> A, int threads);

/// Upper bound of Rump's shift for dimension n: c = (n+2)u/(1 − 2(n+2)u)·trace + 8nη(2(n+2) +
/// maxdiag), given trace >= tr(A) and maxdiag >= max A_ii (both >= 0). Upward rounding. The
/// constants are one step more conservative than the ones proved in the literature (docs §3.2).
double rump_shift_up(long n, double trace, double maxdiag);

/// Proves that every real symmetric matrix A with strictly-lower entries equal to those of `work`
/// and A_ii ∈ [diag_lo_i, diag_hi_i] is positive definite. Sets work_ii = fl_down(diag_lo_i − c)
/// with c = rump_shift_up(n, Σ diag_hi, max diag_hi) and runs cholesky_lower_rn on it; true only
/// if that succeeds (and every diag_lo_i − c > 0). Destroys the lower triangle and diagonal of
/// `work`; never touches the strict upper triangle.
bool prove_pd_lower(Eigen::Ref<Matrix> work, const Vector& diag_lo, const Vector& diag_hi,
                    int threads);

/// y ≈ G x for the symmetric matrix whose upper triangle is stored in G (round-to-nearest, no
/// guarantee), split over `threads` threads for large N.
Vector symv_upper(const Matrix& G, const Vector& x, int threads);

/// The largest eigenvalue estimate of the symmetric matrix whose upper triangle is stored in G
/// (dense solver for small N, Lanczos otherwise). No guarantee.
double approx_lambda_max_upper(const Matrix& G, int threads);

// ---- the norm proof (norm_point.cpp) ------------------------------------------------------------

struct GramProof {
  bool proved = false;
  double t = std::numeric_limits<double>::infinity();  ///< if proved: λmax(XᵀX) < t
  double theta = 0;                                    ///< the candidate λmax(G̃) used
  int attempts = 0;                                    ///< Cholesky factorisations run
  std::string why;                                     ///< if not proved
};

/// Steps 1-3 of norm2_upper (docs/linalg.md §3) on an unscaled M: proves λmax(XᵀX) < t, X = M or
/// Mᵀ as in gram_upper. `theta_override` (if not NaN) replaces the eigenvalue estimate — tests use
/// it to exercise the retries and the failure path with a deliberately bad candidate.
GramProof prove_gram_bound(const Matrix& M, const NormOptions& options, int threads,
                           double theta_override = std::numeric_limits<double>::quiet_NaN());

}  // namespace attnbound::detail
