// The search for a counterexample to U-local (approximate) and nothing else: every candidate it
// reports as `confirmed` passed confirm_ulocal (local_statement.cpp), which is rigorous.
//
// Objective: log ‖J(X)‖ − log U-local(X), maximised by projected ascent. ∇‖J‖ = uᵀ D²f[v, ·]
// (attnbound::approx::sigma_gradient) with (u, v) the top singular pair of the dense float
// Jacobian; U-local is a max of smooth functions, and the gradient of the active pieces (the
// maximising token i* for each head's R_A, the maximising pair for r) is a subgradient.
#include <Eigen/SVD>
#include <chrono>
#include <cmath>
#include <random>

#include "attention/attention.hpp"
#include "attention/paper_form.hpp"
#include "linalg/linalg.hpp"
#include "proofs/theorems.hpp"

namespace attnbound::proofs::approx {

namespace {

double since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

struct Eval {
  double sigma = 0, U = 0;
  Matrix left, right, gradU;
};

// σ, the singular pair, U-local and a subgradient of U-local at X (all float).
Eval evaluate(const AttentionLayer& layer, const attnbound::approx::PaperForm& pf, const std::vector<double>& vnorm,
              const Matrix& X) {
  Eval e;
  const long n = X.rows(), d = X.cols();
  const Matrix J = jacobian<double>(layer, forward<double>(layer, X));
  Eigen::JacobiSVD<Matrix> svd(J, Eigen::ComputeFullU | Eigen::ComputeFullV);
  e.sigma = svd.singularValues()(0);
  e.left = unflatten<double>(Vector(svd.matrixU().col(0)), n, d);
  e.right = unflatten<double>(Vector(svd.matrixV().col(0)), n, d);
  // r and its active pair.
  double r = 0;
  long p = 0, q = 0;
  for (long i = 0; i < n; ++i)
    for (long j = i + 1; j < n; ++j) {
      const double dist = (X.row(i) - X.row(j)).norm();
      if (dist > r) r = dist, p = i, q = j;
    }
  e.gradU = Matrix::Zero(n, d);
  const bool aug = pf.augmented;
  for (std::size_t h = 0; h < pf.A.size(); ++h) {
    double RA = 0;
    long istar = 0;
    Vector best;
    for (long i = 0; i < n; ++i) {
      Vector x(d + (aug ? 1 : 0));
      x.head(d) = X.row(i).transpose();
      if (aug) x(d) = 1.0;
      const Vector y = pf.A[h].transpose() * x;
      if (y.norm() > RA) RA = y.norm(), istar = i, best = y;
    }
    const double nn = static_cast<double>(n);
    const double inner = RA * RA * r * r * (nn + 1) + nn;
    const double Uh = vnorm[h] * std::sqrt(inner);
    e.U += Uh;
    if (inner <= 0) continue;
    const double coef = vnorm[h] / (2 * std::sqrt(inner)) * (nn + 1);
    if (RA > 0) {  // ∂(RA²)/∂x_{i*} = 2 (A Aᵀ x̃)[0:d]
      const Vector gR = (pf.A[h] * best).head(d);
      e.gradU.row(istar) += coef * r * r * 2.0 * gR.transpose();
    }
    if (r > 0) {  // ∂(r²)/∂x_p = 2 (x_p − x_q)
      const Vector diff = (X.row(p) - X.row(q)).transpose();
      e.gradU.row(p) += coef * RA * RA * 2.0 * diff.transpose();
      e.gradU.row(q) -= coef * RA * RA * 2.0 * diff.transpose();
    }
  }
  return e;
}

Matrix cap_rows(const Matrix& X, double cap) {
  if (!(cap > 0)) return X;
  Matrix Y = X;
  for (long i = 0; i < Y.rows(); ++i) {
    const double nr = Y.row(i).norm();
    if (nr > cap) Y.row(i) *= cap / nr;
  }
  return Y;
}

std::vector<double> v_norms(const attnbound::approx::PaperForm& pf) {
  std::vector<double> v;
  for (const Matrix& V : pf.V) v.push_back(attnbound::approx::norm2(V).value());
  return v;
}

}  // namespace

double jacobian_norm_dense(const AttentionLayer& layer, const Matrix& X, Matrix* right) {
  RoundingGuard nearest(Rounding::nearest);
  const Matrix J = jacobian<double>(layer, forward<double>(layer, X));
  Eigen::JacobiSVD<Matrix> svd(J, Eigen::ComputeFullV);
  if (right) *right = unflatten<double>(Vector(svd.matrixV().col(0)), X.rows(), X.cols());
  return svd.singularValues()(0);
}

std::pair<Matrix, double> ulocal_ascent(const AttentionLayer& layer, const Matrix& X0, int steps, double radius_cap) {
  RoundingGuard nearest(Rounding::nearest);
  const auto pf = attnbound::approx::paper_form(layer, needs_augmentation(layer));
  const std::vector<double> vn = v_norms(pf);
  Matrix X = cap_rows(X0, radius_cap);
  Eval e = evaluate(layer, pf, vn, X);
  double f = std::log(e.sigma) - std::log(e.U);
  const double scale = std::max(1e-3, X.norm() / std::sqrt(static_cast<double>(X.rows())));
  double step = 0.1 * scale;
  for (int it = 0; it < steps && step > 1e-10 * scale; ++it) {
    Matrix g = attnbound::approx::sigma_gradient(layer, X, e.left, e.right) / e.sigma - e.gradU / e.U;
    const double gn = g.norm();
    if (!(gn > 0) || !std::isfinite(gn)) break;
    const Matrix Y = cap_rows(X + (step / gn) * g, radius_cap);
    const Eval e2 = evaluate(layer, pf, vn, Y);
    const double f2 = std::log(e2.sigma) - std::log(e2.U);
    if (std::isfinite(f2) && f2 > f) {
      X = Y, e = e2, f = f2;
      step *= 1.5;
    } else {
      step *= 0.5;
    }
  }
  return {X, std::exp(f)};
}

namespace {

struct Family {
  std::string name;
  bool paper, biases, causal;
  long heads;
};

AttentionLayer random_layer(const Family& fam, long d, double scale_a, double scale_v, std::mt19937_64& rng) {
  std::normal_distribution<double> g(0.0, 1.0);
  auto mat = [&](long r, long c, double s) {
    Matrix M(r, c);
    for (long i = 0; i < r; ++i)
      for (long j = 0; j < c; ++j) M(i, j) = s * g(rng);
    return M;
  };
  if (fam.paper) {
    std::vector<Matrix> A, V;
    for (long h = 0; h < fam.heads; ++h) {
      A.push_back(mat(d, d, scale_a));
      V.push_back(mat(d, d, scale_v));
    }
    AttentionLayer L = make_paper_layer(A, V, fam.causal ? Mask::causal : Mask::none);
    L.source = "U-local search: " + fam.name;
    return L;
  }
  AttentionLayer L;
  L.d = d;
  L.mask = fam.causal ? Mask::causal : Mask::none;
  std::uniform_int_distribution<long> dk_dist(1, std::max<long>(1, d));
  for (long h = 0; h < fam.heads; ++h) {
    Head H;
    const long dk = dk_dist(rng), dv = dk_dist(rng);
    H.Wq = mat(dk, d, std::sqrt(scale_a));
    H.Wk = mat(dk, d, std::sqrt(scale_a));
    H.Wv = mat(dv, d, std::sqrt(scale_v));
    H.Wo = mat(d, dv, std::sqrt(scale_v));
    H.bq = fam.biases ? Vector(mat(dk, 1, std::sqrt(scale_a)).col(0)) : Vector(Vector::Zero(dk));
    H.bk = fam.biases ? Vector(mat(dk, 1, std::sqrt(scale_a)).col(0)) : Vector(Vector::Zero(dk));
    H.bv = Vector::Zero(dv);
    H.logit_divisor = 1;
    L.heads.push_back(H);
  }
  L.bo = Vector::Zero(d);
  L.source = "U-local search: " + fam.name;
  L.validate();
  return L;
}

}  // namespace

ULocalSearchResult ulocal_search(const ULocalSearchOptions& opt) {
  const auto t0 = std::chrono::steady_clock::now();
  RoundingGuard nearest(Rounding::nearest);
  std::mt19937_64 rng(opt.seed);
  std::normal_distribution<double> g(0.0, 1.0);
  std::uniform_real_distribution<double> unif(0.0, 1.0);
  const std::vector<Family> families = {
      {"paper", true, false, false, 1},        {"paper-causal", true, false, true, 1},
      {"full", false, false, false, 1},        {"full-biases", false, true, false, 1},
      {"full-biases-causal", false, true, true, 1}, {"multi-head", false, true, false, 2},
  };
  ULocalSearchResult res;
  for (const Family& f : families) res.family_best.push_back({f.name, 0.0});
  while (since(t0) < opt.seconds && (opt.max_models == 0 || res.models < opt.max_models)) {
    const std::size_t fi = static_cast<std::size_t>(res.models) % families.size();
    Family fam = families[fi];
    fam.heads = std::min<long>(fam.heads, opt.heads_max);
    const long d = std::uniform_int_distribution<long>(1, opt.d_max)(rng);
    const long n = std::uniform_int_distribution<long>(2, std::max<long>(2, opt.n_max))(rng);
    const double scale_a = std::exp(std::log(0.05) + unif(rng) * std::log(3.0 / 0.05));
    const double scale_v = std::exp(std::log(0.2) + unif(rng) * std::log(5.0));
    const AttentionLayer layer = random_layer(fam, d, scale_a, scale_v, rng);
    ++res.models;
    for (int s = 0; s < opt.starts_per_model && since(t0) < opt.seconds; ++s) {
      const double rad = std::exp(std::log(0.1) + unif(rng) * std::log(50.0));
      Matrix X0(n, d);
      if (s % 2 == 0) {
        for (long i = 0; i < n; ++i)
          for (long a = 0; a < d; ++a) X0(i, a) = rad * g(rng) / std::sqrt(static_cast<double>(d));
      } else {  // tokens spread along one direction
        Vector u(d);
        for (long a = 0; a < d; ++a) u(a) = g(rng);
        u /= std::max(1e-300, u.norm());
        for (long i = 0; i < n; ++i) X0.row(i) = (rad * (2.0 * (i + 0.5) / n - 1.0)) * u.transpose();
      }
      auto [X, ratio] = ulocal_ascent(layer, X0, opt.steps, 10.0 * rad);
      ++res.ascents;
      if (!std::isfinite(ratio)) continue;
      for (const Matrix* P : {&X0, &X}) {
        const double rr = jacobian_norm_dense(layer, *P) / ulocal_repaired_value(layer, *P);
        if (std::isfinite(rr)) res.repaired_best_ratio = std::max(res.repaired_best_ratio, rr);
      }
      res.best_ratio = std::max(res.best_ratio, ratio);
      res.family_best[fi].second = std::max(res.family_best[fi].second, ratio);
      if (ratio <= 1.0) continue;
      Matrix right;
      jacobian_norm_dense(layer, X, &right);
      const ULocalConfirmation c = confirm_ulocal(layer, X, right);
      if (!c.refuted) continue;
      ++res.confirmed;
      if (!res.best || ratio > res.best->ratio) {
        ULocalCandidate cand;
        cand.layer = layer;
        cand.X = X;
        cand.dir = right;
        cand.ratio = ratio;
        cand.confirmed = true;
        cand.j_lower = c.j_lower;
        cand.ulocal_upper = c.ulocal.upper_up();
        cand.description = fam.name + ", d=" + std::to_string(d) + ", n=" + std::to_string(n) +
                           ", heads=" + std::to_string(fam.heads);
        res.best = std::move(cand);
      }
      if (opt.stop_at_first) {
        res.seconds = since(t0);
        return res;
      }
    }
  }
  res.seconds = since(t0);
  return res;
}

}  // namespace attnbound::proofs::approx
