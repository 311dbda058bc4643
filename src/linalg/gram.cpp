// Gram matrix G̃ = fl_nearest(XᵀX) with a rigorous bound on ‖G̃ − XᵀX‖₂ (docs/linalg.md §3.1).
//
// Error model: Eigen's GEMM computes every entry as a tree of correctly rounded +, × and FMA
// operations on the exact inputs (packing copies exactly, alpha = 1 and the initial zero are
// exact). For a length-K dot product in round-to-nearest each product passes through at most K
// roundings, so |fl(xᵀy) − xᵀy| <= γ_K |x|ᵀ|y| + Kη/2·(1+γ_K) whatever the order; we use the
// more generous γ_{K+2}|x|ᵀ|y| + 2Kη. Summed over the matrix: |G̃ − G| <= γ_{K+2}|X|ᵀ|X| + 2Kη·11ᵀ,
// and for non-negative matrices ‖·‖₂ is monotone, so ‖G̃ − G‖₂ <= γ_{K+2}ρ(|X|ᵀ|X|) + 2NKη.
#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include <Eigen/Eigenvalues>

#include "core/bounds.hpp"
#include "core/interval.hpp"
#include "linalg/detail.hpp"
#include "linalg/linalg.hpp"

namespace attnbound::detail {

namespace {
using Eigen::Index;
constexpr Index kPanel = 256;
constexpr double kParallelWork = 1.0e7;  // multiply-adds
constexpr Index kSmallGram = 4096;       // N·K up to which the radius uses the Frobenius norm

/// Σ m_ij² rounded up.
__attribute__((noinline)) double frobenius_sq_up(const Matrix& M) {
  UpwardScope up;
  double s = 0;
  for (Index e = 0; e < M.size(); ++e) {
    double a = M.data()[e] * M.data()[e];
    asm volatile("" : "+x"(a));
    s += a;
    asm volatile("" : "+x"(s));
  }
  return s;
}

__attribute__((noinline)) double gram_radius_up(double gamma, double rho, long n, long k) {
  UpwardScope up;
  double a = gamma * rho;
  asm volatile("" : "+x"(a));
  double b = static_cast<double>(n) * static_cast<double>(k);
  asm volatile("" : "+x"(b));
  b = b * 0x1p-1073;
  asm volatile("" : "+x"(b));
  double r = a + b;
  asm volatile("" : "+x"(r));
  return r;
}
}  // namespace

GramEnclosure gram_upper(const Matrix& M, Matrix& G, int threads) {
  const bool right = M.cols() <= M.rows();  // X = M (G = MᵀM) or X = Mᵀ (G = MMᵀ)
  const Index N = right ? M.cols() : M.rows();
  const Index K = right ? M.rows() : M.cols();
  GramEnclosure out;
  out.dim = N;
  out.inner = K;
  G.resize(N, N);
  const Index panels = (N + kPanel - 1) / kPanel;
  const double work = 0.5 * static_cast<double>(N) * static_cast<double>(N) * static_cast<double>(K);
  const int workers = work >= kParallelWork ? threads : 1;
  // Panel p holds columns [j0, j1) of the upper triangle: G(0:j1, j0:j1) = X(:,0:j1)ᵀ X(:,j0:j1).
  // The widest panels (largest j1) go first so the threads finish together.
  parallel_chunks(workers, panels, Rounding::nearest, [&](long c) {
    const Index p = panels - 1 - c;
    const Index j0 = p * kPanel, w = std::min(kPanel, N - j0), j1 = j0 + w;
    if (right)
      G.block(0, j0, j1, w).noalias() = M.leftCols(j1).transpose() * M.middleCols(j0, w);
    else
      G.block(0, j0, j1, w).noalias() = M.topRows(j1) * M.middleRows(j0, w).transpose();
  });
  bool finite = true;
  for (Index j = 0; j < N && finite; ++j) finite = G.col(j).head(j + 1).allFinite();
  out.finite = finite;
  if (!finite) {
    out.radius_norm = std::numeric_limits<double>::infinity();
    return out;
  }
  // r only has to be of the right size (it is far below the Cholesky shift): a loose quotient.
  // Small matrices: ρ(|M|ᵀ|M|) = ‖|M|‖₂² <= ‖M‖_F², exact enough here and much cheaper than the
  // Collatz–Wielandt steps (this path serves the many tiny norms of branch-and-bound).
  const double rho = N * K <= kSmallGram ? frobenius_sq_up(M) : abs_gram_rho_up(M, 6, threads, 0.05);
  out.radius_norm = gram_radius_up(gamma_up(static_cast<long>(K) + 2), rho, static_cast<long>(N),
                                   static_cast<long>(K));
  return out;
}

Vector symv_upper(const Matrix& G, const Vector& x, int threads) {
  const Index N = G.rows();
  const int parts = (threads > 1 && N >= 1024) ? threads : 1;
  if (parts == 1) {
    Vector y(N);
    y.noalias() = G.selfadjointView<Eigen::Upper>() * x;
    return y;
  }
  // Column ranges of the upper triangle with equal areas; each part accumulates a full-length
  // partial result (its columns touch every earlier row), summed at the end.
  std::vector<Index> cut(static_cast<std::size_t>(parts) + 1, N);
  cut[0] = 0;
  for (int p = 1; p < parts; ++p)
    cut[static_cast<std::size_t>(p)] =
        static_cast<Index>(std::sqrt(static_cast<double>(p) / parts) * static_cast<double>(N));
  std::vector<Vector> partial(static_cast<std::size_t>(parts), Vector::Zero(N));
  parallel_chunks(parts, parts, Rounding::nearest, [&](long p) {
    Vector& y = partial[static_cast<std::size_t>(p)];
    for (Index j = cut[static_cast<std::size_t>(p)]; j < cut[static_cast<std::size_t>(p) + 1]; ++j) {
      const auto col = G.col(j).head(j);
      y.head(j).noalias() += col * x(j);
      y(j) += col.dot(x.head(j)) + G(j, j) * x(j);
    }
  });
  Vector y = partial[0];
  for (int p = 1; p < parts; ++p) y += partial[static_cast<std::size_t>(p)];
  return y;
}

double approx_lambda_max_upper(const Matrix& G, int threads) {
  RoundingGuard nearest(Rounding::nearest);
  const Index N = G.rows();
  if (N == 0) return 0.0;
  if (N <= 400) {
    Matrix F = G.selfadjointView<Eigen::Upper>();
    Eigen::SelfAdjointEigenSolver<Matrix> es(F, Eigen::EigenvaluesOnly);
    return es.eigenvalues().maxCoeff();
  }
  // Lanczos; the tolerance is what the proof can absorb anyway (its shift is ~N²u relative).
  const double tol = std::clamp(0.1 * static_cast<double>(N) * static_cast<double>(N) * kUnitRoundoff,
                                1e-14, 1e-9);
  const auto te = approx::top_eigen_symmetric(
      [&](const Vector& x) { return symv_upper(G, x, threads); }, N, 300, tol);
  return te.lambda.value();
}

}  // namespace attnbound::detail
