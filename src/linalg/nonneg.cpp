// Non-negative matrices: Collatz–Wielandt upper bounds of spectral radii and norms.
//
// Collatz–Wielandt: for S >= 0 entrywise and any v > 0, ρ(S) <= max_i (Sv)_i / v_i. With S and v
// non-negative, every upward-rounded product and sum is >= its exact value (whatever the order),
// so the computed ratio bounds ρ(S) from above. v only has to be positive: a few power steps make
// the bound tight, they are not part of the proof.
#include <cmath>
#include <limits>
#include <stdexcept>

#include "core/bounds.hpp"
#include "core/interval.hpp"
#include "linalg/detail.hpp"
#include "linalg/linalg.hpp"

namespace attnbound {

namespace {

using Eigen::Index;
constexpr double kInf = std::numeric_limits<double>::infinity();
/// Matrices with fewer entries than this use one thread.
constexpr double kParallelEntries = 1.0e6;

int threads_for(const Matrix& M, int threads) {
  return static_cast<double>(M.size()) >= kParallelEntries ? threads : 1;
}

bool all_finite(const Matrix& M) { return M.allFinite(); }

/// The Collatz–Wielandt quotient max_i w_i / v_i, rounded up (v > 0, w >= 0).
__attribute__((noinline)) double collatz_quotient_up(const Vector& w, const Vector& v) {
  UpwardScope up;
  double q = 0.0;
  for (Index i = 0; i < v.size(); ++i) {
    double r = w(i) / v(i);
    asm volatile("" : "+x"(r));
    if (std::isnan(r)) return r;  // caller maps NaN to +inf
    if (r > q) q = r;
  }
  return q;
}

/// v <- w / max(w), floored so that every entry stays > 0. Returns false if w is identically 0.
bool normalise_positive(Vector& v, const Vector& w) {
  const double mx = w.maxCoeff();
  if (!(mx > 0)) return false;
  v = w / mx;
  for (Index i = 0; i < v.size(); ++i)
    if (!(v(i) >= 0x1p-600)) v(i) = 0x1p-600;
  return true;
}

/// Upper bound of ρ(S) for a non-negative S given by `apply(v)` >= S v (upward rounding), by the
/// Collatz–Wielandt quotient at a v > 0 found by at most `max_steps` power steps on S + shift·ρ̂I
/// (the shift damps the oscillation of periodic matrices). The steps stop early once the upper
/// and lower quotients agree to a relative `tol` or stall. Only the final quotient is part of the proof.
template <class Apply>
double collatz_upper(Apply&& apply, Index dim, int max_steps, double shift, double tol = 1e-13) {
  Vector v = Vector::Ones(dim);
  Vector w = apply(v);
  double previous = kInf;
  int stalls = 0;
  for (int s = 0; s < max_steps; ++s) {
    // Overflow (inf, or NaN from inf·0 inside apply) means "no information": +inf, never 0.
    if (!w.allFinite()) return kInf;
    if (w.isZero(0.0)) return 0.0;  // w >= S v >= 0 and w = 0 with v > 0: S = 0, ρ = 0
    double hi = 0.0, lo = kInf;
    for (Index i = 0; i < dim; ++i) {
      const double q = w(i) / v(i);
      hi = std::max(hi, q);
      if (w(i) > 0) lo = std::min(lo, q);
    }
    if (!std::isfinite(hi) || hi <= lo * (1 + tol)) break;
    stalls = hi >= previous * (1 - tol) ? stalls + 1 : 0;
    if (stalls >= 3) break;
    previous = hi;
    const Vector next = w + (shift * hi) * v;
    if (!next.allFinite() || !normalise_positive(v, next)) return kInf;
    w = apply(v);
  }
  if (!w.allFinite()) return kInf;
  const double q = collatz_quotient_up(w, v);
  return std::isnan(q) ? kInf : q;
}

void check_nonnegative(const Matrix& B, const char* what) {
  for (Index i = 0; i < B.size(); ++i)
    if (B.data()[i] < 0)
      throw std::invalid_argument(std::string(what) + ": matrix has a negative entry");
}

}  // namespace

namespace detail {

Vector abs_matvec_up(const Matrix& M, const Vector& v, int threads) {
  Vector y = Vector::Zero(M.rows());
  const int parts = static_cast<int>(std::min<Index>(threads_for(M, threads), std::max<Index>(M.rows(), 1)));
  parallel_chunks(parts, parts, Rounding::upward, [&](long p) {
    const Index b = M.rows() * p / parts, e = M.rows() * (p + 1) / parts;
    auto seg = y.segment(b, e - b);
    for (Index j = 0; j < M.cols(); ++j) {
      const double vj = v(j);
      if (vj == 0) continue;  // exact: the term is 0 (v >= 0 is finite here)
      seg.noalias() += M.col(j).segment(b, e - b).cwiseAbs() * vj;
    }
  });
  return y;
}

Vector abs_tmatvec_up(const Matrix& M, const Vector& w, int threads) {
  Vector z(M.cols());
  const int parts = static_cast<int>(std::min<Index>(threads_for(M, threads), std::max<Index>(M.cols(), 1)));
  parallel_chunks(parts, parts, Rounding::upward, [&](long p) {
    const Index b = M.cols() * p / parts, e = M.cols() * (p + 1) / parts;
    for (Index j = b; j < e; ++j) z(j) = M.col(j).cwiseAbs().dot(w);
  });
  return z;
}

double abs_gram_rho_up(const Matrix& M, int power_steps, int threads, double tol) {
  require_gradual_underflow("norm bound");
  if (M.size() == 0) return 0.0;
  if (!all_finite(M)) return kInf;
  const bool right = M.cols() <= M.rows();  // S = |M|ᵀ|M| (cols×cols) or |M||M|ᵀ (rows×rows)
  auto apply = [&](const Vector& v) {
    return right ? abs_tmatvec_up(M, abs_matvec_up(M, v, threads), threads)
                 : abs_matvec_up(M, abs_tmatvec_up(M, v, threads), threads);
  };
  return collatz_upper(apply, right ? M.cols() : M.rows(), power_steps, 0.0, tol);
}

}  // namespace detail

UpperBound perron_upper(const Matrix& B, int power_steps) {
  detail::require_gradual_underflow("perron_upper");
  if (B.rows() != B.cols()) throw std::invalid_argument("perron_upper: matrix is not square");
  check_nonnegative(B, "perron_upper");
  if (B.size() == 0) return UpperBound::proved(0.0);
  if (!all_finite(B)) return UpperBound::infinity();
  const int threads = detail::resolve_threads(0);
  const double q = collatz_upper([&](const Vector& v) { return detail::abs_matvec_up(B, v, threads); },
                                 B.rows(), power_steps, 0.05);
  return UpperBound::proved(q);
}

UpperBound norm2_upper_nonneg(const Matrix& B, int power_steps) {
  check_nonnegative(B, "norm2_upper_nonneg");
  const double rho = detail::abs_gram_rho_up(B, power_steps, detail::resolve_threads(0));
  return UpperBound::proved(rho).sqrt();
}

}  // namespace attnbound
