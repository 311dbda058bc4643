// Projected gradient ascent of ‖J(X)‖ (approximate: it proposes witnesses, never bounds).
#include <cmath>

#include "bound/bound.hpp"

namespace attnbound::approx {

Matrix sigma_gradient(const AttentionLayer& layer, const Matrix& X, const Matrix& u, const Matrix& v) {
  // ∇_X (uᵀ J(X) v) = d/dt Jᵀ(X + t v) u at t = 0 (symmetry of second derivatives).
  RoundingGuard nearest(Rounding::nearest);
  const long n = X.rows(), d = X.cols();
  Mat<Dual<double>> Xd(n, d), Ud(n, d);
  for (long i = 0; i < n; ++i)
    for (long a = 0; a < d; ++a) {
      Xd(i, a) = Dual<double>(X(i, a), v(i, a));
      Ud(i, a) = Dual<double>(u(i, a));
    }
  const auto s = forward<Dual<double>>(layer, Xd);
  const Mat<Dual<double>> g = vjp<Dual<double>>(layer, s, Ud);
  Matrix G(n, d);
  for (long i = 0; i < n; ++i)
    for (long a = 0; a < d; ++a) G(i, a) = g(i, a).d;
  return G;
}

namespace {
Matrix project(const Region& r, const Matrix& X) {
  if (const Box* b = std::get_if<Box>(&r)) return b->project(X);
  if (const TokenBalls* t = std::get_if<TokenBalls>(&r)) return t->project(X);
  return std::get<BallProduct>(r).project(X);
}
double region_scale(const Region& r) {
  if (const Box* b = std::get_if<Box>(&r)) return std::max(1e-300, (b->hi - b->lo).cwiseAbs().maxCoeff());
  if (const TokenBalls* t = std::get_if<TokenBalls>(&r)) return 2.0 * t->rho;
  return std::get<BallProduct>(r).R;
}
}  // namespace

Witness ascend(const AttentionLayer& layer, const Region& region, const Matrix& X0,
               const AscentOptions& opt) {
  RoundingGuard nearest(Rounding::nearest);
  Matrix X = project(region, X0);
  auto est = jacobian_norm(layer, X, opt.power_iterations, 1e-10);
  double best = est.sigma.value();
  Witness w{"ascent", X, est.right};
  double step = opt.initial_step * region_scale(region);
  Matrix v = est.right;
  for (int it = 0; it < opt.steps && step > 1e-14 * region_scale(region); ++it) {
    Matrix g = sigma_gradient(layer, X, est.left, est.right);
    const double gn = g.norm();
    if (!(gn > 0) || !std::isfinite(gn)) break;
    Matrix Y = project(region, X + (step / gn) * g);
    auto e2 = jacobian_norm(layer, Y, opt.power_iterations, 1e-10, &v);
    if (e2.sigma.value() > best) {
      best = e2.sigma.value();
      X = Y;
      est = e2;
      v = e2.right;
      w = {"ascent", X, e2.right};
      step *= 1.5;
    } else {
      step *= 0.5;
    }
  }
  return w;
}

}  // namespace attnbound::approx
