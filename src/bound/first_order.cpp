// The first-order tier: sup over a region around a centre c of ‖J(X)‖ <= ‖J(c)‖ + a proved bound
// of sup ‖J(X) − J(c)‖₂ (docs/box.md has the proof; the numbering (E1)–(E9) below refers to it).
//
// Per head, with s the logit scale, u_il = P_il (v_l − v̄_i), U_l = W_O v_l, B_i = s W_Kᵀ q_i,
// G_j = s W_Qᵀ k_j (attention/jacobian.cpp's factors), the block (i, l) of the Jacobian is
//   J_il = P_il W_O W_V + (W_O u_il) B_iᵀ + δ_il Σ_j (W_O u_ij)(G_j − g_i)ᵀ      (any g_i ∈ R^d).
// Every factor changes by a bounded amount over the region: the logits by λ_ij (bilinear form's
// own dual norms at the centre), the softmax rows by π_ij (the exact softmax range over the logit
// box), the rest by norms of the weights applied to the perturbation. The block-norm matrix of
// J(X) − J(c) summed over heads is then bounded entrywise by N, and ‖J(X) − J(c)‖ <= ‖N‖₂.
// Everything that is O(ε) is computed at the centre in interval arithmetic, so the excess is
// first order in ε; products of two small quantities are kept (no Taylor remainder is dropped).
#include <algorithm>
#include <chrono>
#include <cmath>
#include <random>
#include <thread>

#include "bound/bound.hpp"
#include "bound/structured_internal.hpp"
#include "linalg/linalg.hpp"

