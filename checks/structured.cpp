// prove_structured_upper: the checker's own re-derivation of the structured point tier
// (docs/structured.md, docs/certificate.md "structured"). Independent of the engine's
// src/bound/structured.cpp: the forward quantities come from forward_directed (directed GEMMs,
// MPFI softmax), the Gram factors from a Householder QR (the engine uses an eigen-decomposition),
// and the products from the checker's directed kernels (hilo.hpp); only linalg's verified norms
// (and the Collatz–Wielandt bound for non-negative matrices) are shared.
#include <Eigen/QR>
#include <cmath>

#include "hilo.hpp"
#include "internal.hpp"
#include "linalg/linalg.hpp"

namespace attnbound::check {

namespace {

using namespace hilo;
using IM = HiLo;

/// D(i, l) >= ‖a − b‖ over a ∈ A row l, b ∈ B row i. Precondition: upward rounding.
Matrix dist(const IM& A, const IM& B) {
  Matrix mA, rA, mB, rB;
  mid_rad(A, mA, rA);
  mid_rad(B, mB, rB);
  const Matrix negB = -mB;
  Matrix C;
  C.noalias() = negB * mA.transpose();  // >= −b·a
  // Row norms once (the same upward sums as before, hoisted: rows of a column-major matrix are
  // strided, and recomputing them per pair made this the check's hot spot at n = 1024).
  const Vector b2 = mB.rowwise().squaredNorm(), br2 = rB.rowwise().squaredNorm();
  Vector br(br2.size());
  for (Eigen::Index i = 0; i < br.size(); ++i) br(i) = std::sqrt(br2(i));
  Matrix D(mB.rows(), mA.rows());
  for (Eigen::Index l = 0; l < D.cols(); ++l) {
    const double a2 = mA.row(l).squaredNorm(), ar = std::sqrt(rA.row(l).squaredNorm());
    for (Eigen::Index i = 0; i < D.rows(); ++i) {
      const double q = b2(i) + a2 + 2.0 * C(i, l);
      D(i, l) = std::sqrt(std::max(q, 0.0)) + ar + br(i);
    }
  }
  return D;
}

/// R, e with ‖W z‖ <= ‖R z‖ + e ‖z‖: R from a float Householder QR of W, e = √‖WᵀW − RᵀR‖_F.
struct Factor {
  Matrix R;
  double e = 0.0;
};
Factor factor(const Matrix& W) {
  Factor f;
  {
    RoundingGuard nearest(Rounding::nearest);
    Eigen::HouseholderQR<Matrix> qr(W);
    const long r = std::min(W.rows(), W.cols());
    f.R = qr.matrixQR().topRows(r).triangularView<Eigen::Upper>();
  }
  UpwardScope up;
  const Matrix Wt = W.transpose(), nW = -W, Rt = f.R.transpose(), nR = -f.R;
  Matrix Ghi, Gnlo, Shi, Snlo;
  Ghi.noalias() = Wt * W;
  Gnlo.noalias() = Wt * nW;
  Shi.noalias() = Rt * f.R;
  Snlo.noalias() = Rt * nR;
  // G − S ∈ [−(Gnlo + Shi), Ghi + Snlo]
  double s = 0.0;
  for (Eigen::Index k = 0; k < Ghi.size(); ++k) {
    const double m = std::max(Ghi.data()[k] + Snlo.data()[k], Gnlo.data()[k] + Shi.data()[k]);
    s += m * m;
  }
  f.e = std::sqrt(std::sqrt(s));
  return f;
}

double norm_up(const Matrix& M) { return norm2_upper(M).value(); }

}  // namespace

std::string prove_structured_upper(const AttentionLayer& layer, const Matrix& X, double U) {
  const long n = X.rows(), H = layer.n_heads();
  const DirectedState& s = forward_directed_cached(layer, X);
  const bool causal = layer.mask == Mask::causal;

  // Model constants and g_hk >= ‖W_O^hᵀ W_O^k‖ (enclosed product, verified interval norm).
  std::vector<Factor> FO, FK, FQ;
  std::vector<double> nu(H), mu(H), sc(H);
  for (long h = 0; h < H; ++h) {
    const Head& hd = layer.heads[h];
    FO.push_back(factor(hd.Wo));
    FK.push_back(factor(Matrix(hd.Wk.transpose())));
    FQ.push_back(factor(Matrix(hd.Wq.transpose())));
    nu[h] = norm_up(hd.Wv);
    sc[h] = s.scale[h].upper_up();
  }
  Matrix g(H, H);
  for (long h = 0; h < H; ++h) {
    const double r = norm2_upper(mul_enclose(FO[h].R, layer.heads[h].Wv)).value();
    {
      UpwardScope up;
      mu[h] = r + FO[h].e * nu[h];
    }
    for (long k = h; k < H; ++k)
      g(h, k) = g(k, h) = norm2_upper(mul_enclose(Matrix(layer.heads[h].Wo.transpose()), layer.heads[k].Wo)).value();
  }

  // Norms of the stacked weights of all heads (for the factored variants).
  auto stacked = [&](auto get) {
    long rows = 0;
    for (const Head& hd : layer.heads) rows += get(hd).rows();
    Matrix S(rows, layer.d);
    long r0 = 0;
    for (const Head& hd : layer.heads) {
      const Matrix Wh = get(hd);
      S.middleRows(r0, Wh.rows()) = Wh;
      r0 += Wh.rows();
    }
    return norm_up(S);
  };
  const double wo = stacked([](const Head& hd) { return Matrix(hd.Wo.transpose()); });
  const double wv = stacked([](const Head& hd) { return hd.Wv; });
  const double wk = stacked([](const Head& hd) { return hd.Wk; });
  const double wq = stacked([](const Head& hd) { return hd.Wq; });
  const double win = stacked([](const Head& hd) {
    Matrix S(hd.Wv.rows() + hd.Wk.rows() + hd.Wq.rows(), hd.Wv.cols());
    S << hd.Wv, hd.Wk, hd.Wq;
    return S;
  });

  Matrix Nd = Matrix::Zero(n, n), NdR = Matrix::Zero(n, n), fp = Matrix::Zero(n, n), fb = Matrix::Zero(n, n);
  Vector fc = Vector::Zero(n);
  Vector eta(H), rho(H), pv(H);
  double pm_sum = 0.0, pi_max = 0.0, kb_max = 0.0, kc_max = 0.0, core_max = 0.0;
  std::vector<HeadImages> images(static_cast<std::size_t>(H));
  for (long h = 0; h < H; ++h) {
    UpwardScope up;
    const IM &P = s.P[h], &V = s.V[h], &K = s.K[h], &Q = s.Q[h];
    HeadImages& F = images[static_cast<std::size_t>(h)];
    const Matrix Pu = P.hi.cwiseMax(0.0);
    const IM Vbar = times(P, V);
    Matrix kap;
    {
      RoundingGuard nearest(Rounding::nearest);
      kap = ((P.hi - P.nlo) * 0.5) * ((K.hi - K.nlo) * 0.5);
    }
    const IM Kap{kap, -kap};
    const Matrix RoT = FO[h].R.transpose(), RkT = FK[h].R.transpose(), RqT = FQ[h].R.transpose();
    {
      const Head& hd = layer.heads[h];
      const Matrix WoT = hd.Wo.transpose();
      F.U = transpose(times(V, WoT));
      F.Ubar = transpose(times(Vbar, WoT));
      F.B = transpose(times(Q, hd.Wk));
      F.G = transpose(times(K, hd.Wq));
      F.Gkap = transpose(times(Kap, hd.Wq));
      F.Pup = Pu;
      F.Pnlo = P.nlo;
      F.s = sc[h];
    }
    const Matrix alpha = dist(V, Vbar);
    const Matrix a = dist(times(V, RoT), times(Vbar, RoT)) + FO[h].e * alpha;
    const Matrix c = sc[h] * (dist(times(K, RqT), times(Kap, RqT)) + FQ[h].e * dist(K, Kap));  // s‖W_Qᵀ(k_j − κ_i)‖
    const IM RQ = times(Q, RkT);
    Vector b(n);
    for (long i = 0; i < n; ++i) {
      const double qn = std::sqrt(Q.hi.row(i).cwiseMax(Q.nlo.row(i)).squaredNorm());  // >= ‖q_i‖
      const double rq = std::sqrt(RQ.hi.row(i).cwiseMax(RQ.nlo.row(i)).squaredNorm());
      b(i) = sc[h] * (rq + FK[h].e * qn);
    }
    const Matrix kd = dist(K, Kap);
    Vector gam, muv;  // the cores row by row (structured_core.cpp)
    core_rows(P, V, Vbar, K, Kap, sc[h], causal, gam, muv);
    double kc_h = 0.0;
    Matrix NY = Matrix::Zero(n, n), NYR = Matrix::Zero(n, n), NB = Matrix::Zero(n, n);
    for (long i = 0; i < n; ++i) {
      const long L = causal ? i + 1 : n;
      double dY = 0.0, dd = 0.0, dc = 0.0;
      const double sq = sc[h] * std::sqrt(Q.hi.row(i).cwiseMax(Q.nlo.row(i)).squaredNorm());
      for (long l = 0; l < L; ++l) {
        const double p = Pu(i, l);
        if (p == 0.0) continue;
        NB(i, l) = p * (alpha(i, l) * sq);
        fp(i, l) = std::max(fp(i, l), p);
        fb(i, l) = std::max(fb(i, l), NB(i, l));
        dc += p * (alpha(i, l) * kd(i, l));
        const double rY = p * (alpha(i, l) * b(i)), rd = p * (a(i, l) * b(i));
        NY(i, l) += p * nu[h] + rY;
        NYR(i, l) += rY;
        Nd(i, l) += p * mu[h] + rd;
        NdR(i, l) += rd;
        dY += p * (alpha(i, l) * c(i, l));
        dd += p * (a(i, l) * c(i, l));
      }
      dc = std::min(dc * sc[h], gam(i));
      fc(i) = std::max(fc(i), dc);
      kc_h = std::max(kc_h, dc);
      NY(i, i) += dY;
      NYR(i, i) += dY;
      Nd(i, i) += dd;
      NdR(i, i) += dd;
    }
    const double pi = norm2_upper_nonneg(Pu).value();
    pi_max = std::max(pi_max, pi);
    const double kb_h = std::min(norm2_upper_nonneg(NB).value(), key_core(muv, Q));
    kb_max = std::max(kb_max, kb_h);
    kc_max = std::max(kc_max, kc_h);
    core_max = std::max(core_max, std::sqrt(pi * pi + kb_h * kb_h + kc_h * kc_h));
    rho(h) = norm2_upper_nonneg(NYR).value();
    eta(h) = std::min(norm2_upper_nonneg(NY).value(), pi * nu[h] + rho(h));
    pv(h) = pi * nu[h];
    pm_sum += pi * mu[h];
  }
  double mu_all;
  {
    Matrix Wo(layer.d, 0), Wv(0, layer.d);
    for (const Head& hd : layer.heads) {
      Wo.conservativeResize(Eigen::NoChange, Wo.cols() + hd.Wo.cols());
      Wo.rightCols(hd.Wo.cols()) = hd.Wo;
      Wv.conservativeResize(Wv.rows() + hd.Wv.rows(), Eigen::NoChange);
      Wv.bottomRows(hd.Wv.rows()) = hd.Wv;
    }
    mu_all = norm2_upper(mul_enclose(Wo, Wv)).value();
  }
  double wo_wv;
  {
    UpwardScope up;
    wo_wv = wo * wv;
  }
  const GramParts parts = head_gram_blocks(images, mu, mu_all, wo_wv, layer.mask);
  images.clear();
  UpwardScope up;
  auto quad = [&](const Vector& x) {
    double t = 0.0;
    for (long h = 0; h < H; ++h)
      for (long k = 0; k < H; ++k) t += x(h) * (g(h, k) * x(k));
    return std::sqrt(t);
  };
  const double block = norm2_upper_nonneg(Nd).value();
  const double split = std::min(pm_sum, quad(pv)) + std::min(norm2_upper_nonneg(NdR).value(), quad(rho));
  const double gram = quad(eta);
  const double fact = std::min(wo * (pi_max * wv + kb_max * wk + kc_max * wq), wo * (core_max * win));
  // Per block: the factored bound as a whole and term by term against the head-Gram parts.
  Matrix Nterm(n, n);
  for (long i = 0; i < n; ++i)
    for (long l = 0; l < n; ++l) {
      const double fP = wo * (fp(i, l) * wv), fR = wo * (fb(i, l) * wk), fD = l == i ? wo * (fc(i) * wq) : 0.0;
      const double gD = l == i ? parts.D(i) : 0.0;
      Nd(i, l) = std::min(Nd(i, l), (fP + fR) + fD);
      Nterm(i, l) = (std::min(parts.P(i, l), fP) + std::min(parts.R(i, l), fR)) + std::min(gD, fD);
    }
  const double fact_block = norm2_upper_nonneg(Nd).value();
  // Nterm <= the head-Gram sum P + R + D entrywise, so the per-block best needs only Nterm and Nd.
  const double head_gram = norm2_upper_nonneg(Nterm.cwiseMin(Nd)).value();
  const double best = std::min({block, split, gram, fact, fact_block, head_gram});
  if (!(best <= U))
    throw Invalid("structured bound " + dec(best) + " (block " + dec(block) + ", split " + dec(split) +
                  ", gram " + dec(gram) + ", factored " + dec(fact) + ", factored-block " + dec(fact_block) +
                  ", head-gram " + dec(head_gram) + ") exceeds the claim " + dec(U));
  return "structured: ‖J‖ <= " + dec(best) + " <= claim (block-norm / factored combination, directed GEMMs, MPFI softmax, QR Gram factors)";
}

}  // namespace attnbound::check
