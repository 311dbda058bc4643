// first_order_excess_check: the checker's own re-derivation of the first-order tier's excess
// (docs/box.md, (E1)–(E9)). Independent of src/bound/first_order.cpp: the centre's forward
// quantities come from forward_directed (directed GEMMs, MPFI softmax), the products from the
// checker's HiLo kernels (hilo.hpp), the softmax over the widened logits from the shared
// softmax_rows template at MpInterval; only linalg's verified norms (and the Collatz–Wielandt bound
// for non-negative matrices) are shared with the engine.
#include <algorithm>
#include <cmath>

#include "hilo.hpp"
#include "internal.hpp"
#include "linalg/linalg.hpp"

namespace attnbound::check {

namespace {

using namespace hilo;

/// |x| <= max(hi, nlo) for every x in the HiLo entry.
Matrix magnitude(const HiLo& A) { return A.hi.cwiseMax(A.nlo); }

/// Row norms of magnitudes, upward. Precondition: upward rounding.
Vector row_norms(const Matrix& M) {
  Vector r(M.rows());
  for (Eigen::Index i = 0; i < M.rows(); ++i) {
    double s = 0.0;
    for (Eigen::Index a = 0; a < M.cols(); ++a) s += M(i, a) * M(i, a);
    r(i) = std::sqrt(s);
  }
  return r;
}

/// D(i, l) >= ‖a − b‖ over a in row l of A, b in row i of B. Precondition: upward rounding.
Matrix distances(const HiLo& A, const HiLo& B) {
  Matrix mA, rA, mB, rB;
  mid_rad(A, mA, rA);
  mid_rad(B, mB, rB);
  const Vector ra = row_norms(rA), rb = row_norms(rB);
  const Matrix negB = -mB;
  Matrix C;
  C.noalias() = negB * mA.transpose();  // >= −b_i·a_l
  Matrix D(mB.rows(), mA.rows());
  for (Eigen::Index l = 0; l < D.cols(); ++l) {
    double a2 = 0.0;
    for (Eigen::Index k = 0; k < mA.cols(); ++k) a2 += mA(l, k) * mA(l, k);
    for (Eigen::Index i = 0; i < D.rows(); ++i) {
      double b2 = 0.0;
      for (Eigen::Index k = 0; k < mB.cols(); ++k) b2 += mB(i, k) * mB(i, k);
      const double q = a2 + b2 + 2.0 * C(i, l);
      D(i, l) = std::sqrt(std::max(q, 0.0)) + ra(l) + rb(i);
    }
  }
  return D;
}

double midrad_norm(const HiLo& A) {
  Matrix m, r;
  mid_rad(A, m, r);
  return norm2_upper(MidRad{m, r}).value();
}

/// max of p(1 − p) over p in [lo, hi], clipped to [0, 1]. Precondition: upward rounding.
double bernoulli_var_up(double lo, double hi) {
  const double a = std::max(0.0, lo), b = std::min(1.0, hi);
  if (b < 0.5) return b * (1.0 - b);
  if (a > 0.5) return a * (1.0 - a);
  return 0.25;
}

/// Weighted deviations and variances of vectors under weights P' in P̂ (docs/box.md (E11'')), from
/// distances dd(x, y) >= sup ‖y'_x − y'_y‖ in either order: dev(i, l) >= P'_il ‖y'_l − ȳ'_i‖ <=
/// p(1 − p) max_{k != l visible} dd, var(i) >= Σ_l P'_il ‖y'_l − ȳ'_i‖² <= ½ (max visible pair)².
/// Precondition: upward rounding.
void spreads(const MpMatrix& Phat, const Matrix& dd, bool causal, Matrix& dev, Vector& var) {
  const long n = dd.rows();
  dev = Matrix::Zero(n, n);
  var = Vector::Zero(n);
  Vector far = Vector::Zero(n);  // far(l): largest distance from l to another visible key
  double widest = 0.0;
  for (long i = 0; i < n; ++i) {
    if (causal) {
      // Key i becomes visible: it is another key for every l < i, and they are for it.
      for (long l = 0; l < i; ++l) {
        const double x = std::max(dd(l, i), dd(i, l));
        far(l) = std::max(far(l), x);
        far(i) = std::max(far(i), x);
        widest = std::max(widest, x);
      }
    } else if (i == 0) {
      for (long l = 0; l < n; ++l)
        for (long k = 0; k < n; ++k)
          if (k != l) far(l) = std::max({far(l), dd(l, k), dd(k, l)});
      for (long l = 0; l < n; ++l) widest = std::max(widest, far(l));
    }
    const long L = causal ? i + 1 : n;
    for (long l = 0; l < L; ++l) dev(i, l) = bernoulli_var_up(Phat(i, l).lower_down(), Phat(i, l).upper_up()) * far(l);
    var(i) = 0.5 * (widest * widest);
  }
}

/// dd + 2a entrywise (every vector moves by at most a over the region). Precondition: upward.
Matrix moved(const Matrix& dd, double a) {
  Matrix out = dd;
  out.array() += 2.0 * a;
  return out;
}

}  // namespace

FirstOrderCheck first_order_excess_check(const AttentionLayer& layer, const Matrix& c, const Vector& r, double rho,
                                         bool l2, unsigned remainder_drop) {
  // keep(t) = 1 unless a mutation test drops piece t of N2.
  auto keep = [remainder_drop](int t) { return (remainder_drop >> t & 1u) ? 0.0 : 1.0; };
  const DirectedState& st = forward_directed_cached(layer, c);
  const long n = c.rows(), H = layer.n_heads();
  const bool causal = layer.mask == Mask::causal;
  UpwardScope up;
  // φ(w) = sup over one token's offsets of |w·δ|, for the rows of a HiLo matrix.
  auto phi = [&](const HiLo& W) -> Vector {
    const Matrix M = magnitude(W);
    if (l2) return row_norms(M) * rho;
    Vector out(M.rows());
    out.noalias() = M * r;
    return out;
  };
  double rad2 = rho;
  if (!l2) {
    double s = 0.0;
    for (Eigen::Index a = 0; a < r.size(); ++a) s += r(a) * r(a);
    rad2 = std::sqrt(s);
  }
  // sup ‖W δ‖ <= min(‖W‖ rad2, ‖φ(rows of W)‖) (the second for boxes only).
  auto tau = [&](const HiLo& W, double norm) {
    const double by_norm = norm * rad2;
    if (l2) return by_norm;
    return std::min(by_norm, std::sqrt(phi(W).squaredNorm()));
  };
  Matrix N = Matrix::Zero(n, n), D = Matrix::Zero(n, n);
  // (E12): the second-order remainder of J around c, block norms per head.
  Matrix N2 = Matrix::Zero(n, n);
  // Value + query parts by block norms, the key part row by row (Cauchy–Schwarz, Σ_l P'² <= 1).
  Matrix Dvq = Matrix::Zero(n, n);
  Vector Kcs = Vector::Zero(n);
  // Heads kept together (docs/box.md (E10), (E11)): maxima over heads in head space.
  Matrix Mv = Matrix::Zero(n, n), Mk = Matrix::Zero(n, n), Dv = Matrix::Zero(n, n), Dk = Matrix::Zero(n, n);
  Vector Mq = Vector::Zero(n), Dq = Vector::Zero(n);
  auto stacked = [&](auto get) {
    long rows = 0;
    for (const Head& hd : layer.heads) rows += get(hd).rows();
    Matrix S(rows, layer.d);
    long at = 0;
    for (const Head& hd : layer.heads) {
      S.middleRows(at, get(hd).rows()) = get(hd);
      at += get(hd).rows();
    }
    return norm2_upper(S).value();
  };
  const double so = stacked([](const Head& hd) { return Matrix(hd.Wo.transpose()); });
  const double sv = stacked([](const Head& hd) -> const Matrix& { return hd.Wv; });
  const double sk = stacked([](const Head& hd) -> const Matrix& { return hd.Wk; });
  const double sq = stacked([](const Head& hd) -> const Matrix& { return hd.Wq; });
  for (long h = 0; h < H; ++h) {
    const Head& hd = layer.heads[h];
    const double sl = st.scale[h].lower_down(), su = st.scale[h].upper_up();
    const double nq = norm2_upper(hd.Wq).value(), nk = norm2_upper(hd.Wk).value();
    const HiLo WoWv = times(exact(hd.Wo), hd.Wv);
    const double mu = midrad_norm(WoWv);
    const double aq = tau(exact(hd.Wq), nq), ak = tau(exact(hd.Wk), nk), aov = tau(WoWv, mu);
    double gam = su * (nk * aq), gamk = su * (nq * ak);
    if (!l2) {
      const HiLo M = times(exact(Matrix(hd.Wk.transpose())), hd.Wq);
      gam = std::min(gam, su * std::sqrt(phi(M).squaredNorm()));
      gamk = std::min(gamk, su * std::sqrt(phi(transpose(M)).squaredNorm()));
    }
    const HiLo& P = st.P[h];
    const HiLo U = times(st.V[h], Matrix(hd.Wo.transpose()));
    const HiLo Ubar = times(P, U);
    const Matrix omega = distances(U, Ubar);
    HiLo B = times(st.Q[h], hd.Wk), G = times(st.K[h], hd.Wq);
    scale(B, sl, su);
    scale(G, sl, su);
    const Vector bn = row_norms(magnitude(B));
    Matrix gk;
    {
      RoundingGuard nearest(Rounding::nearest);
      Matrix mP, rP, mG, rG;
      mid_rad(P, mP, rP);
      mid_rad(G, mG, rG);
      gk = mP * mG;  // any exact centres g_i are valid
    }
    const Matrix gdist = distances(G, exact(gk));
    const Vector phiB = phi(B);
    // Row shifts leave the softmax unchanged: only φ(G_j − g_i) enters the logit change.
    Matrix LG(n, n);
    {
      Matrix mG, rG;
      mid_rad(G, mG, rG);
      if (l2) {
        LG = gdist * rho;
      } else if (n <= 256) {
        for (long i = 0; i < n; ++i)
          for (long j = 0; j < n; ++j) {
            double t = 0.0;
            for (long a = 0; a < mG.cols(); ++a) t += (std::max(mG(j, a) - gk(i, a), gk(i, a) - mG(j, a)) + rG(j, a)) * r(a);
            LG(i, j) = t;
          }
      } else {
        Vector gbar;
        {
          RoundingGuard nearest(Rounding::nearest);
          gbar = mG.colwise().mean().transpose();
        }
        Vector toj(n), toi(n);
        for (long j = 0; j < n; ++j) {
          double t = 0.0, u = 0.0;
          for (long a = 0; a < mG.cols(); ++a) {
            t += (std::max(mG(j, a) - gbar(a), gbar(a) - mG(j, a)) + rG(j, a)) * r(a);
            u += std::max(gk(j, a) - gbar(a), gbar(a) - gk(j, a)) * r(a);
          }
          toj(j) = t;
          toi(j) = u;
        }
        for (long i = 0; i < n; ++i)
          for (long j = 0; j < n; ++j) LG(i, j) = toj(j) + toi(i);
      }
    }
    const double second = su * (aq * ak);
    HiLo S = times(st.Q[h], transpose(st.K[h]));
    scale(S, sl, su);
    MpMatrix Shat(n, n);
    {
      MpPrecision prec(64);
      for (long i = 0; i < n; ++i)
        for (long j = 0; j < n; ++j) {
          const double lam = LG(i, j) + phiB(i) + second;
          const double hi = S.hi(i, j) + lam, nlo = S.nlo(i, j) + lam;  // both upward
          Shat(i, j) = MpInterval::hull(-nlo, hi);
        }
    }
    MpMatrix Phat;
    {
      MpPrecision prec(64);
      Phat = softmax_rows<MpInterval>(Shat, layer.mask);
    }
    // Head-space quantities: ‖v_l − v̄_i‖, ‖q_i‖, ‖k_j − κ_i‖.
    const Matrix omk = distances(st.V[h], times(P, st.V[h]));
    Matrix kap;
    {
      RoundingGuard nearest(Rounding::nearest);
      Matrix mP, rP, mK, rK;
      mid_rad(P, mP, rP);
      mid_rad(st.K[h], mK, rK);
      kap = mP * mK;
    }
    const Matrix kdist = distances(st.K[h], exact(kap));
    const Vector qn = row_norms(magnitude(st.Q[h]));
    const double av = tau(exact(hd.Wv), norm2_upper(hd.Wv).value());
    // (E11'') spreads at X under P' ∈ P̂: W_O values and G's, head-space values and keys.
    Matrix devU, devV, devG, devK;
    Vector varU, varV, varG, varK;
    spreads(Phat, moved(distances(U, U), aov), causal, devU, varU);
    spreads(Phat, moved(distances(G, G), gamk), causal, devG, varG);
    spreads(Phat, moved(distances(st.V[h], st.V[h]), av), causal, devV, varV);
    spreads(Phat, moved(distances(st.K[h], st.K[h]), ak), causal, devK, varK);
    for (long i = 0; i < n; ++i) {
      const long L = causal ? i + 1 : n;
      Vector pi(L), Pu(L), Phu(L), lam(L), sat(L);
      for (long k = 0; k < L; ++k) {
        const double a = Phat(i, k).upper_up() + P.nlo(i, k);
        const double b = P.hi(i, k) + (-Phat(i, k).lower_down());
        pi(k) = std::min(1.0, std::max({a, b, 0.0}));
        Pu(k) = std::max(P.hi(i, k), 0.0);
        Phu(k) = std::min(1.0, std::max(Phat(i, k).upper_up(), 0.0));
        lam(k) = LG(i, k) + phiB(i) + second;
        sat(k) = 1.0 - std::max(0.0, Phat(i, k).lower_down());  // >= 1 − P'_ik
      }
      // sup ‖Σ_k (P'_ik − P_ik) y_k‖ over ‖y_k‖ <= w_k with Σ_k P_ik y_k = 0: by |ΔP| <= π, by the
      // convex hull (max w), and to first order (P' − P = Σ(c)Δs + remainder).
      const double plam = Phu.dot(lam), pilam = pi.dot(lam);
      auto spread = [&](const Matrix& w) {
        double a1 = 0.0, a2 = 0.0, a3 = 0.0;
        for (long k = 0; k < L; ++k) {
          const double rem = pi(k) * (lam(k) + plam) + Pu(k) * pilam;
          a1 += pi(k) * w(i, k);
          a2 = std::max(a2, w(i, k));
          a3 += (Pu(k) * lam(k) + rem) * w(i, k);
        }
        return std::min({a1, a2, a3});
      };
      // ‖W_O Δw_il‖ <= Σ_k P'_ik ‖W_O W_V (δ_l − δ_k)‖ + spread <= 2 a_OV (1 − P'_il) + spread.
      const double spo = spread(omega);
      auto dwo = [&](long l) { return 2.0 * aov * sat(l) + spo; };
      // The query term sums over keys: also by Σ_l |ΔP_il| <= 2 and Σ_l P'_il = 1 (f >= ‖W_O w'‖ ‖G' − g‖).
      double diag = 0.0, ddiag = 0.0, dpi = 0.0, drest = 0.0, fmax = 0.0;
      for (long l = 0; l < L; ++l) {
        const double theta = pi(l) * (omega(i, l) + dwo(l)) + Pu(l) * dwo(l);
        const double pw = Pu(l) * omega(i, l);
        const double f = (omega(i, l) + dwo(l)) * (gdist(i, l) + gamk);
        N(i, l) += pi(l) * mu + theta * (bn(i) + gam) + pw * gam;
        diag += theta * (gdist(i, l) + gamk) + pw * gamk;
        dpi += pi(l) * f;
        drest += Pu(l) * dwo(l) * (gdist(i, l) + gamk) + pw * gamk;
        fmax = std::max(fmax, f);
        const double pw2 = std::min({Phu(l) * (omega(i, l) + dwo(l)), pw + theta, devU(i, l)});
        D(i, l) += Phu(l) * mu + pw2 * (bn(i) + gam);
        ddiag += pw2 * (gdist(i, l) + gamk);
      }
      N(i, i) += std::min(diag, std::min(dpi, 2.0 * fmax) + drest);
      // (E12). ρ'_ik >= |P'_ik − P_ik − [Σ(c)Δ¹s_i]_k|: the softmax remainder of (E4) plus the
      // second-order logit piece e = s(W_Q δ_i)·(W_K δ_j), |e| <= κ, through Σ(c): P_ik|e_k − P_i·e| <= 2P_ik κ.
      // ε2_i >= ‖W_O(Δv̄_i − Δ¹v̄_i)‖ = ‖Σ_k (ΔP − Δ¹P)_ik (U_k − Ū_i) + Σ_k ΔP_ik W_O W_V δ_k‖.
      {
        Vector rho2(L);
        double eps2 = 0.0, sum_pi = 0.0;
        for (long k = 0; k < L; ++k) {
          const double rem = pi(k) * (lam(k) + plam) + Pu(k) * pilam;
          rho2(k) = rem + keep(5) * (2.0 * Pu(k) * second);
          eps2 += rho2(k) * omega(i, k);
          sum_pi += pi(k);
        }
        eps2 += keep(6) * (aov * std::min(sum_pi, 2.0));
        double q2 = 0.0;
        for (long l = 0; l < L; ++l) {
          // θ_il >= ‖W_O Δu_il‖ (E5); θ2_il >= ‖W_O(Δu_il − Δ¹u_il)‖ from
          // Δu − Δ¹u = (ΔP − Δ¹P) e + ΔP Δe − P (Δv̄ − Δ¹v̄), e_il = v_l − v̄_i.
          const double theta = pi(l) * (omega(i, l) + dwo(l)) + Pu(l) * dwo(l);
          const double theta2 = rho2(l) * omega(i, l) + keep(7) * (pi(l) * dwo(l)) + keep(8) * (Pu(l) * eps2);
          // Value: (ΔP − Δ¹P) W_O W_V. Key: W_O(Δu − Δ¹u) B_iᵀ + (W_O Δu) ΔB_iᵀ (B is affine in δ).
          N2(i, l) += keep(0) * (rho2(l) * mu) + keep(1) * (theta2 * bn(i)) + keep(2) * (theta * gam);
          // Query: the same with G_j − g_i (g_i fixed) and ΔG_j.
          q2 += keep(3) * (theta2 * gdist(i, l)) + keep(4) * (theta * gamk);
        }
        N2(i, i) += q2;
      }
      // Query term = covariance of W_O v' and G' under P'_i (Cauchy–Schwarz on the two variances).
      const double query = std::min({ddiag, fmax, std::sqrt(varU(i)) * std::sqrt(varG(i))});
      D(i, i) += query;
      double wmax = 0.0;
      for (long l = 0; l < L; ++l) {
        Dvq(i, l) += Phu(l) * mu;
        wmax = std::max(wmax, omega(i, l) + dwo(l));
      }
      Dvq(i, i) += query;
      Kcs(i) += (bn(i) + gam) * std::min(wmax, std::sqrt(varU(i)));
      // Head space.
      const double spk = spread(omk);
      double qk = 0.0, dq = 0.0, qpi = 0.0, qrest = 0.0, gmax = 0.0;
      for (long l = 0; l < L; ++l) {
        const double dwk = 2.0 * av * sat(l) + spk;
        const double theta = pi(l) * (omk(i, l) + dwk) + Pu(l) * dwk;
        const double pw = Pu(l) * omk(i, l);
        const double f = (omk(i, l) + dwk) * (kdist(i, l) + ak);
        qpi += pi(l) * f;
        qrest += Pu(l) * dwk * (kdist(i, l) + ak) + pw * ak;
        gmax = std::max(gmax, f);
        const double pw2 = std::min({Phu(l) * (omk(i, l) + dwk), pw + theta, devV(i, l)});
        Mv(i, l) = std::max(Mv(i, l), pi(l));
        Mk(i, l) = std::max(Mk(i, l), su * (theta * (qn(i) + aq) + pw * aq));
        qk += su * (theta * (kdist(i, l) + ak) + pw * ak);
        Dv(i, l) = std::max(Dv(i, l), Phu(l));
        Dk(i, l) = std::max(Dk(i, l), su * (pw2 * (qn(i) + aq)));
        dq += su * (pw2 * (kdist(i, l) + ak));
      }
      qk = std::min(qk, su * (std::min(qpi, 2.0 * gmax) + qrest));
      dq = std::min({dq, su * gmax, su * (std::sqrt(varV(i)) * std::sqrt(varK(i)))});
      Mq(i) = std::max(Mq(i), qk);
      Dq(i) = std::max(Dq(i), dq);
    }
  }
  for (long i = 0; i < n; ++i)
    for (long l = 0; l < (causal ? i + 1 : n); ++l) {
      double m = so * (Mv(i, l) * sv + Mk(i, l) * sk), dd = so * (Dv(i, l) * sv + Dk(i, l) * sk);
      if (l == i) {
        m += so * (Mq(i) * sq);
        dd += so * (Dq(i) * sq);
      }
      N(i, l) = std::min(N(i, l), m);
      D(i, l) = std::min(D(i, l), dd);
    }
  FirstOrderCheck out;
  out.excess = norm2_upper_nonneg(N).value();
  out.remainder = norm2_upper_nonneg(N2).value();
  out.direct = std::min(norm2_upper_nonneg(D).value(), norm2_upper_nonneg(Dvq).value() + std::sqrt(Kcs.squaredNorm()));
  return out;
}

}  // namespace attnbound::check
