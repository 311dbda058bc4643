// attnbound-block-ceiling: how far ANY block-norm-lemma bound can get (issue 8; docs/structured.md §5).
//
//   attnbound-block-ceiling [--model SPEC] [--ns 64,...] [--families lb1,random,clustered]
//                           [--iters K] [--threads T] [--seed S] [--radius R] [--check]
//
// Every upper bound of the structured tier that bounds the d × d blocks J_il separately ends with
// the block-norm lemma ‖J‖ <= ‖N‖₂, N_il >= ‖J_il‖. Even with EXACT block norms that bound is
// ‖[‖J_il‖]‖₂, which this tool estimates: each ‖J_il‖ by block power iteration (all l of one query
// row at once, from the closed form of docs/structured.md §1), then ‖N‖ by power iteration.
// Everything here is a floating-point ESTIMATE. Power iteration approaches each norm from below,
// so the printed ceiling tends to sit under the true one: a ratio above 2 here means that sharper
// block bounds alone cannot reach the goal of upper/lower <= 2.
//
// --check (n <= 3 only) forms every block from the same closed form, column by column, and compares
// it with the dense Jacobian of attention/ (exit 1 on a relative mismatch above 1e-9).
#include <CLI/CLI.hpp>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "attention/attention.hpp"
#include "input_families.hpp"
#include "model/model.hpp"

using namespace attnbound;

namespace {

/// The blocks J_il of one query row i, for every visible l, as operators on columns:
///   J_il = Σ_h W_O^h [P_il W_V^h + s P_il (v_l − v̄_i)(W_K^hᵀ q_i)ᵀ + δ_il C_i^h W_Q^h],
///   C_i^h = s Σ_j P_ij (v_j − v̄_i)(k_j − κ_i)ᵀ   (κ_i = Σ_j P_ij k_j; any κ gives the same C).
class RowBlocks {
 public:
  RowBlocks(const AttentionLayer& L, const ForwardState<double>& S, const Matrix& WV, const Matrix& WO, long i)
      : L_(L), WV_(WV), WO_(WO), i_(i) {
    const long H = L.n_heads(), d = L.d;
    m_ = L.mask == Mask::causal ? i + 1 : S.n();
    B_.resize(d, H);
    Pil_.resize(H, m_);
    A_.resize(H);
    C_.resize(H);
    for (long h = 0; h < H; ++h) {
      const double s = S.scale[h];
      const auto p = S.P[h].row(i).head(m_);
      const Vector vbar = (p * S.V[h].topRows(m_)).transpose();
      const Vector kap = (p * S.K[h].topRows(m_)).transpose();
      B_.col(h) = L.heads[h].Wk.transpose() * S.Q[h].row(i).transpose();
      Matrix Vd = S.V[h].topRows(m_).transpose();
      Vd.colwise() -= vbar;
      Matrix Kd = S.K[h].topRows(m_).transpose();
      Kd.colwise() -= kap;
      A_[h] = L.heads[h].Wo * Vd;
      C_[h] = Matrix::Zero(Vd.rows(), Kd.rows());
      for (long l = 0; l < m_; ++l) {
        Pil_(h, l) = p(l);
        A_[h].col(l) *= s * p(l);
        C_[h] += (s * p(l)) * Vd.col(l) * Kd.col(l).transpose();
      }
    }
  }
  long visible() const { return m_; }

  /// Column l of the result is J_il · Xc.col(l).
  Matrix apply(const Matrix& Xc) const {
    Matrix Z = WV_ * Xc;
    scale_heads(Z);
    Matrix out = WO_ * Z;
    const Matrix coef = B_.transpose() * Xc;
    for (std::size_t h = 0; h < A_.size(); ++h)
      for (long l = 0; l < m_; ++l) out.col(l) += A_[h].col(l) * coef(static_cast<long>(h), l);
    const Vector xi = Xc.col(i_);
    for (std::size_t h = 0; h < A_.size(); ++h) out.col(i_) += L_.heads[h].Wo * (C_[h] * (L_.heads[h].Wq * xi));
    return out;
  }
  /// Column l of the result is J_ilᵀ · Yc.col(l).
  Matrix apply_t(const Matrix& Yc) const {
    Matrix Z = WO_.transpose() * Yc;
    scale_heads(Z);
    Matrix out = WV_.transpose() * Z;
    for (long l = 0; l < m_; ++l)
      for (std::size_t h = 0; h < A_.size(); ++h) out.col(l) += B_.col(static_cast<long>(h)) * A_[h].col(l).dot(Yc.col(l));
    const Vector yi = Yc.col(i_);
    for (std::size_t h = 0; h < A_.size(); ++h)
      out.col(i_) += L_.heads[h].Wq.transpose() * (C_[h].transpose() * (L_.heads[h].Wo.transpose() * yi));
    return out;
  }

