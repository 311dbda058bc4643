// The structured tier at a point: an upper bound of ‖J(X)‖₂ without forming the dense Jacobian.
//
// Per head h (THEORY.md §2 in factored form, the conventions of attention/jacobian.cpp):
//   J = Σ_h (I_n ⊗ W_O^h) Y_h,   Y^h_il = P_il W_V + s P_il (v_l − v̄_i) q̃_iᵀ + δ_il D_i,
//   q̃_i = W_Kᵀ q_i,   D_i = s Σ_j P_ij (v_j − v̄_i)(W_Qᵀ (k_j − κ_i))ᵀ
// for ANY vector κ_i (Σ_j P_ij (v_j − v̄_i) = 0 exactly, so subtracting κ_i changes nothing; we take
// κ_i ≈ k̄_i, a float, which makes the diagonal term small when the keys are clustered).
// Every norm of a d-dimensional image W z (W = W_O, W_Kᵀ, W_Qᵀ) is computed in the head dimension
// through a small Gram factor R with ‖W z‖² <= ‖R z‖² + ε‖z‖² (proved, below), and every
// pairwise distance ‖a_l − b_i‖ of exact rows by one directed GEMM (‖a‖² + ‖b‖² − 2 a·b, rounded
// up). The result is the minimum of the proved bounds block, split, gram, factored (three terms
// apart, or the whole core), factored-block and head-gram, with the cores bounded row by row where
// that is smaller (structured_core.cpp); docs/structured.md §3 proves each one.
#include <chrono>
#include <cmath>
#include <mutex>
#include <thread>

#include <Eigen/Eigenvalues>

#include "bound/bound.hpp"
#include "bound/structured_internal.hpp"
#include "linalg/linalg.hpp"

