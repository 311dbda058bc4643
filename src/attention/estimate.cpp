// approx::jacobian_norm — the top singular triplet of J(X) by Golub–Kahan–Lanczos
// (linalg's approx::top_singular) on the matrix-free operators jvp/vjp. No guarantee: it feeds
// rigorous code with a direction (the lower bound evaluates ‖J v‖/‖v‖ in interval arithmetic)
// and a target (the upper-bound proofs start from sigma).
#include <cmath>

#include <Eigen/SVD>

#include "attention/attention.hpp"
#include "linalg/linalg.hpp"

namespace attnbound::approx {

namespace {
constexpr long kDenseEstimateLimit = 48;  // n·d up to which the estimate uses the dense Jacobian
}

JacobianNormEstimate jacobian_norm(const AttentionLayer& layer, const Matrix& X, int max_iter,
                                   double rel_tol, const Matrix* start) {
  RoundingGuard nearest(Rounding::nearest);
  JacobianNormEstimate est;
  const auto s = forward<double>(layer, X);
  const long n = X.rows(), d = X.cols();
  auto mv = [&](const Vector& v) { return flatten<double>(jvp<double>(layer, s, unflatten<double>(v, n, d))); };
  auto mtv = [&](const Vector& u) { return flatten<double>(vjp<double>(layer, s, unflatten<double>(u, n, d))); };
  if (n * d <= kDenseEstimateLimit) {
    // Small layers (branch-and-bound calls this for every box): the dense Jacobian and a Jacobi
    // SVD cost less than the iteration's matrix-free products and are accurate to rounding.
    const Matrix J = jacobian<double>(layer, s);
    Eigen::JacobiSVD<Matrix> svd(J, Eigen::ComputeFullU | Eigen::ComputeFullV);
    est.sigma = Estimate(svd.singularValues()(0));
    est.left = unflatten<double>(Vector(svd.matrixU().col(0)), n, d);
    est.right = unflatten<double>(Vector(svd.matrixV().col(0)), n, d);
    est.iterations = 1;
    est.converged = true;
    return est;
  }
  TopSingular t;
  if (start && start->rows() == n && start->cols() == d && start->norm() > 0) {
    // Warm start: a few power steps from the given vector, then Lanczos only if they disagree.
    Vector v = flatten<double>(*start) / start->norm();
    double sigma = 0;
    Vector u;
    for (int it = 0; it < std::min(max_iter, 8); ++it) {
      u = mv(v);
      const double a = u.norm();
      if (!(a > 0)) break;
      u /= a;
      Vector w = mtv(u);
      const double b = w.norm();
      v = w / b;
      const bool conv = std::abs(b - sigma) <= rel_tol * b;
      sigma = b;
      if (conv) {
        est.sigma = Estimate(sigma);
        est.left = unflatten<double>(u, n, d);
        est.right = unflatten<double>(v, n, d);
        est.iterations = it + 1;
        est.converged = true;
        return est;
      }
    }
  }
  t = top_singular(mv, mtv, n * d, max_iter, rel_tol);
  est.sigma = t.sigma;
  est.left = unflatten<double>(t.u, n, d);
  est.right = unflatten<double>(t.v, n, d);
  est.iterations = t.iterations;
  est.converged = t.converged;
  return est;
}

}  // namespace attnbound::approx
