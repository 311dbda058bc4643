// The analytic tier over B_R^n (docs/ball.md): verified per-head norms, the statement values,
// their minimum.
//
// Norms. A statement value S(a, v, w, ‖W_O‖, R², n) is increasing in every argument, so the upper
// ends of enclosures suffice for an upper bound; the two-sided enclosures are kept because
// `attnbound theorems` (proofs/) also compares statements with certified lower bounds. Why tight:
// MF-type values carry e^{2aR²}, which turns a relative width δ of ‖A_h‖ into 2aR²·δ. The generic
// d × d route would leave them ~1e-7-accurate at GPT-2 width, so heads with d_k < d go through the
// d_k × d_k problem:
//   ‖PᵀQ‖² = λmax(QᵀPPᵀQ) = λmax(G_P G_Q) = ‖L_Qᵀ L_P‖²,  G_P = PPᵀ = L_P L_Pᵀ, G_Q = QQᵀ = L_Q L_Qᵀ,
// with P = W̃_Q, Q = W̃_K for A_h (then / √divisor) and P = W_Oᵀ, Q = W_V for V_h. G_P, G_Q are
// enclosed by directed-rounding GEMMs, L_Q by an interval Cholesky (which encloses the factor of
// every symmetric member; it fails, and the generic route is used, if a pivot is not certainly
// positive).
#include "bound/analytic.hpp"

#include <Eigen/Eigenvalues>
#include <chrono>
#include <cmath>
#include <stdexcept>

#include "attention/paper_form.hpp"
#include "linalg/linalg.hpp"