namespace attnbound {

namespace {

double since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

/// R (exact doubles) and e >= 0 with ‖W z‖ <= ‖R z‖ + e‖z‖ for every z (W has k columns).
/// Proof: G = WᵀW = RᵀR + E with E enclosed, so ‖Wz‖² = ‖Rz‖² + zᵀEz <= ‖Rz‖² + ‖E‖_F ‖z‖²
/// and √(x² + y²) <= x + y. R comes from a float eigen-decomposition of fl(WᵀW) (any R is valid;
/// a poor one only makes e larger).
struct GramFactor {
  Matrix R;
  double e = 0.0;
};

GramFactor gram_factor(const Matrix& W) {
  GramFactor f;
  {
    RoundingGuard nearest(Rounding::nearest);
    const Matrix G = W.transpose() * W;
    Eigen::SelfAdjointEigenSolver<Matrix> es(G);
    const Vector lam = es.eigenvalues().cwiseMax(0.0).cwiseSqrt();
    f.R = lam.asDiagonal() * es.eigenvectors().transpose();
  }
  const IMatrix G = mul_enclose(Matrix(W.transpose()), W);
  const IMatrix RR = mul_enclose(Matrix(f.R.transpose()), f.R);
  UpwardScope up;
  double s = 0.0;
  for (Eigen::Index k = 0; k < G.size(); ++k) {
    const Interval e = G.data()[k] - RR.data()[k];
    const double m = mag(e);
    s += m * m;
  }
  f.e = std::sqrt(std::sqrt(s));  // √‖E‖_F, both roots rounded up
  return f;
}

/// Upward-rounded Euclidean norms of the rows. Precondition: upward rounding.
Vector row_norms_up(const Matrix& M) {
  Vector r(M.rows());
  for (Eigen::Index i = 0; i < M.rows(); ++i) r(i) = std::sqrt(M.row(i).squaredNorm());
  return r;
}


/// Constants of one head (model only).
struct HeadConstants {
  GramFactor O, K, Q;  // W = W_O, W_Kᵀ, W_Qᵀ
  double nu_v = 0.0;   // >= ‖W_V‖
  double mu = 0.0;     // >= ‖W_O W_V‖
  double s = 0.0;      // >= 1/√divisor
};

HeadConstants head_constants(const Head& hd) {
  HeadConstants c;
  c.O = gram_factor(hd.Wo);
  c.K = gram_factor(Matrix(hd.Wk.transpose()));
  c.Q = gram_factor(Matrix(hd.Wq.transpose()));
  c.nu_v = norm2_upper(hd.Wv).value();
  // ‖W_O W_V x‖ <= ‖R_O W_V x‖ + e_O ‖W_V x‖: a dv × d verified norm instead of d × d.
  const double r = norm2_upper(mul_enclose(c.O.R, hd.Wv)).value();
  UpwardScope up;
  c.mu = r + c.O.e * c.nu_v;
  const Interval si = ScalarTraits<Interval>::inv_sqrt(hd.logit_divisor);
  c.s = si.upper();
  return c;
}

/// Per-head results: norms of the head's block matrices (W_O outside) and its ‖P‖.
struct HeadResult {
  double eta = 0.0;  // >= ‖Y_h‖
  double rho = 0.0;  // >= ‖Y_h − P^h ⊗ W_V^h‖
  double pi = 0.0;   // >= ‖P^h‖
  double kb = 0.0;   // >= ‖B^h‖, the key-side core operator (k̇ ↦ s Σ_l P_il (v_l − v̄_i) q_iᵀ k̇_l)
  double kc = 0.0;   // >= ‖C^h‖ = max_i ‖s Σ_j P_ij (v_j − v̄_i)(k_j − κ_i)ᵀ‖, the query side
};

/// Per-worker accumulators over heads (all n × n but fc).
struct Accumulators {
  Matrix Nd, NdR;  // Σ_h block-norm matrices of (I⊗W_O^h)Y_h, and without the P ⊗ W_O W_V part
  Matrix fp, fb;   // max_h P^h_il, max_h s P^h_il ‖v_l − v̄_i‖ ‖q_i‖ (factored variant)
  Vector fc;       // max_h s Σ_j P^h_ij ‖v_j − v̄_i‖ ‖k_j − κ_i‖
  explicit Accumulators(long n)
      : Nd(Matrix::Zero(n, n)), NdR(Matrix::Zero(n, n)), fp(Matrix::Zero(n, n)), fb(Matrix::Zero(n, n)),
        fc(Vector::Zero(n)) {}
};

/// Block-norm matrices of head h. Adds into Nd (blocks of (I⊗W_O)Y_h) and NdR (same without the
/// P ⊗ W_O W_V part). Precondition: upward rounding.
HeadResult head_bound(const AttentionLayer& layer, const ForwardState<Interval>& st, long h,
                      const HeadConstants& c, bool drop_diagonal, Accumulators& acc, detail::HeadFactors& F) {
  Matrix& Nd = acc.Nd;
  Matrix& NdR = acc.NdR;
  const long n = st.n();
  const bool causal = layer.mask == Mask::causal;
  Matrix Pu(n, n);
  for (long i = 0; i < n; ++i)
    for (long l = 0; l < n; ++l) Pu(i, l) = std::max(st.P[h](i, l).upper(), 0.0);
  const MidRad P = to_midrad(st.P[h]);
  const MidRad V = to_midrad(st.V[h]), K = to_midrad(st.K[h]), Q = to_midrad(st.Q[h]);
  const MidRad Vbar = mul(P, V);
  Matrix kappa;
  {
    RoundingGuard nearest(Rounding::nearest);
    kappa = P.mid * K.mid;  // any exact double vectors are valid centres
  }
  const MidRad Kap{kappa, Matrix::Zero(kappa.rows(), kappa.cols())};
  const Matrix RoT = c.O.R.transpose(), RkT = c.K.R.transpose(), RqT = c.Q.R.transpose();
  {
    // The head-Gram variant works with the d-dimensional images (structured_gram.cpp).
    const Head& hd = layer.heads[h];
    const Matrix WoT = hd.Wo.transpose();
    F.U = transpose(mul(V, WoT));
    F.Ubar = transpose(mul(Vbar, WoT));
    F.B = transpose(mul(Q, hd.Wk));
    F.G = transpose(mul(K, hd.Wq));
    F.Gkap = transpose(mul(Kap, hd.Wq));
    F.Pup = Pu;
    F.Plo.resize(n, n);
    for (long i = 0; i < n; ++i)
      for (long l = 0; l < n; ++l) F.Plo(i, l) = st.P[h](i, l).lower();
    F.s = c.s;
  }

  const Matrix alpha = detail::pair_dist_up(V, Vbar);                       // ‖v_l − v̄_i‖
  Matrix a = detail::pair_dist_up(mul(V, RoT), mul(Vbar, RoT));             // ‖R_O(v_l − v̄_i)‖
  a += c.O.e * alpha;                                               // ‖W_O(v_l − v̄_i)‖
  Matrix cq = detail::pair_dist_up(mul(K, RqT), mul(Kap, RqT));             // ‖R_Q(k_j − κ_i)‖
  const Matrix kd = detail::pair_dist_up(K, Kap);                           // ‖k_j − κ_i‖
  cq += c.Q.e * kd;
  cq *= c.s;                                                        // s‖W_Qᵀ(k_j − κ_i)‖
  const MidRad RQ = mul(Q, RkT);
  const Vector qn = row_norms_up(Q.mid) + row_norms_up(Q.rad);
  Vector b = row_norms_up(RQ.mid) + row_norms_up(RQ.rad);
  b += c.K.e * qn;
  b *= c.s;                                                         // s‖W_Kᵀ q_i‖

  // The cores as verified norms, row by row (structured_core.cpp): usually well below the
  // triangle-inequality sums, whose terms point in many directions.
  const detail::CoreRows core = detail::core_row_norms(P, V, Vbar, K, Kap, c.s, causal);
  Matrix NY = Matrix::Zero(n, n), NYR = Matrix::Zero(n, n), NB = Matrix::Zero(n, n);
  double kc = 0.0;
  for (long i = 0; i < n; ++i) {
    const long L = causal ? i + 1 : n;
    double dY = 0.0, dd = 0.0, dc = 0.0;
    const double sq = c.s * qn(i);
    for (long l = 0; l < L; ++l) {
      const double p = Pu(i, l);
      if (p == 0.0) continue;
      const double beta = p * (alpha(i, l) * sq);
      NB(i, l) = beta;
      acc.fp(i, l) = std::max(acc.fp(i, l), p);
      acc.fb(i, l) = std::max(acc.fb(i, l), beta);
      dc += p * (alpha(i, l) * kd(i, l));
      const double rY = p * (alpha(i, l) * b(i)), rd = p * (a(i, l) * b(i));
      NY(i, l) += p * c.nu_v + rY;
      NYR(i, l) += rY;
      Nd(i, l) += p * c.mu + rd;
      NdR(i, l) += rd;
      dY += p * (alpha(i, l) * cq(i, l));
      dd += p * (a(i, l) * cq(i, l));
    }
    dc = std::min(dc * c.s, core.gamma(i));
    if (drop_diagonal) dY = dd = dc = 0.0;
    acc.fc(i) = std::max(acc.fc(i), dc);
    kc = std::max(kc, dc);
    NY(i, i) += dY;
    NYR(i, i) += dY;
    Nd(i, i) += dd;
    NdR(i, i) += dd;
  }
  HeadResult r;
  r.pi = norm2_upper_nonneg(Pu).value();
  r.rho = norm2_upper_nonneg(NYR).value();
  r.kb = std::min(norm2_upper_nonneg(NB).value(), detail::key_core_bound(core.mu, Q));
  r.kc = kc;
  const double eta = norm2_upper_nonneg(NY).value();
  r.eta = std::min(eta, r.pi * c.nu_v + r.rho);
  return r;
}

/// sqrt(xᵀ g x) rounded up, for x >= 0, g >= 0. Precondition: upward rounding.
double quad_up(const Matrix& g, const Vector& x) {
  double s = 0.0;
  for (long h = 0; h < x.size(); ++h)
    for (long k = 0; k < x.size(); ++k) s += x(h) * (g(h, k) * x(k));
  return std::sqrt(s);
}

}  // namespace

namespace detail {

Matrix pair_dist_up(const MidRad& A, const MidRad& B) {
  const Vector a2 = A.mid.rowwise().squaredNorm(), b2 = B.mid.rowwise().squaredNorm();
  const Vector ar = row_norms_up(A.rad), br = row_norms_up(B.rad);
  const Matrix negA = -A.mid;  // negation materialised: Eigen must not pull the sign out
  Matrix C;
  C.noalias() = B.mid * negA.transpose();
  Matrix D(B.mid.rows(), A.mid.rows());
  for (Eigen::Index l = 0; l < D.cols(); ++l)
    for (Eigen::Index i = 0; i < D.rows(); ++i) {
      const double q = b2(i) + a2(l) + 2.0 * C(i, l);
      D(i, l) = std::sqrt(std::max(q, 0.0)) + ar(l) + br(i);
    }
  return D;
}

Stacked stacked_norms(const AttentionLayer& layer, bool with_in) {
  auto stack = [&](auto get) {
    long rows = 0;
    for (const Head& hd : layer.heads) rows += get(hd).rows();
    Matrix S(rows, layer.d);
    long r = 0;
    for (const Head& hd : layer.heads) {
      S.middleRows(r, get(hd).rows()) = get(hd);
      r += get(hd).rows();
    }
    return norm2_upper(S).value();
  };
  Stacked w;
  w.o = stack([](const Head& hd) { return Matrix(hd.Wo.transpose()); });
  w.v = stack([](const Head& hd) -> const Matrix& { return hd.Wv; });
  w.k = stack([](const Head& hd) -> const Matrix& { return hd.Wk; });
  w.q = stack([](const Head& hd) -> const Matrix& { return hd.Wq; });
  if (with_in) w.in = stack([](const Head& hd) {
    Matrix S(hd.Wv.rows() + hd.Wk.rows() + hd.Wq.rows(), hd.Wv.cols());
    S << hd.Wv, hd.Wk, hd.Wq;
    return S;
  });
  return w;
}

}  // namespace detail


StructuredBound structured_upper(const AttentionLayer& layer, const Matrix& X, const StructuredOptions& opt) {
  const auto t0 = std::chrono::steady_clock::now();
  const long H = layer.n_heads(), n = X.rows();
  StructuredBound out;
  if (X.cols() != layer.d || n < 1) throw std::invalid_argument("structured_upper: X must be n × d");

  // Model constants: Gram factors, ‖W_V‖, ‖W_O W_V‖, and g_hk >= ‖W_O^hᵀ W_O^k‖.
  std::vector<HeadConstants> hc(static_cast<std::size_t>(H));
  Matrix g(H, H);
  for (long h = 0; h < H; ++h) hc[h] = head_constants(layer.heads[h]);
  const detail::Stacked W = detail::stacked_norms(layer, true);
  for (long h = 0; h < H; ++h)
    for (long k = h; k < H; ++k) {
      const double v = norm2_upper(mul_enclose(Matrix(layer.heads[h].Wo.transpose()), layer.heads[k].Wo)).value();
      g(h, k) = g(k, h) = v;
    }

  ForwardState<Interval> st;
  {
    UpwardScope up;
    IMatrix Xi(n, X.cols());
    for (Eigen::Index i = 0; i < n; ++i)
      for (Eigen::Index a = 0; a < X.cols(); ++a) Xi(i, a) = point(X(i, a));
    st = forward<Interval>(layer, Xi);
  }

  // Heads on up to `threads` workers; each owns its accumulators and its rounding mode.
  const int T = static_cast<int>(std::max<long>(1, std::min<long>(opt.threads, H)));
  std::vector<HeadResult> hr(static_cast<std::size_t>(H));
  std::vector<Accumulators> acc(static_cast<std::size_t>(T), Accumulators(n));
  std::vector<detail::HeadFactors> factors(static_cast<std::size_t>(H));
  std::exception_ptr error;
  std::mutex mu;
  auto work = [&](int t) {
    UpwardScope up;
    try {
      for (long h = t; h < H; h += T)
        hr[h] = head_bound(layer, st, h, hc[h], opt.mutation_drop_diagonal, acc[t], factors[h]);
    } catch (...) {
      std::lock_guard<std::mutex> lk(mu);
      if (!error) error = std::current_exception();
    }
  };
  {
    std::vector<std::thread> pool;
    for (int t = 1; t < T; ++t) pool.emplace_back(work, t);
    work(0);
    for (auto& th : pool) th.join();
  }
  if (error) std::rethrow_exception(error);

  detail::GramBlockConstants gc;
  for (long h = 0; h < H; ++h) gc.mu.push_back(hc[h].mu);
  {
    Matrix Wo(layer.d, 0), Wv(0, layer.d);
    for (const Head& hd : layer.heads) {
      Wo.conservativeResize(Eigen::NoChange, Wo.cols() + hd.Wo.cols());
      Wo.rightCols(hd.Wo.cols()) = hd.Wo;
      Wv.conservativeResize(Wv.rows() + hd.Wv.rows(), Eigen::NoChange);
      Wv.bottomRows(hd.Wv.rows()) = hd.Wv;
    }
    gc.mu_all = norm2_upper(mul_enclose(Wo, Wv)).value();
    UpwardScope up;
    gc.wo_wv = W.o * W.v;
  }
  const detail::BlockParts parts = detail::head_gram_block_norms(factors, gc, layer.mask, T, opt.mutation_drop_diagonal);
  factors.clear();
  double block, split, gram, fact_op, fact_block, head_gram;
  {
    UpwardScope up;
    Accumulators& A = acc[0];
    for (int t = 1; t < T; ++t) {
      A.Nd += acc[t].Nd;
      A.NdR += acc[t].NdR;
      A.fp = A.fp.cwiseMax(acc[t].fp);
      A.fb = A.fb.cwiseMax(acc[t].fb);
      A.fc = A.fc.cwiseMax(acc[t].fc);
    }
    Vector eta(H), rho(H), pv(H);
    double pm_sum = 0.0, pi_max = 0.0, kb_max = 0.0, kc_max = 0.0, core_max = 0.0;
    for (long h = 0; h < H; ++h) {
      eta(h) = hr[h].eta;
      rho(h) = hr[h].rho;
      pv(h) = hr[h].pi * hc[h].nu_v;
      pm_sum += hr[h].pi * hc[h].mu;
      pi_max = std::max(pi_max, hr[h].pi);
      kb_max = std::max(kb_max, hr[h].kb);
      kc_max = std::max(kc_max, hr[h].kc);
      const HeadResult& q = hr[h];
      core_max = std::max(core_max, std::sqrt(q.pi * q.pi + q.kb * q.kb + q.kc * q.kc));  // >= ‖[P⊗I, B, C]‖
    }
    block = norm2_upper_nonneg(A.Nd).value();
    const double pm = std::min(pm_sum, quad_up(g, pv));               // ‖Σ_h P^h ⊗ W_O W_V‖
    const double rest = std::min(norm2_upper_nonneg(A.NdR).value(), quad_up(g, rho));
    split = pm + rest;
    gram = quad_up(g, eta);
    // J = (I⊗W_O)·diag_h[P^h⊗I, B^h, C^h]·(I⊗W_in): the three terms apart, or the whole core
    // with the stacked input weights W_in = [W_V; W_K; W_Q] (docs/structured.md §3, bound 4).
    fact_op = std::min(W.o * (pi_max * W.v + kb_max * W.k + kc_max * W.q), W.o * (core_max * W.in));
    // Per block the smaller of the summed and the factored block bound, then one Perron bound.
    // The factored block bound is also kept term by term (P, rank-one, diagonal part), to be
    // min-ed with the head-Gram parts term by term: each part of J_il is bounded by either.
    Matrix Nterm(n, n);
    for (long i = 0; i < n; ++i) {
      for (long l = 0; l < n; ++l) {
        const double fP = W.o * (A.fp(i, l) * W.v), fR = W.o * (A.fb(i, l) * W.k);
        const double fD = l == i ? W.o * (A.fc(i) * W.q) : 0.0;
        A.Nd(i, l) = std::min(A.Nd(i, l), (fP + fR) + fD);
        const double tD = l == i ? std::min(parts.D(i), fD) : 0.0;
        Nterm(i, l) = (std::min(parts.P(i, l), fP) + std::min(parts.R(i, l), fR)) + tD;
      }
    }
    fact_block = norm2_upper_nonneg(A.Nd).value();
    // Per block the best of all block bounds. Nterm <= the head-Gram sum P + R + D entrywise
    // (each term is min-ed, the sums round up alike), so that sum need not be formed.
    head_gram = norm2_upper_nonneg(Nterm.cwiseMin(A.Nd)).value();
  }
  // Widened by 2^-20 (relative, rounded up: still proved) so that the checker's independent
  // re-derivation — other Gram factors, MPFI softmax, other rounding-error terms, all of relative
  // size ~1e-8 — confirms the claim instead of landing a few ulps above it.
  double best;
  {
    UpwardScope up;
    best = std::min({block, split, gram, fact_op, fact_block, head_gram}) * (1.0 + 0x1p-20);
  }
  out.block = block;
  out.split = split;
  out.gram = gram;
  out.factored = std::min(fact_op, fact_block);
  out.head_gram = head_gram;
  if (opt.mutation_drop_diagonal) {
    out.mutant = Estimate(best);  // deliberately unsound: never becomes an UpperBound
  } else {
    out.upper = UpperBound::proved(best);
  }
  out.method = std::string("structured: min(block ") + std::to_string(block) + ", split " +
               std::to_string(split) + ", gram " + std::to_string(gram) + ", factored " +
               std::to_string(fact_op) + ", factored-block " + std::to_string(fact_block) + ", head-gram " +
               std::to_string(head_gram) + ") over " +
               std::to_string(H) + " heads (docs/structured.md)";
  out.seconds = since(t0);
  return out;
}

}  // namespace attnbound
