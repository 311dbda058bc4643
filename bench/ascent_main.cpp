// attnbound-ascent-bench: projected ascent of ‖J(X)‖ from many random starts inside a region
// around a centre (issue 16: "ascent from 100 starts never exceeds the certified upper").
// Float estimates only (approx::): it prints the largest σ found, to be compared with a certified
// upper bound by bench/first_order.sh; it never proves anything.
//
//   attnbound-ascent-bench --model SPEC --center FILE (--eps E | --l2 RHO) [--starts 100]
//                          [--steps 10] [--seed 1]
//
// Box regions take sign-gradient steps (the ℓ∞ steepest ascent), ℓ2 regions per-token normalised
// gradient steps; both are projected back into the region. The top singular pair is warm-started
// from the previous step (a few power iterations per step).
#include <CLI/CLI.hpp>

#include <cstdio>
#include <random>

#include "bound/bound.hpp"
#include "cli/inputs.hpp"
#include "model/model.hpp"

using namespace attnbound;

int main(int argc, char** argv) {
  CLI::App app{"projected ascent of the Jacobian norm from random starts inside a region (float estimates)"};
  std::string model, centre_file;
  double eps = 0.0, rho = 0.0;
  int starts = 100, steps = 10;
  unsigned seed = 1;
  app.add_option("--model", model, "model spec")->required();
  app.add_option("--center", centre_file, "centre tokens (n lines of d numbers)")->required();
  auto* e = app.add_option("--eps", eps, "l-inf radius");
  auto* r = app.add_option("--l2", rho, "per-token l2 radius");
  e->excludes(r);
  app.add_option("--starts", starts, "random starts")->check(CLI::PositiveNumber);
  app.add_option("--steps", steps, "ascent steps per start")->check(CLI::NonNegativeNumber);
  app.add_option("--seed", seed, "random seed");
  CLI11_PARSE(app, argc, argv);
  if (!(eps > 0) && !(rho > 0)) {
    std::fprintf(stderr, "attnbound-ascent-bench: give --eps E > 0 or --l2 RHO > 0\n");
    return 2;
  }
  try {
    const AttentionLayer L = load_model(model);
    const Matrix c = cli::read_tokens(centre_file, L.d);
    RoundingGuard nearest(Rounding::nearest);
    const long n = c.rows(), d = c.cols();
    const bool box = eps > 0;
    const Box B = box ? Box::around(c, eps) : Box::point(c);
    const TokenBalls T{c, rho};
    auto project = [&](const Matrix& X) { return box ? B.project(X) : T.project(X); };
    std::mt19937_64 rng(seed);
    std::normal_distribution<double> gauss;
    std::uniform_real_distribution<double> uni(-1.0, 1.0);
    double best = 0.0;
    for (int s = 0; s < starts; ++s) {
      Matrix X = c;
      for (long i = 0; i < n; ++i) {
        Vector dl(d);
        for (long a = 0; a < d; ++a) dl(a) = box ? eps * uni(rng) : gauss(rng);
        if (!box) dl *= rho * std::pow(std::abs(uni(rng)), 1.0 / d) / dl.norm();
        X.row(i) += dl.transpose();
      }
      X = project(X);
      approx::JacobianNormEstimate est = approx::jacobian_norm(L, X, 60, 1e-10);
      double cur = est.sigma.value(), step = box ? eps / 2 : rho / 2;
      for (int it = 0; it < steps; ++it) {
        const Matrix g = approx::sigma_gradient(L, X, est.left, est.right);
        Matrix Y = X;
        for (long i = 0; i < n; ++i) {
          if (box) {
            for (long a = 0; a < d; ++a) Y(i, a) += g(i, a) > 0 ? step : (g(i, a) < 0 ? -step : 0.0);
          } else {
            const double gn = g.row(i).norm();
            if (gn > 0) Y.row(i) += (step / gn) * g.row(i);
          }
        }
        Y = project(Y);
        const approx::JacobianNormEstimate e2 = approx::jacobian_norm(L, Y, 12, 1e-10, &est.right);
        if (e2.sigma.value() > cur) {
          X = Y;
          est = e2;
          cur = e2.sigma.value();
        } else {
          step /= 2;
        }
      }
      best = std::max(best, cur);
    }
    std::printf("%.17g\n", best);
    return 0;
  } catch (const std::exception& ex) {
    std::fprintf(stderr, "attnbound-ascent-bench: %s\n", ex.what());
    return 2;
  }
}