namespace attnbound {

namespace {

Matrix mid_of(const IMatrix& M) {
  Matrix R(M.rows(), M.cols());
  for (Eigen::Index i = 0; i < M.rows(); ++i)
    for (Eigen::Index j = 0; j < M.cols(); ++j) R(i, j) = 0.5 * M(i, j).lower() + 0.5 * M(i, j).upper();
  return R;
}

// [norm2_lower at the float top right singular vector of mid(M), norm2_upper(M)].
MpInterval norm_enclosure(const IMatrix& M) {
  const UpperBound hi = norm2_upper(M);
  double lo = 0.0;
  Matrix mid;
  {
    RoundingGuard nearest(Rounding::nearest);
    mid = mid_of(M);
  }
  if (mid.size() > 0 && mid.cwiseAbs().maxCoeff() > 0) {
    const auto top = attnbound::approx::top_singular(mid);
    if (top.v.size() == M.cols() && top.v.norm() > 0) lo = norm2_lower(M, top.v).value();
  }
  if (!(lo >= 0)) lo = 0.0;
  return MpInterval::hull(lo, std::max(lo, hi.value()));
}

// Interval Cholesky of the symmetric matrix whose lower triangle is enclosed by G; it encloses the
// factor of every symmetric member. nullopt if a pivot is not certainly positive. UpwardScope.
std::optional<IMatrix> interval_cholesky(const IMatrix& G) {
  const long k = G.rows();
  IMatrix L = IMatrix::Constant(k, k, point(0.0));
  for (long j = 0; j < k; ++j) {
    Interval diag = G(j, j);
    for (long t = 0; t < j; ++t) diag -= square(L(j, t));
    if (!certainly_positive(diag)) return std::nullopt;
    L(j, j) = sqrt(diag);
    for (long i = j + 1; i < k; ++i) {
      Interval x = G(i, j);
      for (long t = 0; t < j; ++t) x -= L(i, t) * L(j, t);
      L(i, j) = x / L(j, j);
    }
  }
  return L;
}

// Enclosure of ‖PᵀQ‖ through the k × k problem (P, Q: k × m, k < m), or nullopt.
//   ‖PᵀQ‖² = λmax(H),  H = L_Qᵀ G_P L_Q  (G_P = PPᵀ, G_Q = QQᵀ = L_Q L_Qᵀ; λ(G_P G_Q) = λ(H)).
// H is enclosed with midpoint H̃ (symmetric) and radius Δ; for the exact symmetric H, Weyl gives
// λmax(H) ≤ λmax(H̃) + ‖Δ‖ ≤ norm2_upper(H̃) + norm2_upper_nonneg(Δ), and any x gives
// λmax(H) ≥ xᵀHx / xᵀx (evaluated in interval arithmetic at the float top eigenvector of H̃).
// Widths stay at the rounding level of the k × k data, so ‖A_h‖ comes out ~1e-14-relative tight.
std::optional<MpInterval> lowrank_norm_impl(const Matrix& P, const Matrix& Q) {
  const long k = P.rows();
  const IMatrix GP = mul_enclose(P, Matrix(P.transpose()));
  const IMatrix GQ = mul_enclose(Q, Matrix(Q.transpose()));
  Matrix Hmid(k, k), Hrad(k, k);
  IMatrix H;
  {
    UpwardScope up;
    const auto LQ = interval_cholesky(GQ);
    if (!LQ) return std::nullopt;
    H = mul(IMatrix(LQ->transpose()), mul(GP, *LQ));
    for (long i = 0; i < k; ++i)
      for (long j = 0; j <= i; ++j) {
        // The exact H is symmetric: both enclosures contain H_ij.
        const double lo = std::max(H(i, j).lower(), H(j, i).lower()), hi = std::min(H(i, j).upper(), H(j, i).upper());
        if (!(lo <= hi)) return std::nullopt;
        H(i, j) = H(j, i) = hull(lo, hi);
      }
  }
  const MidRad mr = to_midrad(H);
  Hmid = (mr.mid + mr.mid.transpose()) / 2;  // symmetric already up to the midpoint rounding
  {
    UpwardScope up;
    Hrad = mr.rad;
    for (long i = 0; i < k; ++i)
      for (long j = 0; j < k; ++j)  // |H − Hmid| ≤ rad + |mid − Hmid|, rounded up. Not fabs(mid − Hmid):
        // a negative difference rounded up is rounded towards 0, so its |·| could understate.
        Hrad(i, j) = mr.rad(i, j) + std::max(mr.mid(i, j) - Hmid(i, j), Hmid(i, j) - mr.mid(i, j));
  }
  if (!Hmid.allFinite() || !Hrad.allFinite()) return std::nullopt;
  const double lam_hi = (norm2_upper(Hmid) + norm2_upper_nonneg(Hrad)).value();
  Vector x;
  {
    RoundingGuard nearest(Rounding::nearest);
    Eigen::SelfAdjointEigenSolver<Matrix> es(Hmid);
    x = es.eigenvectors().col(k - 1);
  }
  double lam_lo = 0.0;
  {
    UpwardScope up;
    Interval num = point(0.0), den = point(0.0);
    for (long i = 0; i < k; ++i) {
      Interval hx = point(0.0);
      for (long j = 0; j < k; ++j) hx += H(i, j) * point(x(j));
      num += point(x(i)) * hx;
      den += square(point(x(i)));
    }
    lam_lo = std::max(0.0, (num / den).lower());
  }
  if (!(lam_hi >= lam_lo) || !std::isfinite(lam_hi)) return std::nullopt;
  return sqrt(MpInterval::hull(lam_lo, lam_hi));
}


MpInterval count(long n) { return MpInterval(static_cast<double>(n)); }  // exact below 2^53

// A proved upper bound, widened by 2^-30 relative so that the checker's own (differently rounded)
// threshold test ‖M‖ < t certainly succeeds; the statement values move by ~1e-9 relative.
double record_up(const MpInterval& x, double slack = 0x1p-30) { return mul_up(x.upper_up(), 1.0 + slack); }

}  // namespace

std::optional<MpInterval> lowrank_norm_enclosure(const Matrix& P, const Matrix& Q) { return lowrank_norm_impl(P, Q); }

LayerNormEnclosure layer_norm_enclosure(const AttentionLayer& layer) {
  LayerNormEnclosure q;
  q.augmented = needs_augmentation(layer);
  std::optional<PaperFormEnclosure> pf;  // the generic route, built on first use
  auto generic = [&]() -> const PaperFormEnclosure& {
    if (!pf) {
      UpwardScope up;
      pf = paper_form_enclosure(layer, q.augmented);
    }
    return *pf;
  };
  long cols = 0;
  for (const Head& hd : layer.heads) cols += hd.Wo.cols();
  Matrix Wo(layer.d, cols);
  cols = 0;
  for (std::size_t h = 0; h < layer.heads.size(); ++h) {
    const Head& hd = layer.heads[h];
    std::optional<MpInterval> a, v;
    if (!layer.paper_form && hd.dk() < layer.d) {
      a = lowrank_norm_impl(with_bias(hd.Wq, hd.bq, q.augmented), with_bias(hd.Wk, hd.bk, q.augmented));
      if (a && hd.logit_divisor != 1) *a = *a / sqrt(MpInterval(static_cast<double>(hd.logit_divisor)));
    }
    if (!layer.paper_form && hd.Wv.rows() < layer.d) v = lowrank_norm_impl(Matrix(hd.Wo.transpose()), hd.Wv);
    const bool a_lowrank = a.has_value(), v_lowrank = v.has_value();
    if (!a) a = norm_enclosure(generic().A[h]);
    if (!v) v = norm_enclosure(generic().V[h]);
    q.heads.push_back({*a, *v, MpInterval(0), a_lowrank, v_lowrank});
    Wo.middleCols(cols, hd.Wo.cols()) = hd.Wo;
    cols += hd.Wo.cols();
  }
  // ‖[W_V^h, 0]‖ = ‖W_V^h‖ and ‖W_O‖: only the upper ends are used (U-stack). After the loop above,
  // so that ‖A_h‖, ‖V_h‖ are computed exactly as `attnbound theorems` always did.
  for (std::size_t h = 0; h < layer.heads.size(); ++h)
    q.heads[h].w = MpInterval::hull(0.0, norm2_upper(layer.heads[h].Wv).value());
  q.wo = MpInterval::hull(0.0, norm2_upper(Wo).value());
  return q;
}

const std::vector<std::string>& analytic_statement_ids() {
  static const std::vector<std::string> ids = {"U1", "U1-sharp", "U-sum", "U-stack", "MF-block", "MF-causal"};
  return ids;
}

bool analytic_applies(const std::string& id, bool causal) {
  if (id == "MF-block") return !causal;
  if (id == "MF-causal") return causal;
  return id == "U1" || id == "U1-sharp" || id == "U-sum" || id == "U-stack";
}

MpInterval u1_head_value(const MpInterval& a, const MpInterval& v, const MpInterval& R2, long n, int k) {
  const MpInterval aR2 = a * R2;
  return sqrt(MpInterval(3)) * v * sqrt(square(aR2) * (MpInterval(k) * count(n) + MpInterval(1)) + count(n));
}

MpInterval block_head_value(const MpInterval& a, const MpInterval& v, const MpInterval& R2, int m) {
  const MpInterval aR2 = a * R2;
  const MpInterval two_aR2 = MpInterval(2) * aR2;
  return v * (MpInterval(m) * exp(two_aR2) * (MpInterval(1) + two_aR2) + aR2);
}

MpInterval usum_core(const MpInterval& a, const MpInterval& R2, long n) {
  // √n + aR²(√(n/2) + 1): ‖P‖ <= √n, ‖E‖ <= aR²√(n/2), ‖D‖ <= aR² (docs/ball.md §2).
  const MpInterval rn = sqrt(count(n));
  return rn + a * R2 * (sqrt(count(n) / MpInterval(2)) + MpInterval(1));
}

MpInterval analytic_value(const std::string& id, const AnalyticConstants& c, bool drop) {
  const MpInterval R2(c.R2);
  const std::size_t H = c.a.size();
  if (c.v.size() != H || c.w.size() != H) throw std::invalid_argument("analytic_value: constants of unequal length");
  MpInterval sum(0);
  for (std::size_t h = 0; h < H; ++h) {
    const MpInterval a(c.a[h]), v(c.v[h]), w(c.w[h]);
    if (id == "U1") sum += u1_head_value(a, v, R2, c.n, 4);
    else if (id == "U1-sharp") sum += u1_head_value(a, v, R2, c.n, 1);
    else if (id == "U-sum") sum += v * usum_core(a, R2, drop ? 1 : c.n);
    else if (id == "U-stack") sum += square(w * usum_core(a, R2, drop ? 1 : c.n));
    else if (id == "MF-block") sum += block_head_value(a, v, R2, 1);
    else if (id == "MF-causal") sum += block_head_value(a, v, R2, 2);
    else throw std::invalid_argument("analytic_value: unknown statement '" + id + "'");
  }
  if (id == "U-stack") return MpInterval(c.wo) * sqrt(sum);
  return sum;
}

AnalyticBound analytic_upper(const AttentionLayer& layer, const BallProduct& ball, const AnalyticOptions& opt) {
  const auto t0 = std::chrono::steady_clock::now();
  AnalyticBound out;
  const LayerNormEnclosure q = layer_norm_enclosure(layer);
  AnalyticConstants& c = out.constants;
  c.n = ball.n;
  c.causal = layer.mask == Mask::causal;
  c.augmented = q.augmented;
  MpInterval R2 = square(MpInterval(ball.R));
  if (q.augmented) R2 += MpInterval(1);
  c.R2 = R2.upper_up();
  for (const HeadNormEnclosure& h : q.heads) {
    c.a.push_back(record_up(h.a));
    c.v.push_back(record_up(h.v));
    c.w.push_back(record_up(h.w));
  }
  // ‖W_O‖ is checked by an interval Cholesky of t²I − W_Oᵀ W_O at full width d (768 for GPT-2),
  // whose interval growth needs a wider gap than the k × k tests: 2^-16 relative.
  c.wo = record_up(q.wo, 0x1p-16);
  for (const std::string& id : analytic_statement_ids()) {
    if (!analytic_applies(id, c.causal)) continue;
    const double val = analytic_value(id, c, opt.testing_drop_sqrt_n).upper_up();
    if (!std::isfinite(val)) continue;
    out.values.push_back({id, val});
    if (val < out.upper.value()) {
      out.upper = UpperBound::proved(val);
      out.statement = id;
    }
  }
  out.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return out;
}

}  // namespace attnbound
