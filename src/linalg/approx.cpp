// Approximate top eigen/singular pairs (no guarantee): candidates for the rigorous code.
//
// Symmetric Lanczos with full reorthogonalisation (twice, "twice is enough") and explicit
// restarts from the best Ritz vector; top singular triplets by Lanczos on MᵀM through the two
// callbacks (the Krylov space of Golub–Kahan bidiagonalisation started from the same vector).
// Squaring loses nothing for the largest singular value (relative accuracy ~u). All work runs in
// round-to-nearest (installed here).
#include <Eigen/Eigenvalues>
#include <Eigen/SVD>
#include <algorithm>
#include <cmath>
#include <cstdint>

#include "linalg/linalg.hpp"

namespace attnbound::approx {

namespace {

using Eigen::Index;
constexpr Index kMaxBasis = 200;

/// Deterministic pseudo-random start in [-1, 1) (splitmix64), the same on every platform.
Vector start_vector(Index n, std::uint64_t salt) {
  Vector v(n);
  std::uint64_t s = 0x9E3779B97F4A7C15ull ^ (salt * 0xBF58476D1CE4E5B9ull);
  for (Index i = 0; i < n; ++i) {
    std::uint64_t z = (s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    v(i) = static_cast<double>(z >> 11) * 0x1p-52 - 1.0;
  }
  return v;
}

/// Orthogonalises w against the first k columns of Q, twice.
void reorthogonalise(const Matrix& Q, Index k, Vector& w) {
  if (k == 0) return;
  for (int pass = 0; pass < 2; ++pass) {
    const Vector c = Q.leftCols(k).transpose() * w;
    w.noalias() -= Q.leftCols(k) * c;
  }
}

}  // namespace

TopEigen top_eigen_symmetric(const std::function<Vector(const Vector&)>& mv, long n, int max_iter,
                             double tol) {
  RoundingGuard nearest(Rounding::nearest);
  TopEigen out;
  if (n <= 0) return out;
  Vector q = start_vector(n, 1);
  q.normalize();
  const Index cap = std::min<Index>(n, kMaxBasis);
  while (true) {
    Matrix Q(n, cap);
    Vector alpha(cap), beta(cap);
    Q.col(0) = q;
    double theta = 0;
    Vector y;
    Index k = 0;  // index of the newest basis vector
    for (;; ++k) {
      Vector w = mv(Q.col(k));
      ++out.iterations;
      alpha(k) = Q.col(k).dot(w);
      w -= alpha(k) * Q.col(k);
      if (k > 0) w -= beta(k - 1) * Q.col(k - 1);
      reorthogonalise(Q, k + 1, w);
      beta(k) = w.norm();
      const bool last = k + 1 == cap || out.iterations >= max_iter;
      // Breakdown: the basis spans an invariant subspace, whose Ritz values are eigenvalues
      // (with a generic start vector it contains the top eigenvector).
      const bool breakdown = !(beta(k) > 1e-13 * std::max(std::abs(alpha(k)), std::abs(theta)));
      if (k < 20 || k % 5 == 4 || last || breakdown) {
        Eigen::SelfAdjointEigenSolver<Matrix> es;
        const Vector sub = beta.head(k);
        es.computeFromTridiagonal(alpha.head(k + 1), sub, Eigen::ComputeEigenvectors);
        Index top = 0;
        es.eigenvalues().maxCoeff(&top);
        theta = es.eigenvalues()(top);
        y = es.eigenvectors().col(top);
        const double scale = std::max({std::abs(theta), std::abs(es.eigenvalues()(0)), 1e-300});
        if (breakdown || std::abs(beta(k) * y(k)) <= tol * scale) out.converged = true;
      }
      if (out.converged || last) break;
      Q.col(k + 1) = w / beta(k);
    }
    q = Q.leftCols(k + 1) * y;
    q.normalize();
    out.lambda = Estimate(theta);
    out.v = q;
    if (out.converged || out.iterations >= max_iter || cap == n) break;
    // Explicit restart from the best Ritz vector.
  }
  return out;
}

TopSingular top_singular(const std::function<Vector(const Vector&)>& mv,
                         const std::function<Vector(const Vector&)>& mtv, long cols, int max_iter,
                         double tol) {
  RoundingGuard nearest(Rounding::nearest);
  TopSingular out;
  if (cols <= 0) return out;
  // The eigen-residual tolerance for MᵀM: σ² accuracy tol·σ² corresponds to σ accuracy tol/2.
  const TopEigen te = top_eigen_symmetric([&](const Vector& x) { return mtv(mv(x)); }, cols,
                                          max_iter, tol);
  out.iterations = te.iterations;
  out.converged = te.converged;
  out.v = te.v;
  Vector u = mv(out.v);
  const double s = u.norm();
  out.sigma = Estimate(s);
  out.u = s > 0 ? Vector(u / s) : Vector(Vector::Zero(u.size()));
  return out;
}

TopSingular top_singular(const Matrix& M, int max_iter, double tol) {
  RoundingGuard nearest(Rounding::nearest);
  return top_singular([&](const Vector& x) { return Vector(M * x); },
                      [&](const Vector& y) { return Vector(M.transpose() * y); }, M.cols(), max_iter,
                      tol);
}

Estimate norm2(const Matrix& M) {
  RoundingGuard nearest(Rounding::nearest);
  if (M.size() == 0) return Estimate(0.0);
  if (std::min(M.rows(), M.cols()) <= 64) {
    Eigen::JacobiSVD<Matrix> svd(M);
    return Estimate(svd.singularValues().size() ? svd.singularValues()(0) : 0.0);
  }
  return top_singular(M).sigma;
}

}  // namespace attnbound::approx