 private:
  void scale_heads(Matrix& Z) const {  // rows of head h times P^h_il in column l
    long r = 0;
    for (long h = 0; h < L_.n_heads(); ++h) {
      const long dv = L_.heads[h].Wv.rows();
      for (long l = 0; l < m_; ++l) Z.block(r, l, dv, 1) *= Pil_(h, l);
      r += dv;
    }
  }
  const AttentionLayer& L_;
  const Matrix &WV_, &WO_;
  long i_, m_ = 0;
  Matrix B_, Pil_;
  std::vector<Matrix> A_, C_;
};

struct Stacked {
  Matrix WV, WO;
};
Stacked stack(const AttentionLayer& L) {
  long rows = 0;
  for (const Head& h : L.heads) rows += h.Wv.rows();
  Stacked s{Matrix(rows, L.d), Matrix(L.d, rows)};
  long r = 0;
  for (const Head& h : L.heads) {
    s.WV.middleRows(r, h.Wv.rows()) = h.Wv;
    s.WO.middleCols(r, h.Wv.rows()) = h.Wo;
    r += h.Wv.rows();
  }
  return s;
}

/// Estimates of ‖J_il‖ for every block (0 where masked), rows split over `threads` workers.
Matrix block_norms(const AttentionLayer& L, const ForwardState<double>& S, int iters, int threads, std::uint64_t seed) {
  const long n = S.n(), d = L.d;
  const Stacked W = stack(L);
  Matrix N = Matrix::Zero(n, n);
  std::atomic<long> next{0};
  auto work = [&](int t) {
    std::mt19937_64 rng(seed * 7919 + static_cast<std::uint64_t>(t));
    std::normal_distribution<double> g;
    for (long i; (i = next++) < n;) {
      const RowBlocks rb(L, S, W.WV, W.WO, i);
      Matrix V(d, rb.visible());
      for (long a = 0; a < V.rows(); ++a)
        for (long l = 0; l < V.cols(); ++l) V(a, l) = g(rng);
      Vector sig = Vector::Zero(rb.visible());
      for (int it = 0; it < iters; ++it) {
        V.colwise().normalize();
        const Matrix Y = rb.apply(V);
        sig = Y.colwise().norm().transpose();
        V = rb.apply_t(Y);
      }
      N.row(i).head(rb.visible()) = sig.transpose();
    }
  };
  std::vector<std::thread> pool;
  for (int t = 1; t < threads; ++t) pool.emplace_back(work, t);
  work(0);
  for (auto& th : pool) th.join();
  return N;
}

double nonneg_norm(const Matrix& N) {
  Vector t = Vector::Ones(N.cols());
  double s = 0;
  for (int it = 0; it < 1000; ++it) {
    t.normalize();
    const Vector u = N * t;
    s = u.norm();
    t = N.transpose() * u;
  }
  return s;
}

/// Largest relative entry mismatch between the closed-form blocks and the dense Jacobian.
double check_against_dense(const AttentionLayer& L, const ForwardState<double>& S) {
  const long n = S.n(), d = L.d;
  const Stacked W = stack(L);
  const Matrix J = jacobian<double>(L, S);
  double worst = 0;
  for (long i = 0; i < n; ++i) {
    const RowBlocks rb(L, S, W.WV, W.WO, i);
    for (long a = 0; a < d; ++a) {
      const Matrix cols = rb.apply(Vector::Unit(d, a).replicate(1, rb.visible()));
      for (long l = 0; l < rb.visible(); ++l) {
        const auto ref = J.block(i * d, l * d + a, d, 1);
        worst = std::max(worst, (cols.col(l) - ref).norm() / std::max(ref.norm(), 1e-300));
      }
    }
  }
  return worst;
}

}  // namespace

int main(int argc, char** argv) {
  std::string spec = "builtin:gpt2-init";
  std::vector<long> ns = {64};
  std::vector<std::string> fams = bench::kFamilies;
  int iters = 60, threads = 2;
  std::uint64_t seed = 1;
  double R = 100.0;
  bool check = false;
  CLI::App app{"attnbound-block-ceiling — the best any block-norm-lemma bound can give (float estimates)"};
  app.add_option("--model", spec, "Model SPEC (default builtin:gpt2-init)");
  app.add_option("--ns", ns, "Sequence lengths, comma-separated")->delimiter(',');
  app.add_option("--families", fams, "Input families, comma-separated")
      ->delimiter(',')
      ->check(CLI::IsMember(bench::kFamilies));
  app.add_option("--iters", iters, "Power iterations per block (default 60)")->check(CLI::PositiveNumber);
  app.add_option("--threads", threads, "Worker threads (default 2)")->check(CLI::PositiveNumber);
  app.add_option("--seed", seed, "Seed of the random families (default 1)");
  app.add_option("--radius", R, "Token-norm radius R (default 100)");
  app.add_flag("--check", check, "Compare the closed-form blocks with the dense Jacobian (n <= 3)");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  const AttentionLayer L = load_model(spec, LoadOptions{});
  std::printf("model %s: d = %ld, %ld heads, mask %s; R = %g; all numbers are float ESTIMATES\n", spec.c_str(), L.d,
              L.n_heads(), to_string(L.mask), R);
  std::printf("%6s %-10s %12s %14s %8s %10s %8s\n", "n", "family", "est ||J||", "est ||N|| (ceil)", "ratio",
              "max N_il", "time_s");
  int rc = 0;
  for (const long n : ns) {
    for (const std::string& fam : fams) {
      const auto t0 = std::chrono::steady_clock::now();
      const Matrix X = bench::family_input(L, fam, n, R, seed);
      const ForwardState<double> S = forward<double>(L, X);
      if (check) {
        if (n > 3) {
          std::fprintf(stderr, "--check needs n <= 3 (the dense Jacobian)\n");
          return 2;
        }
        const double worst = check_against_dense(L, S);
        std::printf("%6ld %-10s closed-form blocks vs dense Jacobian: max relative mismatch %.3g\n", n, fam.c_str(),
                    worst);
        if (!(worst <= 1e-9)) rc = 1;
        continue;
      }
      const Matrix N = block_norms(L, S, iters, threads, seed);
      const double ceil = nonneg_norm(N);
      const double sigma = approx::jacobian_norm(L, X, 300, 1e-10).sigma.value();
      const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      std::printf("%6ld %-10s %12.6g %14.6g %8.3f %10.4g %8.1f\n", n, fam.c_str(), sigma, ceil, ceil / sigma,
                  N.maxCoeff(), secs);
      std::fflush(stdout);
    }
  }
  return rc;
}
