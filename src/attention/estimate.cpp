// approx::jacobian_norm — power iteration on JᵀJ through jvp/vjp in double. No guarantee; it feeds
// rigorous code with a direction (the lower bound evaluates ‖J v‖/‖v‖ in interval arithmetic)
// and a target (the upper-bound proofs start from sigma).
#include <cmath>

#include "attention/attention.hpp"

namespace attnbound::approx {

JacobianNormEstimate jacobian_norm(const AttentionLayer& layer, const Matrix& X, int max_iter,
                                   double rel_tol, const Matrix* start) {
  RoundingGuard nearest(Rounding::nearest);
  JacobianNormEstimate est;
  const auto s = forward<double>(layer, X);
  const long n = X.rows(), d = X.cols();
  // Deterministic start with weight on every coordinate (a fixed irrational-ish pattern avoids
  // being orthogonal to the top singular vector by symmetry).
  Matrix v(n, d);
  if (start && start->rows() == n && start->cols() == d && start->norm() > 0) {
    v = *start;
  } else {
    for (long i = 0; i < n; ++i)
      for (long a = 0; a < d; ++a) v(i, a) = 1.0 + 0.37 * std::sin(1.0 + 7.3 * i + 3.1 * a);
  }
  v /= v.norm();
  double sigma = 0.0;
  Matrix u = Matrix::Zero(n, d);
  for (int it = 1; it <= max_iter; ++it) {
    u = jvp<double>(layer, s, v);
    const double jv = u.norm();
    if (jv == 0.0) {
      est.iterations = it;
      est.converged = true;
      break;
    }
    u /= jv;
    Matrix w = vjp<double>(layer, s, u);
    const double next = w.norm();  // = ‖Jᵀ u‖ >= ‖J v‖, both converge to sigma_max
    v = w / next;
    est.iterations = it;
    if (std::abs(next - sigma) <= rel_tol * next) {
      sigma = next;
      est.converged = true;
      break;
    }
    sigma = next;
  }
  est.sigma = Estimate(sigma);
  est.left = u;
  est.right = v;
  return est;
}

}  // namespace attnbound::approx
