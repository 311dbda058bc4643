// prove_analytic_upper: the checker's own re-derivation of an analytic-tier upper claim over B_R^n
// (docs/ball.md, docs/certificate.md "Analytic evidence").
//
// The certificate records a statement id and constants: per head a_h, v_h, w_h, and wo, claimed
// upper bounds of ‖A_h‖, ‖W_O^h W_V^h‖, ‖W_V^h‖ (augmented form with query/key biases) and ‖W_O‖,
// plus R2 >= R² (+1) and n. Every statement value is increasing in every constant, so it suffices
// to (1) prove each constant the statement uses is >= the exact norm, (2) evaluate the statement's
// formula at the constants in MPFI (this file's own formulas, not the engine's), (3) compare with
// the claim. Norm bounds, all by threshold tests (no eigenvalue search):
//   ‖PᵀQ‖ < t for P, Q: k × m with k < m: G_P = PPᵀ, G_Q = QQᵀ enclosed by directed GEMMs,
//     interval Cholesky factors L_P, L_Q (they enclose the exact factors), then ‖L_Pᵀ L_Q‖ < t by
//     norm_below_mp — since P = L_P U_P with orthonormal rows U_P (same for Q),
//     PᵀQ = U_Pᵀ (L_Pᵀ L_Q) U_Q has the same norm as L_Pᵀ L_Q.
//   Otherwise PᵀQ in MPFI and norm_below_mp.
//   ‖W‖ < t for one matrix: t²I − (the smaller Gram of W) ≻ 0 by an interval Cholesky.
#include <cmath>
#include <optional>
#include <vector>

#include "hilo.hpp"
#include "internal.hpp"