namespace attnbound {

namespace {

double since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

IMatrix point_matrix(const Matrix& X) {
  IMatrix Y(X.rows(), X.cols());
  for (Eigen::Index k = 0; k < X.size(); ++k) Y(k) = point(X(k));
  return Y;
}

/// |A| entrywise, upper bounds (mag of each interval).
Matrix mag_matrix(const IMatrix& A) {
  Matrix M(A.rows(), A.cols());
  for (Eigen::Index k = 0; k < A.size(); ++k) M(k) = mag(A(k));
  return M;
}

/// Upper bounds of the Euclidean norms of the rows of an interval matrix. Precondition: upward.
Vector row_norms_up(const IMatrix& A) {
  Vector r(A.rows());
  for (Eigen::Index i = 0; i < A.rows(); ++i) {
    double s = 0.0;
    for (Eigen::Index a = 0; a < A.cols(); ++a) {
      const double m = mag(A(i, a));
      s += m * m;
    }
    r(i) = std::sqrt(s);
  }
  return r;
}

/// The region's dual functional φ(w) = sup_δ |w·δ| (δ one token's offset): Σ_a |w_a| r_a for the
/// box, ρ‖w‖₂ for the ℓ2 ball. Rows of an interval matrix; result per row. Precondition: upward.
Vector phi_rows(const IMatrix& W, const FirstOrderRegion& reg) {
  if (reg.l2()) return row_norms_up(W) * reg.rho;
  const Matrix M = mag_matrix(W);
  Vector out(M.rows());
  out.noalias() = M * reg.r;  // non-negative operands: every rounded-up step stays above
  return out;
}

/// τ >= sup_δ ‖W δ‖₂ for one token's offset δ: min(‖W‖₂ ρ₂, ‖(φ(row_a W))_a‖₂) with ρ₂ >= ‖δ‖₂
/// (ρ, or ‖r‖₂ for the box). `norm` is a proved upper bound of ‖W‖₂. Precondition: upward.
double tau(const IMatrix& W, double norm, const FirstOrderRegion& reg) {
  const double by_norm = norm * reg.radius2();
  if (reg.l2()) return by_norm;
  return std::min(by_norm, std::sqrt(phi_rows(W, reg).squaredNorm()));
}


/// sup of p(1 − p) over p ∈ [lo, hi] ∩ [0, 1]. Precondition: upward rounding.
double pq_up(double lo, double hi) {
  lo = std::max(lo, 0.0);
  hi = std::min(hi, 1.0);
  if (lo <= 0.5 && 0.5 <= hi) return 0.25;
  if (hi < 0.5) return hi * (1.0 - hi);
  return lo * (1.0 - lo);
}

/// (E11'') Spread of vectors y'_l under the weights P'_i ∈ P̂_i of every row, from pairwise
/// distances dist(k, l) >= sup_S ‖y'_l − y'_k‖ (non-negative; zero on the diagonal is not assumed):
///   w(i, l) >= ‖P'_il (y'_l − ȳ'_i)‖ = P'_il ‖Σ_{k≠l} P'_ik (y'_l − y'_k)‖ <= sup p(1 − p) · max_{k≠l} dist,
///   var(i) >= Σ_l P'_il ‖y'_l − ȳ'_i‖² = ½ Σ_{l,k} P'_il P'_ik ‖y'_l − y'_k‖² <= ½ max_{k≠l} dist²,
/// maxima over the keys visible to row i (incrementally under a causal mask: O(n²) in all).
/// Precondition: upward rounding.
struct RowSpread {
  Matrix w;
  Vector var;
};
RowSpread row_spread(const IMatrix& Phat, const Matrix& dist, bool causal, bool shrink_mutant = false) {
  const long n = dist.rows();
  RowSpread out{Matrix::Zero(n, n), Vector::Zero(n)};
  Vector mx = Vector::Zero(n);  // mx(l) = max over visible k != l of dist(k, l)
  double pair = 0.0;            // max over visible pairs
  if (!causal) {
    for (long l = 0; l < n; ++l)
      for (long k = 0; k < n; ++k)
        if (k != l) mx(l) = std::max({mx(l), dist(k, l), dist(l, k)});
    pair = n > 0 ? mx.maxCoeff() : 0.0;
  }
  for (long i = 0; i < n; ++i) {
    const long L = causal ? i + 1 : n;
    if (causal) {
      for (long l = 0; l < i; ++l) {
        const double dd = std::max(dist(i, l), dist(l, i));
        mx(l) = std::max(mx(l), dd);
        mx(i) = std::max(mx(i), dd);
      }
      pair = std::max(pair, mx(i));
    }
    for (long l = 0; l < L; ++l) out.w(i, l) = pq_up(Phat(i, l).lower(), Phat(i, l).upper()) * mx(l);
    out.var(i) = 0.5 * pair * pair;
  }
  if (shrink_mutant) {
    out.w /= 4;
    out.var /= 16;
  }
  return out;
}

/// dist(k, l) + 2 a: distances at X when every vector moves by at most a. Precondition: upward.
Matrix widened(Matrix dist, double a) {
  for (Eigen::Index q = 0; q < dist.size(); ++q) dist(q) += 2.0 * a;
  return dist;
}

}  // namespace

FirstOrderRegion FirstOrderRegion::box(const Box& b, const Matrix& centre) {
  if (!b.certainly_contains(centre)) throw std::invalid_argument("first-order tier: the centre is not in the box");
  FirstOrderRegion reg;
  reg.c = centre;
  reg.r = Vector::Zero(b.d());
  UpwardScope up;
  for (long i = 0; i < b.n(); ++i)
    for (long a = 0; a < b.d(); ++a)
      reg.r(a) = std::max({reg.r(a), centre(i, a) - b.lo(i, a), b.hi(i, a) - centre(i, a)});
  return reg;
}

FirstOrderRegion FirstOrderRegion::balls(const TokenBalls& t) {
  FirstOrderRegion reg;
  reg.c = t.c;
  reg.rho = t.rho;
  return reg;
}

double FirstOrderRegion::radius2() const {
  if (l2()) return rho;
  UpwardScope up;
  return std::sqrt(r.squaredNorm());
}

FirstOrderExcess first_order_excess(const AttentionLayer& layer, const FirstOrderRegion& reg,
                                    const FirstOrderOptions& opt) {
  const auto t0 = std::chrono::steady_clock::now();
  const long n = reg.c.rows(), H = layer.n_heads();
  const bool causal = layer.mask == Mask::causal;
  FirstOrderExcess out;
  UpwardScope up;
  const ForwardState<Interval> st = forward<Interval>(layer, point_matrix(reg.c));
  const JacobianFactors<Interval> F = jacobian_factors<Interval>(layer, st);
  Matrix N = Matrix::Zero(n, n);  // (E9): block norms of J(X) − J(c), summed over heads
  // (E10): the heads kept together, ΔJ_il = W_O [X^h_il]_h with X^h_il = ΔP_il W_V^h +
  // K^h_il W_K^h + δ_il Q^h_i W_Q^h: maxima over heads of |ΔP|, ‖K‖, ‖Q‖ (head space).
  Matrix Mv = Matrix::Zero(n, n), Mk = Matrix::Zero(n, n);
  Vector Mq = Vector::Zero(n);
  // (E11): the same block norms for J(X) itself (not its change), per head summed and stacked.
  Matrix D = Matrix::Zero(n, n), Dv = Matrix::Zero(n, n), Dk = Matrix::Zero(n, n);
  Vector Dq = Vector::Zero(n);
  // (E11'): J(X) = (value + query part) + key part, the key part's row i bounded as an operator
  // by Cauchy–Schwarz and Σ_l P'_il² <= 1: ‖Σ_l (W_O u'_il) B'_iᵀ ẋ_l‖ <= ‖B'_i‖ max_l ‖W_O w'_il‖ ‖ẋ‖.
  Matrix Dvq = Matrix::Zero(n, n);
  Vector Kcs = Vector::Zero(n);
  // (E12): block norms of J(X) − J(c) − DJ(c)[δ], summed over heads (every term a product of two
  // O(ε) factors).
  Matrix N2 = Matrix::Zero(n, n);
  const detail::Stacked sw = detail::stacked_norms(layer, false);
  for (long h = 0; h < H; ++h) {
    const Head& hd = layer.heads[h];
    const Interval s = st.scale[h];
    const double su = s.upper();
    // Weight norms (verified): ‖W_Q‖, ‖W_K‖, μ >= ‖W_O W_V‖.
    const double nq = norm2_upper(hd.Wq).value(), nk = norm2_upper(hd.Wk).value();
    const IMatrix& WoWv = F.WoWv[h];
    const double mu = norm2_upper(WoWv).value();
    // (E2) per-token perturbation sizes: ‖W_Q δ‖ <= aq, ‖W_K δ‖ <= ak, ‖W_O W_V δ‖ <= aov,
    // s‖W_Kᵀ W_Q δ‖ <= gam (query change seen by the key term), s‖W_Qᵀ W_K δ‖ <= gamk.
    const double aq = tau(point_matrix(hd.Wq), nq, reg), ak = tau(point_matrix(hd.Wk), nk, reg);
    const double aov = tau(WoWv, mu, reg);
    double gam = su * nk * aq, gamk = su * nq * ak;
    if (!reg.l2()) {
      const IMatrix M = mul_enclose(Matrix(hd.Wk.transpose()), hd.Wq);  // W_Kᵀ W_Q (d × d)
      gam = std::min(gam, su * std::sqrt(phi_rows(M, reg).squaredNorm()));
      gamk = std::min(gamk, su * std::sqrt(phi_rows(IMatrix(M.transpose()), reg).squaredNorm()));
    }
    // Centre quantities.
    const IMatrix& P = st.P[h];
    const MidRad Pm = to_midrad(P);
    const MidRad U = to_midrad(F.U[h]);
    const MidRad Ubar = mul(Pm, U);
    const Matrix omega = detail::pair_dist_up(U, Ubar);  // ω(i, l) >= ‖U_l − Ū_i‖ = ‖W_O(v_l − v̄_i)‖
    const Vector bn = row_norms_up(F.B[h]);       // ‖B_i‖
    const MidRad G = to_midrad(F.G[h]);
    Matrix gk;
    {
      RoundingGuard nearest(Rounding::nearest);
      gk = Pm.mid * G.mid;  // g_i: any exact vectors are valid centres (Σ_j u_ij = 0)
    }
    const Matrix gdist = detail::pair_dist_up(G, MidRad{gk, Matrix::Zero(gk.rows(), gk.cols())});  // ‖G_j − g_i‖
    // (E1) logit change: |Δs_ij| <= φ(G_j) + φ(B_i) + s aq ak.
    const Vector phiB = phi_rows(F.B[h], reg);
    // The softmax is invariant under a shift of each row's logits: with the shift δ_i·g_i,
    // Δs_ij − δ_i·g_i = δ_i·(G_j − g_i) + δ_j·B_i + s (W_Q δ_i)·(W_K δ_j), so only the keys'
    // spread around g_i counts. LG(i, j) >= φ(G_j − g_i) (exact for n <= 256 or balls; beyond, through
    // a common float centre ḡ: φ(G_j − ḡ) + φ(ḡ − g_i)).
    Matrix LG(n, n);
    if (reg.l2()) {
      LG = gdist * reg.rho;
    } else if (n <= 256) {
      for (long i = 0; i < n; ++i)
        for (long j = 0; j < n; ++j) {
          double t = 0.0;
          for (long a = 0; a < G.mid.cols(); ++a) {
            const double x = G.mid(j, a), y = gk(i, a);
            t += ((x >= y ? x - y : y - x) + G.rad(j, a)) * reg.r(a);
          }
          LG(i, j) = t;
        }
    } else {
      Vector gbar;
      {
        RoundingGuard nearest(Rounding::nearest);
        gbar = G.mid.colwise().mean().transpose();
      }
      Vector toj(n), toi(n);
      for (long j = 0; j < n; ++j) {
        double t = 0.0, u = 0.0;
        for (long a = 0; a < G.mid.cols(); ++a) {
          const double x = G.mid(j, a), y = gbar(a), z = gk(j, a);
          t += ((x >= y ? x - y : y - x) + G.rad(j, a)) * reg.r(a);
          u += (z >= y ? z - y : y - z) * reg.r(a);
        }
        toj(j) = t;
        toi(j) = u;
      }
      for (long i = 0; i < n; ++i)
        for (long j = 0; j < n; ++j) LG(i, j) = toj(j) + toi(i);
    }
    const double second = opt.mutation_drop_second_order ? 0.0 : su * aq * ak;
    // Centre logits s·q_i·k_j, enclosed, then widened by λ.
    const MidRad Q = to_midrad(st.Q[h]), K = to_midrad(st.K[h]);
    const IMatrix S = to_intervals(mul(Q, transpose(K)));
    IMatrix Shat(n, n);
    double lam_max = 0.0;
    for (long i = 0; i < n; ++i)
      for (long j = 0; j < n; ++j) {
        const double lam = LG(i, j) + phiB(i) + second;
        if (!causal || j <= i) lam_max = std::max(lam_max, lam);
        Shat(i, j) = s * S(i, j) + hull(-lam, lam);
      }
    out.max_logit_change = std::max(out.max_logit_change, lam_max);
    // (E3) the softmax rows over the logit box: exact range, hence |ΔP_ij| <= π_ij.
    const IMatrix Phat = softmax_rows<Interval>(Shat, layer.mask);
    Matrix pi = Matrix::Zero(n, n), Pu = Matrix::Zero(n, n), Phu = Matrix::Zero(n, n);
    for (long i = 0; i < n; ++i)
      for (long j = 0; j < (causal ? i + 1 : n); ++j) {
        const double a = Phat(i, j).upper() - P(i, j).lower(), b = P(i, j).upper() - Phat(i, j).lower();
        pi(i, j) = opt.mutation_ignore_softmax ? 0.0 : std::min(1.0, std::max({a, b, 0.0}));
        Pu(i, j) = std::max(P(i, j).upper(), 0.0);
        Phu(i, j) = std::min(1.0, std::max(Phat(i, j).upper(), 0.0));
      }
    // Head-space quantities for (E10): ‖v_l − v̄_i‖, ‖q_i‖, ‖k_j − κ_i‖ (κ_i any exact vectors).
    const MidRad Vm = to_midrad(st.V[h]);
    const Matrix omega_k = detail::pair_dist_up(Vm, mul(Pm, Vm));
    Matrix kap;
    {
      RoundingGuard nearest(Rounding::nearest);
      kap = Pm.mid * K.mid;
    }
    const Matrix kdist = detail::pair_dist_up(K, MidRad{kap, Matrix::Zero(kap.rows(), kap.cols())});
    const Vector qn = row_norms_up(st.Q[h]);
    const double av = tau(point_matrix(hd.Wv), norm2_upper(hd.Wv).value(), reg);
    // (E11'') the spreads of values and keys at X under the weights P' ∈ P̂ (head space).
    const RowSpread sv = row_spread(Phat, widened(detail::pair_dist_up(Vm, Vm), av), causal, opt.mutation_shrink_spreads);
    const RowSpread sk = row_spread(Phat, widened(detail::pair_dist_up(K, K), ak), causal, opt.mutation_shrink_spreads);
    // (E4) sup ‖Σ_k (P'_ik − P_ik) y_k‖ for vectors with ‖y_k‖ <= w(i, k) centred at the weights
    // (Σ_k P_ik y_k = 0): the least of Σ_k π_ik w_ik, max_k w_ik (P' is a convex combination) and
    // the first-order form Σ_k (P_ik λ_ik + ρ_ik) w_ik (P' − P = Σ(c)Δs + ρ, and Σ(c)Δs weights
    // centred vectors by P_ik Δs_ik), ρ_ik = π_ik (λ_ik + Σ_k' P̂_ik' λ_ik') + P_ik Σ_k' π_ik' λ_ik'.
    // ρ_ik >= the softmax remainder |P'_ik − P_ik − [Σ(c)Δs_i]_k| (every p(s + tΔs) lies in P̂).
    auto softmax_remainder = [&](long i) {
      const long L = causal ? i + 1 : n;
      Vector rho = Vector::Zero(n);
      double plam = 0.0, pilam = 0.0;
      for (long k = 0; k < L; ++k) {
        const double lam = LG(i, k) + phiB(i) + second;
        plam += Phu(i, k) * lam;
        pilam += pi(i, k) * lam;
      }
      for (long k = 0; k < L; ++k) rho(k) = pi(i, k) * (LG(i, k) + phiB(i) + second + plam) + Pu(i, k) * pilam;
      return rho;
    };
    auto spread = [&](long i, const Matrix& w) {
      const long L = causal ? i + 1 : n;
      const Vector rho = softmax_remainder(i);
      double by_pi = 0.0, lin = 0.0, mx = 0.0;
      for (long k = 0; k < L; ++k) {
        const double lam = LG(i, k) + phiB(i) + second;
        by_pi += pi(i, k) * w(i, k);
        lin += (Pu(i, k) * lam + rho(k)) * w(i, k);
        mx = std::max(mx, w(i, k));
      }
      return opt.mutation_ignore_softmax ? 0.0 : std::min({by_pi, lin, mx});
    };
    for (long i = 0; i < n; ++i) {
      const long L = causal ? i + 1 : n;
      const double spread_k = spread(i, omega_k);
      double qk = 0.0, dq = 0.0, qk_pi = 0.0, qk_rest = 0.0, fmax = 0.0;
      for (long l = 0; l < L; ++l) {
        // (E5') ‖Δw_il‖ <= 2 τ(W_V)(1 − inf P'_il) + spread (see below, W_O space).
        const double dw = 2.0 * av * (1.0 - std::max(0.0, Phat(i, l).lower())) + spread_k;
        const double theta = pi(i, l) * (omega_k(i, l) + dw) + Pu(i, l) * dw;
        const double pw = Pu(i, l) * omega_k(i, l);
        const double f = (omega_k(i, l) + dw) * (kdist(i, l) + ak);  // >= ‖w'_il‖ ‖k'_l − κ_i‖
        Mv(i, l) = std::max(Mv(i, l), pi(i, l));
        Mk(i, l) = std::max(Mk(i, l), su * (theta * (qn(i) + aq) + pw * aq));
        qk += su * (theta * (kdist(i, l) + ak) + pw * ak);
        qk_pi += pi(i, l) * f;
        qk_rest += Pu(i, l) * dw * (kdist(i, l) + ak) + pw * ak;
        fmax = std::max(fmax, f);
        const double pw2 = std::min({Phu(i, l) * (omega_k(i, l) + dw), pw + theta, sv.w(i, l)});  // >= ‖u'_il‖
        Dv(i, l) = std::max(Dv(i, l), Phu(i, l));
        Dk(i, l) = std::max(Dk(i, l), su * (pw2 * (qn(i) + aq)));
        dq += su * (pw2 * (kdist(i, l) + ak));
      }
      // (E8') Σ_l |ΔP_il| <= 2 and Σ_l P'_il = 1 in the query term's sum over keys.
      qk = std::min(qk, su * (std::min(qk_pi, 2.0 * fmax) + qk_rest));
      // Σ_j u'_ij (k'_j − κ_i)ᵀ is the covariance of v' and k' under P'_i: <= √(var_v var_k).
      dq = std::min({dq, su * fmax, su * std::sqrt(sv.var(i) * sk.var(i))});
      Mq(i) = std::max(Mq(i), qk);
      Dq(i) = std::max(Dq(i), dq);
    }
    // (E12) ρ'_ik >= |P'_ik − P_ik − [Σ(c)Δ¹s_i]_k|: the softmax remainder ρ of (E4) plus the
    // response 2 P_ik κ to the logits' second-order part κ = s‖W_Q δ_i‖‖W_K δ_j‖.
    const double kappa = su * aq * ak;
    auto rho_prime = [&](long i) {
      Vector rp = softmax_remainder(i);
      for (long k = 0; k < (causal ? i + 1 : n); ++k)
        rp(k) = opt.mutation_drop_softmax_curvature ? 0.0 : rp(k) + 2.0 * Pu(i, k) * kappa;
      return rp;
    };
    // (E11'') the spreads of W_O values and of the G's at X under P' ∈ P̂ (W_O space).
    const RowSpread so = row_spread(Phat, widened(detail::pair_dist_up(U, U), aov), causal, opt.mutation_shrink_spreads);
    const RowSpread sg = row_spread(Phat, widened(detail::pair_dist_up(G, G), gamk), causal, opt.mutation_shrink_spreads);
    for (long i = 0; i < n; ++i) {
      const long L = causal ? i + 1 : n;
      // (E4) β_i >= ‖W_O(v̄'_i − v̄_i)‖.
      const double spread_o = spread(i, omega);
      // (E12) ε2_i >= ‖W_O(Δv̄_i − Δ¹v̄_i)‖ = ‖Σ_k (ΔP − Δ¹P)_ik (U_k − Ū_i) + Σ_k ΔP_ik W_O W_V δ_k‖.
      const Vector rp = rho_prime(i);
      double eps2 = 0.0, pisum = 0.0;
      for (long k = 0; k < L; ++k) {
        eps2 += rp(k) * omega(i, k);
        pisum += pi(i, k);
      }
      eps2 += aov * std::min(pisum, 2.0);
      double r2diag = 0.0;
      // (E5)–(E8) per block.
      double diag = 0.0, ddiag = 0.0, d_pi = 0.0, d_rest = 0.0, fmax = 0.0;
      for (long l = 0; l < L; ++l) {
        // (E5') W_O Δw_il = Σ_k P'_ik W_O W_V (δ_l − δ_k) − Σ_k (P'_ik − P_ik)(U_k − Ū_i): norm
        // <= 2 a_OV (1 − inf P'_il) + spread (small where the row is saturated on l).
        const double dw = 2.0 * aov * (1.0 - std::max(0.0, Phat(i, l).lower())) + spread_o;
        const double theta = pi(i, l) * (omega(i, l) + dw) + Pu(i, l) * dw;  // ‖W_O Δu_il‖
        const double pw = Pu(i, l) * omega(i, l);                             // ‖W_O u_il‖
        const double f = (omega(i, l) + dw) * (gdist(i, l) + gamk);  // >= ‖W_O w'_il‖ ‖G'_l − g_i‖
        N(i, l) += pi(i, l) * mu + theta * (bn(i) + gam) + pw * gam;
        // (E12) θ2_il >= ‖W_O(Δu_il − Δ¹u_il)‖: (ΔP − Δ¹P) e + ΔP Δe + P (Δe − Δ¹e).
        const double theta2 = rp(l) * omega(i, l) + pi(i, l) * dw + Pu(i, l) * eps2;
        N2(i, l) += rp(l) * mu + theta2 * bn(i) + theta * gam;
        r2diag += theta2 * gdist(i, l) + theta * gamk;
        diag += theta * (gdist(i, l) + gamk) + pw * gamk;
        d_pi += pi(i, l) * f;
        d_rest += Pu(i, l) * dw * (gdist(i, l) + gamk) + pw * gamk;
        fmax = std::max(fmax, f);
        const double pw2 = std::min({Phu(i, l) * (omega(i, l) + dw), pw + theta, so.w(i, l)});  // >= ‖W_O u'_il‖
        D(i, l) += Phu(i, l) * mu + pw2 * (bn(i) + gam);
        ddiag += pw2 * (gdist(i, l) + gamk);
      }
      // (E8') Σ_l |ΔP_il| <= 2 (both rows are probability vectors) and Σ_l P'_il = 1.
      N(i, i) += std::min(diag, std::min(d_pi, 2.0 * fmax) + d_rest);
      // The query term at X is the covariance of W_O v' and G' under P'_i: <= √(var_U var_G).
      const double qcov = std::min({ddiag, fmax, std::sqrt(so.var(i) * sg.var(i))});
      D(i, i) += qcov;
      N2(i, i) += r2diag;
      double wmax = 0.0;
      for (long l = 0; l < L; ++l) {
        Dvq(i, l) += Phu(i, l) * mu;
        wmax = std::max(wmax, omega(i, l) + 2.0 * aov * (1.0 - std::max(0.0, Phat(i, l).lower())) + spread_o);
      }
      Dvq(i, i) += qcov;
      // Row i of the key part: ‖B'_i‖ ‖[W_O u'_il]_l‖ and Σ_l ‖W_O u'_il‖² <= var_U(i).
      Kcs(i) += (bn(i) + gam) * std::min(wmax, std::sqrt(so.var(i)));
    }
  }
  for (long i = 0; i < n; ++i)
    for (long l = 0; l < (causal ? i + 1 : n); ++l) {
      double stacked = sw.o * (Mv(i, l) * sw.v + Mk(i, l) * sw.k);
      if (l == i) stacked += sw.o * (Mq(i) * sw.q);
      N(i, l) = std::min(N(i, l), stacked);
      double dstacked = sw.o * (Dv(i, l) * sw.v + Dk(i, l) * sw.k);
      if (l == i) dstacked += sw.o * (Dq(i) * sw.q);
      D(i, l) = std::min(D(i, l), dstacked);
    }
  out.direct = norm2_upper_nonneg(D);
  out.direct = min(out.direct, UpperBound::proved(norm2_upper_nonneg(Dvq).value() + std::sqrt(Kcs.squaredNorm())));
  out.excess = norm2_upper_nonneg(N);
  out.remainder = norm2_upper_nonneg(N2);
  if (opt.mutation_halve) out.excess = UpperBound::proved(out.excess.value() / 2);
  out.seconds = since(t0);
  return out;
}

namespace {

/// n·d above which one JVP costs ~10 GFLOP (n > 341 at GPT-2 width): witnesses without ascent and
/// a short float estimate.
constexpr long kHugeCandidates = 262144;

/// Candidate witnesses inside the region (no guarantee; evaluated rigorously by the caller).
std::vector<Witness> first_order_candidates(const AttentionLayer& layer, const Region& region,
                                            const FirstOrderRegion& reg, const Matrix& v0, int starts) {
  RoundingGuard nearest(Rounding::nearest);
  std::vector<Witness> out;
  const long n = reg.c.rows(), d = reg.c.cols();
  auto project = [&](const Matrix& X) -> Matrix {
    if (const Box* b = std::get_if<Box>(&region)) return b->project(X);
    return std::get<TokenBalls>(region).project(X);
  };
  // The first-order maximiser of σ: the corner (box) or boundary point (balls) along ∇σ(c).
  // Above kHugeCandidates (n > 341 at GPT-2 width) one JVP costs ~10 GFLOP: the singular pair is
  // the centre's (left = J v0/‖J v0‖), and the corner is evaluated without ascent or random starts.
  const bool huge = n * d > kHugeCandidates;
  approx::JacobianNormEstimate est;
  if (huge) {
    const auto sc = forward<double>(layer, reg.c);
    est.right = v0;
    est.left = jvp<double>(layer, sc, v0);
    const double nl = est.left.norm();
    if (nl > 0) est.left /= nl;
  } else {
    est = approx::jacobian_norm(layer, reg.c, 200, 1e-10, &v0);
  }
  const Matrix g = approx::sigma_gradient(layer, reg.c, est.left, est.right);
  Matrix Y = reg.c;
  for (long i = 0; i < n; ++i) {
    if (reg.l2()) {
      const double gn = g.row(i).norm();
      if (gn > 0) Y.row(i) += (reg.rho / gn) * g.row(i);
    } else {
      for (long a = 0; a < d; ++a) Y(i, a) += g(i, a) >= 0 ? reg.r(a) : -reg.r(a);
    }
  }
  if (huge) {
    out.push_back(Witness{"gradient corner", project(Y), v0});
    return out;
  }
  approx::AscentOptions ao;
  const bool big = n * d > 4096;
  ao.steps = big ? 6 : 30;
  ao.power_iterations = big ? 20 : 60;
  ao.initial_step = 0.5;
  out.push_back(approx::ascend(layer, region, project(Y), ao));
  out.back().name = "gradient corner + ascent";
  // Random starts inside the region (fixed seed: reproducible runs).
  std::mt19937_64 rng(0x5eed);
  std::uniform_real_distribution<double> u(-1.0, 1.0);
  for (int k = 0; k < starts; ++k) {
    Matrix X0 = reg.c;
    for (long i = 0; i < n; ++i) {
      Vector delta(d);
      for (long a = 0; a < d; ++a) delta(a) = u(rng);
      if (reg.l2()) delta *= reg.rho / std::max(1e-300, delta.norm());
      else delta = delta.cwiseProduct(reg.r);
      X0.row(i) += delta.transpose();
    }
    out.push_back(approx::ascend(layer, region, project(X0), ao));
    out.back().name = "random start + ascent";
  }
  return out;
}

}  // namespace

Bracket certify_first_order(const AttentionLayer& layer, const Region& region, const Matrix& centre,
                            const CertifyOptions& opt, const FirstOrderOptions& fo) {
  const auto t0 = std::chrono::steady_clock::now();
  FirstOrderRegion reg;
  if (const Box* b = std::get_if<Box>(&region)) reg = FirstOrderRegion::box(*b, centre);
  else if (const TokenBalls* t = std::get_if<TokenBalls>(&region)) reg = FirstOrderRegion::balls(*t);
  else throw std::invalid_argument("first-order tier: needs a box or per-token l2 balls around a centre");
  // The point tier at the centre (dense or structured): ‖J(c)‖ <= Uc, and the centre's witness.
  Bracket b = certify_point(layer, centre, opt);
  const UpperBound Uc = b.upper;
  const std::string centre_tier = b.upper_evidence.tier;
  const Matrix hint = b.upper_evidence.direction;
  const FirstOrderExcess ex = first_order_excess(layer, reg, fo);
  {
    // The recorded numbers carry margins (still upper bounds: ‖J(c)‖ by the claim slack 2^-40,
    // the excess by 1e-6 relative plus 1e-6‖J(c)‖: the pairwise distances carry absolute
    // rounding noise of order √u‖U‖ where tokens nearly coincide) so that the checker's independent
    // re-derivation, rounded differently (its softmax is MPFI), stays below them.
    UpwardScope up;
    const double uc = Uc.value() * (1.0 + 0x1p-40);  // the certificate's claim slack, also here
    const double e = ex.excess.value() * (1.0 + 1e-6) + uc * 1e-6;
    const double direct = ex.direct.value() * (1.0 + 1e-6);
    b.upper = UpperBound::proved(std::min(uc + e, direct));
    b.upper_evidence = UpperEvidence{"box-first-order", hint};
    b.upper_evidence.direct = direct;
    b.upper_evidence.centre = centre;
    b.upper_evidence.centre_tier = centre_tier;
    b.upper_evidence.centre_upper = uc;
    b.upper_evidence.excess = e;
  }
  b.upper_method = "first-order: min(‖J(c)‖ by the " + centre_tier + " point tier + sup ‖J(X) − J(c)‖ <= " +
                   std::to_string(ex.excess.value()) + ", block norms of J over the region " +
                   std::to_string(ex.direct.value());
  // The centred subspace form (E12)–(E14) where the centre is dense and small enough to form J(c).
  if (centre_tier == "dense" && centre.size() <= kSubspaceLimit && std::isfinite(b.upper_evidence.excess)) {
    const std::vector<Matrix> V = approx::top_right_singular_vectors(layer, centre);
    double r2;
    {
      UpwardScope up;
      // Margins as for the excess: the checker re-derives R2 with its own rounding.
      r2 = ex.remainder.value() * (1.0 + 1e-6) + b.upper_evidence.centre_upper * 1e-9;
    }
    const SubspaceBound sb = subspace_upper(layer, reg, b.upper_evidence.excess, r2, V, fo);
    if (std::isfinite(sb.upper.value())) {
      double sub;
      {
        UpwardScope up;
        sub = sb.upper.value() * (1.0 + 1e-9);  // the checker rounds differently (measured agreement ~4e-14)
      }
      b.upper_evidence.subspace = V;
      b.upper_evidence.subspace_upper = sub;
      if (sub < b.upper.value()) b.upper = UpperBound::proved(sub);
      b.upper_method += ", centred subspace form on " + std::to_string(sb.k) + " singular vectors " +
                        std::to_string(sub) + " (first-order block " + std::to_string(sb.t_lin) +
                        ", remainder " + std::to_string(ex.remainder.value()) + ", ‖J(c)P⊥‖ <= " +
                        std::to_string(sb.lambda_perp) + ")";
    }
  }
  b.upper_method += ") (logit change <= " + std::to_string(ex.max_logit_change) + ", docs/box.md)";
  // Lower: the centre's witness, then candidates inside the region.
  const bool big = centre.size() > 4096;
  const std::vector<Witness> cands =
      first_order_candidates(layer, region, reg, b.witness ? b.witness->dir : hint, big ? 1 : 4);
  for (const Witness& w : cands) {
    const bool inside = std::holds_alternative<Box>(region) ? std::get<Box>(region).certainly_contains(w.X)
                                                            : std::get<TokenBalls>(region).certainly_contains(w.X);
    if (!inside) continue;
    const LowerBound lw = evaluate_witness(layer, w.X, w.dir);
    if (lw.value() > b.lower.value()) {
      b.lower = lw;
      b.witness = w;
      b.lower_method = "witness: " + w.name + ", ‖J(X)v‖/‖v‖ by interval JVP";
      // An estimate only: above kHugeCandidates one power iteration costs ~4 s (n = 1024,
      // d = 768), so a few warm-started steps there instead of 100.
      const int iterations = centre.size() > kHugeCandidates ? 6 : 100;
      b.estimate = Estimate(approx::jacobian_norm(layer, w.X, iterations, 1e-10, &w.dir).sigma.value());
    }
  }
  b.budget_exhausted = !b.meets(opt.tol);
  b.seconds = since(t0);
  return b;
}

}  // namespace attnbound

namespace attnbound {

Bracket certify_box_around(const AttentionLayer& layer, const Box& box, const Matrix& centre,
                           const CertifyOptions& opt) {
  const auto t0 = std::chrono::steady_clock::now();
  if (box.is_point()) return certify_point(layer, centre, opt);
  Bracket fo = certify_first_order(layer, Region(box), centre, opt);
  if (box.n() * box.d() > kBoxBothLimit) return fo;
  Bracket old = certify_box(layer, box, opt);
  Bracket& best = old.upper.value() < fo.upper.value() ? old : fo;
  const Bracket& other = &best == &old ? fo : old;
  if (other.lower.value() > best.lower.value()) {
    best.lower = other.lower;
    best.witness = other.witness;
    best.lower_method = other.lower_method;
    best.estimate = other.estimate;
  }
  best.budget_exhausted = !best.meets(opt.tol);
  best.seconds = since(t0);
  return best;
}

}  // namespace attnbound