namespace attnbound::check {

namespace {

// W Wᵀ enclosed (W exact), lower triangle meaningful.
MpMatrix gram_rows(const Matrix& W) {
  HiLo G;
  {
    UpwardScope up;
    G = hilo::times(hilo::exact(W), Matrix(W.transpose()));
  }
  MpMatrix M(G.hi.rows(), G.hi.cols());
  for (Eigen::Index i = 0; i < M.rows(); ++i)
    for (Eigen::Index j = 0; j < M.cols(); ++j) M(i, j) = MpInterval::hull(-G.nlo(i, j), G.hi(i, j));
  return M;
}

// Interval Cholesky of the symmetric matrix whose lower triangle is enclosed by G: encloses the
// factor of every symmetric member; nullopt unless every pivot is certainly positive.
std::optional<MpMatrix> cholesky(const MpMatrix& G) {
  const Eigen::Index N = G.rows();
  MpMatrix L = MpMatrix::Constant(N, N, MpInterval(0));
  MpInterval tmp;
  for (Eigen::Index j = 0; j < N; ++j) {
    MpInterval s = G(j, j);
    for (Eigen::Index k = 0; k < j; ++k) {
      mpfi_sqr(tmp.raw(), L(j, k).raw());
      mpfi_sub(s.raw(), s.raw(), tmp.raw());
    }
    if (!certainly_positive(s)) return std::nullopt;
    const MpInterval ljj = sqrt(s);
    L(j, j) = ljj;
    for (Eigen::Index i = j + 1; i < N; ++i) {
      MpInterval a = G(i, j);
      for (Eigen::Index k = 0; k < j; ++k) {
        mpfi_mul(tmp.raw(), L(i, k).raw(), L(j, k).raw());
        mpfi_sub(a.raw(), a.raw(), tmp.raw());
      }
      mpfi_div(a.raw(), a.raw(), ljj.raw());
      L(i, j) = a;
    }
  }
  return L;
}

// The same Cholesky test of t²I − G in outward-rounded double intervals (G = WWᵀ enclosed by the
// directed GEMM): for large G (‖W_O‖ at d = 768 the MPFI version takes ~30 s, this ~1 s). Every
// operation is an Interval operation under upward rounding, so each computed pivot interval
// contains the exact pivot of every symmetric member; all certainly positive proves t²I − G ≻ 0.
bool cholesky_gap_double(const Matrix& W, double t) {
  UpwardScope up;
  const HiLo G = hilo::times(hilo::exact(W), Matrix(W.transpose()));
  const Eigen::Index N = G.hi.rows();
  std::vector<Interval> L(static_cast<std::size_t>(N * N), point(0.0));  // row-major lower factor
  const Interval t2 = square(point(t));
  for (Eigen::Index j = 0; j < N; ++j) {
    Interval* Lj = &L[static_cast<std::size_t>(j * N)];
    Interval s = t2 - hull(-G.nlo(j, j), G.hi(j, j));
    for (Eigen::Index k = 0; k < j; ++k) s -= square(Lj[k]);
    if (!certainly_positive(s)) return false;
    const Interval ljj = sqrt(s);
    Lj[j] = ljj;
    for (Eigen::Index i = j + 1; i < N; ++i) {
      Interval* Li = &L[static_cast<std::size_t>(i * N)];
      Interval a = point(0.0) - hull(-G.nlo(i, j), G.hi(i, j));
      for (Eigen::Index k = 0; k < j; ++k) a -= Li[k] * Lj[k];
      Li[j] = a / ljj;
    }
  }
  return true;
}

// ‖W‖ < t (t an exact double): t²I − G ≻ 0 for the smaller Gram G of W.
bool single_norm_below(const Matrix& W, double t) {
  const Matrix Wr = W.rows() <= W.cols() ? W : Matrix(W.transpose());
  if (Wr.rows() > 128) return cholesky_gap_double(Wr, t);
  MpMatrix A = gram_rows(Wr);
  const MpInterval t2 = square(MpInterval(t));
  for (Eigen::Index i = 0; i < A.rows(); ++i)
    for (Eigen::Index j = 0; j < A.cols(); ++j) A(i, j) = (i == j ? t2 : MpInterval(0)) - A(i, j);
  return cholesky(A).has_value();
}

// ‖PᵀQ‖ / √divisor < t.
bool product_norm_below(const Matrix& P, const Matrix& Q, long divisor, double t) {
  const MpInterval scale = divisor == 1 ? MpInterval(1) : sqrt(MpInterval(static_cast<double>(divisor)));
  MpMatrix M;
  std::optional<MpMatrix> LP, LQ;
  if (P.rows() < P.cols() && (LP = cholesky(gram_rows(P))) && (LQ = cholesky(gram_rows(Q)))) {
    const Eigen::Index k = P.rows();
    M.resize(k, k);
    MpInterval tmp;
    for (Eigen::Index i = 0; i < k; ++i)
      for (Eigen::Index j = 0; j < k; ++j) {
        MpInterval acc(0);  // (L_Pᵀ L_Q)_ij = Σ_r L_P(r, i) L_Q(r, j), lower triangles only
        for (Eigen::Index r = std::max(i, j); r < k; ++r) {
          mpfi_mul(tmp.raw(), (*LP)(r, i).raw(), (*LQ)(r, j).raw());
          mpfi_add(acc.raw(), acc.raw(), tmp.raw());
        }
        M(i, j) = acc;
      }
  } else {
    const Eigen::Index m = P.cols();
    M.resize(m, m);
    MpInterval tmp;
    for (Eigen::Index i = 0; i < m; ++i)
      for (Eigen::Index j = 0; j < m; ++j) {
        MpInterval acc(0);
        for (Eigen::Index r = 0; r < P.rows(); ++r) {
          mpfi_set_d(tmp.raw(), P(r, i));
          mpfi_mul_d(tmp.raw(), tmp.raw(), Q(r, j));
          mpfi_add(acc.raw(), acc.raw(), tmp.raw());
        }
        M(i, j) = acc;
      }
  }
  if (divisor != 1)
    for (Eigen::Index k = 0; k < M.size(); ++k) M.data()[k] = M.data()[k] / scale;
  return norm_below_mp(M, MpInterval(t));
}

Matrix append_bias(const Matrix& W, const Vector& b, bool augment) {
  if (!augment) return W;
  Matrix M(W.rows(), W.cols() + 1);
  M.leftCols(W.cols()) = W;
  M.col(W.cols()) = b;
  return M;
}

MpInterval nn(long n) { return MpInterval(static_cast<double>(n)); }

// The statements' formulas (docs/ball.md §2, THEORY.md §3), written independently of the engine.
MpInterval statement_value(const std::string& id, const Certificate::Analytic& k) {
  const MpInterval R2(k.R2), rn = sqrt(nn(k.n)), one(1), two(2);
  MpInterval sum(0);
  for (std::size_t h = 0; h < k.a.size(); ++h) {
    const MpInterval a(k.a[h]), v(k.v[h]), w(k.w[h]);
    const MpInterval x = a * R2;  // aR²
    const MpInterval core = rn + x * (sqrt(nn(k.n) / two) + one);  // ‖P‖ + ‖E‖ + ‖D‖ bounds
    if (id == "U1") sum += sqrt(MpInterval(3)) * v * sqrt(x * x * (MpInterval(4) * nn(k.n) + one) + nn(k.n));
    else if (id == "U1-sharp") sum += sqrt(MpInterval(3)) * v * sqrt(x * x * (nn(k.n) + one) + nn(k.n));
    else if (id == "U-sum") sum += v * core;
    else if (id == "U-stack") sum += w * w * core * core;
    else if (id == "MF-block") sum += v * (exp(two * x) * (one + two * x) + x);
    else if (id == "MF-causal") sum += v * (two * exp(two * x) * (one + two * x) + x);
    else throw Invalid("unknown analytic statement \"" + id.substr(0, 40) + "\"");
  }
  if (id == "U-stack") return MpInterval(k.wo) * sqrt(sum);
  return sum;
}

}  // namespace

std::string prove_analytic_upper(const AttentionLayer& layer, const Certificate& c, double U) {
  const Certificate::Analytic& k = c.analytic;
  const std::string& id = c.statement;
  const bool causal = layer.mask == Mask::causal;
  // Applicability (hypotheses): mask, sizes.
  if (id == "MF-block" && causal) throw Invalid("MF-block needs an unmasked layer");
  if (id == "MF-causal" && !causal) throw Invalid("MF-causal needs a causal layer");
  if (k.mask != (causal ? "causal" : "none")) throw Invalid("constants.mask \"" + k.mask.substr(0, 20) + "\" is not the layer's mask");
  if (k.n != c.n) throw Invalid("constants.n = " + std::to_string(k.n) + " is not the region's n = " + std::to_string(c.n));
  if (static_cast<long>(k.a.size()) != layer.n_heads())
    throw Invalid("constants give " + std::to_string(k.a.size()) + " heads, the layer has " + std::to_string(layer.n_heads()));
  bool aug = false;
  for (const Head& h : layer.heads) aug = aug || h.has_qk_bias();
  if (k.augmented != aug) throw Invalid(std::string("constants.augmented must be ") + (aug ? "true" : "false"));
  MpInterval R2 = square(MpInterval(c.R));
  if (aug) R2 += MpInterval(1);
  if (!certainly_at_most(R2, k.R2)) throw Invalid("constants.R2 = " + dec(k.R2) + " is below R²" + (aug ? " + 1" : ""));
  for (double x : k.a)
    if (!(x >= 0) || !std::isfinite(x)) throw Invalid("a norm constant is negative or not finite");
  for (double x : k.v)
    if (!(x >= 0) || !std::isfinite(x)) throw Invalid("a norm constant is negative or not finite");
  for (double x : k.w)
    if (!(x >= 0) || !std::isfinite(x)) throw Invalid("a norm constant is negative or not finite");

  // (1) the norms the statement uses.
  const bool stack = id == "U-stack";
  long cols = 0;
  for (const Head& h : layer.heads) cols += h.Wo.cols();
  Matrix Wo(layer.d, cols);
  cols = 0;
  for (std::size_t h = 0; h < layer.heads.size(); ++h) {
    const Head& hd = layer.heads[h];
    const std::string which = " of head " + std::to_string(h);
    if (!product_norm_below(append_bias(hd.Wq, hd.bq, aug), append_bias(hd.Wk, hd.bk, aug), hd.logit_divisor, k.a[h]))
      throw Invalid("‖A_h‖ <= a = " + dec(k.a[h]) + which + " not proved");
    if (stack) {
      if (!single_norm_below(hd.Wv, k.w[h])) throw Invalid("‖W_V^h‖ <= w = " + dec(k.w[h]) + which + " not proved");
    } else if (!product_norm_below(Matrix(hd.Wo.transpose()), hd.Wv, 1, k.v[h])) {
      throw Invalid("‖W_O^h W_V^h‖ <= v = " + dec(k.v[h]) + which + " not proved");
    }
    Wo.middleCols(cols, hd.Wo.cols()) = hd.Wo;
    cols += hd.Wo.cols();
  }
  if (stack && !single_norm_below(Wo, k.wo)) throw Invalid("‖W_O‖ <= wo = " + dec(k.wo) + " not proved");

  // (2), (3) the value at the constants.
  const MpInterval val = statement_value(id, k);
  if (!certainly_at_most(val, U))
    throw Invalid("upper claim " + dec(U) + " is below the statement " + id + " re-evaluated: " + dec_upper(val, 17));
  return "statement " + id + " re-evaluated at the proved norm constants (" + std::to_string(layer.n_heads()) +
         " heads, MPFI): " + dec_upper(val, 12) + " <= claim " + dec(U);
}

}  // namespace attnbound::check
