// prove_box_upper: sup_{X ∈ box} ‖J(X)‖ <= U (or sup over box ∩ B_R^n), re-derived in MPFI
// (docs/certificate.md, "Upper evidence"). The bounds, tried in order (each one valid alone):
//
//  plain       the Jacobian enclosure J(B) over the box; sup ‖J‖ < U by norm_below_mp (n·d <= 128:
//              MPFI Gram + interval Cholesky at U itself, midpoint-radius split for wide boxes), or
//              linalg's verified norm of the double-interval assembly (larger n·d).
//  mean value  (n·d <= kMeanValueLimit) J(B) ∩ [J(c) + Σ_k ∂J/∂x_k(B)·[−r_k, r_k]], with ∂J/∂x_k
//              from the checker's assembly on Dual<MpInterval>: no dependency blow-up on wide boxes.
//  centred     the second-order form of the engine's box tier (src/bound/box.cpp), re-derived:
//              for a direction v̂ and the quantities over the box
//                a  >= ‖J v̂‖²/‖v̂‖²         (mean-value form around the centre c: a(c) + ∇a(B)·(X − c),
//                                           ∇a through a Dual<MpInterval> VJP; over box ∩ ball the
//                                           linear term per token is also <= R‖g‖ − g·c)
//                β² >= ‖P⊥ JᵀJ v̂‖²/‖v̂‖²
//                λ₂ >= ‖J P⊥‖²,  P⊥ = I − v̂v̂ᵀ/‖v̂‖²
//              every unit x = α v̂/‖v̂‖ + y (y ⊥ v̂, ‖y‖ = s) has ‖Jx‖² <= α²a + 2|α|sβ + s²λ₂, the
//              top eigenvalue of [[a, β], [β, λ₂]]. That is <= T = U² iff a <= T and
//              (T − a)(T − λ₂) >= β², i.e. λ₂ <= T − β²/(T − a). The checker computes that
//              threshold λ* from the claim and proves ‖J P⊥‖² < λ* directly.
//  vertex      (mean-value parts available, only when the centred form fails) the engine's vertex
//              form: J(X) ∈ Σ_{k∈S} δ_k D_k + W with the affine part kept exact; every vertex
//              matrix W ± r_k D_k (k ∈ S) must have ‖·‖ < U (vertex_form_below).
// J v̂ and JᵀJ v̂ over the box are each the intersection of the matrix-free JVP/VJP enclosure with
// the product by J(B) (both valid). Over box ∩ ball the box is first contracted to the ball.
#include <algorithm>
#include <cmath>
#include <functional>
#include <optional>
#include <vector>

#include "internal.hpp"
#include "linalg/linalg.hpp"

namespace attnbound::check {

namespace {

/// n·d up to which the mean-value Jacobian is formed (one Dual<MpInterval> Jacobian per input
/// coordinate). At least the engine's limit, so the checker is never the weaker of the two.
constexpr long kMeanValueLimit = 48;

MpMatrix as_mp(const Matrix& M) {
  MpMatrix R(M.rows(), M.cols());
  for (Eigen::Index k = 0; k < M.size(); ++k) R.data()[k] = MpInterval(M.data()[k]);
  return R;
}

/// The engine's centre rule (any point of the box would do; this one reproduces its bound).
Matrix centre(const CBox& b) {
  Matrix c(b.n(), b.d());
  RoundingGuard nearest(Rounding::nearest);
  for (long i = 0; i < b.n(); ++i)
    for (long a = 0; a < b.d(); ++a) {
      volatile double w = b.hi(i, a) - b.lo(i, a);
      const double m = b.lo(i, a) + w / 2;
      c(i, a) = std::clamp(m, b.lo(i, a), b.hi(i, a));
    }
  return c;
}

/// The upper endpoint of |x| as an exact point.
MpInterval mag(const MpInterval& x) { return abs(x).upper_point(); }

MpInterval sum_squares(const MpMatrix& M) {
  MpInterval s(0);
  for (Eigen::Index k = 0; k < M.size(); ++k) s += square(M.data()[k]);
  return s;
}

/// Entrywise intersection of two enclosures of the same quantity (so never empty).
void intersect_into(MpMatrix& A, const MpMatrix& B) {
  for (Eigen::Index k = 0; k < A.size(); ++k) {
    mpfi_intersect(A.data()[k].raw(), A.data()[k].raw(), B.data()[k].raw());
    if (A.data()[k].is_empty()) throw Invalid("internal error: two enclosures of the same Jacobian entry are disjoint");
  }
}

/// sqrt of the top eigenvalue of [[A, √Bt], [√Bt, L]] (for messages; upper end).
double centred_value(const MpInterval& A, const MpInterval& Bt, const MpInterval& L) {
  const MpInterval half(0.5);
  const MpInterval v = (A + L) * half + sqrt(square((A - L) * half) + Bt);
  return sqrt(v.upper_point()).upper_up();
}

/// Midpoint-radius form of [−nlo, hi]. Precondition: upward rounding.
MidRad to_midrad(const Matrix& hi, const Matrix& nlo) {
  MidRad r;
  r.mid = (hi - nlo) * 0.5;
  r.rad = (hi - r.mid).cwiseMax(r.mid + nlo);
  return r;
}

/// M·v for an MPFI matrix and an exact vector.
MpVector times_vector(const MpMatrix& M, const Vector& v) {
  MpVector y(M.rows());
  MpInterval tmp;
  for (Eigen::Index r = 0; r < M.rows(); ++r) {
    y(r) = MpInterval(0);
    for (Eigen::Index k = 0; k < M.cols(); ++k) {
      if (v(k) == 0.0) continue;
      mpfi_mul_d(tmp.raw(), M(r, k).raw(), v(k));
      mpfi_add(y(r).raw(), y(r).raw(), tmp.raw());
    }
  }
  return y;
}

/// Mᵀ·h for MPFI M and h.
MpVector transpose_times(const MpMatrix& M, const MpVector& h) {
  MpVector y(M.cols());
  MpInterval tmp;
  for (Eigen::Index k = 0; k < M.cols(); ++k) {
    y(k) = MpInterval(0);
    for (Eigen::Index r = 0; r < M.rows(); ++r) {
      mpfi_mul(tmp.raw(), M(r, k).raw(), h(r).raw());
      mpfi_add(y(k).raw(), y(k).raw(), tmp.raw());
    }
  }
  return y;
}

/// (M·v) for a midpoint-radius M and an exact v, as MPFI hulls of directed bounds.
MpVector times_vector(const MidRad& M, const Vector& v) {
  Vector up, nup, rad;
  {
    UpwardScope upward;
    const Vector neg_v = -v;
    up.noalias() = M.mid * v;
    nup.noalias() = M.mid * neg_v;
    rad.noalias() = M.rad * v.cwiseAbs();
    up += rad;
    nup += rad;
  }
  MpVector y(up.size());
  for (Eigen::Index i = 0; i < up.size(); ++i) y(i) = MpInterval::hull(-nup(i), up(i));
  return y;
}

/// (Mᵀ·h) for a midpoint-radius M and an MPFI vector h:
///   h ⊆ hm ± hr  ⇒  Mᵀh ⊆ midᵀhm ± (|mid|ᵀ hr + radᵀ(|hm| + hr)).
MpVector transpose_times(const MidRad& M, const MpVector& h) {
  const Eigen::Index N = h.size();
  Vector hm(N), hr(N), up, nup, r1, r2;
  {
    UpwardScope upward;
    for (Eigen::Index i = 0; i < N; ++i) {
      const double lo = h(i).lower_down(), hi = h(i).upper_up();
      hm(i) = (hi - lo) * 0.5 + lo;  // any point; hr is proved from it
      hr(i) = std::max(hi - hm(i), hm(i) - lo);
    }
    const Vector neg_hm = -hm;
    up.noalias() = M.mid.transpose() * hm;
    nup.noalias() = M.mid.transpose() * neg_hm;
    r1.noalias() = M.mid.cwiseAbs().transpose() * hr;
    r2.noalias() = M.rad.transpose() * (hm.cwiseAbs() + hr);
    up += r1 + r2;
    nup += r1 + r2;
  }
  MpVector y(M.mid.cols());
  for (Eigen::Index i = 0; i < y.size(); ++i) y(i) = MpInterval::hull(-nup(i), up(i));
  return y;
}

void intersect_into(MpMatrix& A, const MpVector& flat) {
  const long d = A.cols();
  MpMatrix B(A.rows(), A.cols());
  for (Eigen::Index k = 0; k < flat.size(); ++k) B(k / d, k % d) = flat(k);
  intersect_into(A, B);
}

/// The mean-value pieces over the box: J(X) = J(c) + Σ_k δ_k G_k, |δ_k| <= r_k, G_k ∈ dJ[k].
struct MeanValueParts {
  MpMatrix Jc;
  std::vector<MpMatrix> dJ;  // ∂J/∂x_k over the box, for the coordinates with r_k > 0
  std::vector<MpInterval> r;
};

MeanValueParts mean_value_parts(const AttentionLayer& layer, const CBox& box, const Matrix& c) {
  const long n = box.n(), d = box.d();
  const MpMatrix B = enclosure(box);
  MeanValueParts p;
  p.Jc = assemble_jacobian_mp(layer, jacobian_parts(layer, forward<MpInterval>(layer, as_mp(c))));
  for (long i = 0; i < n; ++i)
    for (long a = 0; a < d; ++a) {
      const MpInterval r = hull(MpInterval(c(i, a)) - MpInterval(box.lo(i, a)),
                                MpInterval(box.hi(i, a)) - MpInterval(c(i, a))).upper_point();
      if (!certainly_positive(r)) continue;  // r = 0: the coordinate is fixed
      Mat<Dual<MpInterval>> XD(n, d);
      for (long t = 0; t < n; ++t)
        for (long b = 0; b < d; ++b) XD(t, b) = Dual<MpInterval>(B(t, b), MpInterval(t == i && b == a ? 1 : 0));
      const auto JD = assemble_jacobian_mp(layer, jacobian_parts(layer, forward<Dual<MpInterval>>(layer, XD)));
      MpMatrix G(JD.rows(), JD.cols());
      for (Eigen::Index k = 0; k < G.size(); ++k) G.data()[k] = JD.data()[k].d;
      p.dJ.push_back(std::move(G));
      p.r.push_back(r);
    }
  return p;
}

/// J(c) + Σ_k ∂J/∂x_k(B)·[−r_k, r_k] in MPFI (the mean-value form of the Jacobian over the box).
MpMatrix mean_value_jacobian(const MeanValueParts& p) {
  MpMatrix J = p.Jc;
  for (std::size_t k = 0; k < p.dJ.size(); ++k) {
    const MpInterval span = hull(-p.r[k], p.r[k]);
    for (Eigen::Index e = 0; e < J.size(); ++e) J.data()[e] += p.dJ[k].data()[e] * span;
  }
  return J;
}

/// The vertex form (src/bound/box.cpp, vertex_bound), re-derived in MPFI: with D_k a point of
/// dJ[k] and E_k = |dJ[k] − D_k|, for the m <= 8 coordinates S of largest r_k‖D_k‖_F,
///   J(X) ∈ Σ_{k∈S} δ_k D_k + W,  W = J(c) + Σ_{k∉S} dJ[k]·[−r_k, r_k] + Σ_{k∈S} [−r_k E_k, r_k E_k],
/// and the affine part is a convex combination of its vertex values, so ‖J(X)‖ < U for all X in
/// the box once every vertex matrix W + Σ_{k∈S} ±r_k D_k has ‖·‖ < U (linalg's verified norm of
/// its double-interval enclosure). Returns false at the first vertex not proved.
bool vertex_form_below(const MeanValueParts& p, const MpInterval& U) {
  const std::size_t K = p.dJ.size();
  if (K == 0) return norm_below_mp(p.Jc, U);
  std::vector<Matrix> D(K);
  std::vector<std::pair<double, std::size_t>> weight(K);
  for (std::size_t k = 0; k < K; ++k) {
    D[k].resize(p.dJ[k].rows(), p.dJ[k].cols());
    for (Eigen::Index e = 0; e < D[k].size(); ++e) D[k](e) = p.dJ[k].data()[e].mid_approx();
    weight[k] = {p.r[k].mid_approx() * D[k].norm(), k};
  }
  std::sort(weight.begin(), weight.end(), std::greater<>());
  const std::size_t m = std::min<std::size_t>(K, 8);
  MpMatrix W = p.Jc;
  std::vector<MpMatrix> step(m);
  for (std::size_t j = 0; j < K; ++j) {
    const std::size_t k = weight[j].second;
    const MpInterval span = hull(-p.r[k], p.r[k]);
    if (j < m) {
      step[j].resize(W.rows(), W.cols());
      for (Eigen::Index e = 0; e < W.size(); ++e) {
        const MpInterval Dk(D[k](e));
        W.data()[e] += span * mag(p.dJ[k].data()[e] - Dk);
        step[j].data()[e] = p.r[k] * Dk;
      }
    } else {
      for (Eigen::Index e = 0; e < W.size(); ++e) W.data()[e] += p.dJ[k].data()[e] * span;
    }
  }
  // The 2^m vertex matrices in outward-rounded double intervals (exact enclosures of the MPFI
  // ones), each bounded by linalg's verified norm: MPFI Gram + Cholesky per vertex made this form
  // dominate the check time.
  UpwardScope up;
  const auto to_double = [](const MpMatrix& A) {
    IMatrix B(A.rows(), A.cols());
    for (Eigen::Index e = 0; e < A.size(); ++e) B(e) = A.data()[e].to_interval();
    return B;
  };
  const IMatrix Wd = to_double(W);
  std::vector<IMatrix> stepd(m);
  for (std::size_t j = 0; j < m; ++j) stepd[j] = to_double(step[j]);
  const double u = U.lower_down();
  // sup over vertex s of ‖M_s‖ <= ‖mid_s‖ + ‖rad_s‖ <= max_s ‖mid_s‖ + ‖max_s rad_s‖ (the norm is
  // monotone on non-negative matrices); the midpoints go to linalg's family proof together.
  std::vector<Matrix> mids(1ul << m);
  Matrix radmax = Matrix::Zero(Wd.rows(), Wd.cols());
  for (unsigned long s = 0; s < (1ul << m); ++s) {
    IMatrix M = Wd;
    for (std::size_t j = 0; j < m; ++j) {
      if (s >> j & 1ul) M += stepd[j];
      else M -= stepd[j];
    }
    MidRad mr = attnbound::to_midrad(M);
    mids[s] = std::move(mr.mid);
    radmax = radmax.cwiseMax(mr.rad);
  }
  const double top = norm2_upper_max(mids, u).value();
  return top + norm2_upper_nonneg(radmax).value() < u;
}

}  // namespace

CBox contract_to_ball(const CBox& b, double R) {
  CBox out = b;
  const MpInterval R2 = square(MpInterval(R));
  for (long i = 0; i < b.n(); ++i) {
    // m2[a] <= min over the row box of x_a² (exact points).
    std::vector<MpInterval> m2;
    for (long a = 0; a < b.d(); ++a) {
      const double lo = b.lo(i, a), hi = b.hi(i, a);
      const double m = lo > 0 ? lo : (hi < 0 ? -hi : 0.0);
      m2.push_back(square(MpInterval(m)).lower_point());
    }
    for (long a = 0; a < b.d(); ++a) {
      MpInterval others(0);
      for (long e = 0; e < b.d(); ++e)
        if (e != a) others += m2[static_cast<std::size_t>(e)];
      const MpInterval room = (R2 - others.lower_point()).upper_point();
      // room < 0 only when the row misses the ball. room = 0 (the row's box touches the sphere)
      // still contracts: x_a² <= 0 forces x_a = 0, as in the engine's rule (region/ball.cpp).
      if (!(room.upper_up() >= 0)) continue;
      const double lim = sqrt(room).upper_up();  // |x_a| <= lim on box ∩ ball
      if (out.hi(i, a) > lim) out.hi(i, a) = lim;
      if (out.lo(i, a) < -lim) out.lo(i, a) = -lim;
      if (out.lo(i, a) > out.hi(i, a)) out.lo(i, a) = out.hi(i, a);
    }
  }
  return out;
}

std::string prove_box_upper(const AttentionLayer& layer, const CBox& box_in, const Matrix& hint_in,
                            const std::string& tier, double U, JacobianCache* cache, const double* ball_R) {
  const long n = box_in.n(), d = box_in.d(), N = n * d;
  if (N > kDenseLimit)
    throw Invalid("the dense check needs n·d <= " + std::to_string(kDenseLimit) + " (got " + std::to_string(N) + ")");
  if (!(U >= 0)) throw Invalid("claim.upper " + dec(U) + " is negative");
  // Over box ∩ ball, the box contracted to the ball contains the intersection.
  if (ball_R && certainly_outside_ball(box_in, *ball_R)) return "the leaf misses the ball";
  const CBox box = ball_R ? contract_to_ball(box_in, *ball_R) : box_in;
  const bool mp = N <= kMpDenseLimit;
  const MpInterval T = square(MpInterval(U));  // U² exactly (106 bits <= precision)

  const MpMatrix B = enclosure(box);
  // Small: the shared forward template in MPFI. Large: fast linear maps, MPFI softmax.
  const ForwardState<MpInterval> sB = mp ? forward<MpInterval>(layer, B) : forward_fast(layer, box);
  MpMatrix Jmp;
  MidRad Jfast;
  double plain = INFINITY;  // the checker's own plain bound, for messages (filled on failure)
  if (mp) {
    Jmp = assemble_jacobian_mp(layer, jacobian_parts(layer, sB));
    if (norm_below_mp(Jmp, MpInterval(U)))
      return "plain interval Jacobian over the box, ‖J‖ < U by MPFI Gram + interval Cholesky";
  } else {
    Jfast = cache && box.is_point() ? cache->at(box.lo) : assemble_jacobian_fast(layer, sB);
    plain = norm2_upper(Jfast).value();
    if (plain <= U)
      return "plain interval Jacobian (MPFI softmax, double-interval assembly), ‖J‖ <= " + dec(plain) +
             " by linalg's verified norm";
  }
  if (tier == "dense" || box.is_point()) {
    if (mp) plain = norm2_upper(Jmp).value();
    throw Invalid("‖J‖ <= " + dec(U) + " not proved: the checker's bound is " + dec(plain));
  }
  const Matrix c = centre(box);
  std::optional<MeanValueParts> parts;
  if (mp && N <= kMeanValueLimit) {
    parts = mean_value_parts(layer, box, c);
    intersect_into(Jmp, mean_value_jacobian(*parts));
    if (norm_below_mp(Jmp, MpInterval(U)))
      return "Jacobian over the box ∩ its mean-value form, ‖J‖ < U by MPFI Gram + interval Cholesky";
  }
  // Then the vertex form: the engine's search closes its leaves with the plain or the vertex form
  // (docs/bab.md §2), so it comes before the costlier centred form, which single boxes still use.
  const std::string vertex_note =
      "vertex form of the mean-value Jacobian (MPFI parts), every vertex matrix ‖·‖ < U by linalg's verified norm";
  if (parts && vertex_form_below(*parts, MpInterval(U))) return vertex_note;
  auto fail = [&](const std::string& why) -> std::string {
    if (parts) throw Invalid(why + " (the vertex form failed too)");
    throw Invalid(why);
  };

  // ---- centred second-order form --------------------------------------------------------------
  Matrix v = hint_in;
  if (v.rows() != n || v.cols() != d || !(v.norm() > 0)) v = approx::jacobian_norm(layer, c, 200, 1e-12).right;
  if (!(v.norm() > 0) || !v.allFinite())
    return fail("‖J‖ <= " + dec(U) + " not proved by the plain bound, and no direction for the centred form");
  const MpMatrix vI = as_mp(v);
  const Vector vflat = flatten<double>(v);
  const MpInterval nv2 = sum_squares(vI);

  const MpMatrix hc =
      jvp<MpInterval>(layer, mp ? forward<MpInterval>(layer, as_mp(c)) : forward_fast(layer, CBox{c, c}), vI);
  MpMatrix hB = jvp<MpInterval>(layer, sB, vI);  // J(X) v̂ over the box
  intersect_into(hB, mp ? times_vector(Jmp, vflat) : times_vector(Jfast, vflat));
  Mat<Dual<MpInterval>> XD(n, d), WD(n, d);
  for (long i = 0; i < n; ++i)
    for (long a = 0; a < d; ++a) {
      XD(i, a) = Dual<MpInterval>(B(i, a), vI(i, a));
      WD(i, a) = Dual<MpInterval>(hB(i, a));
    }
  const Mat<Dual<MpInterval>> gD = vjp<Dual<MpInterval>>(layer, forward<Dual<MpInterval>>(layer, XD), WD);
  // a(X) = ‖J(X)v̂‖² ∈ a(c) + ∇a(ξ)·(X − c), ∇a = 2 gD.d, |X − c| <= r entrywise; per token the
  // linear term is <= Σ_a |g_a| r_a, and inside the ball also <= R‖g‖ − g·c (max over B_R).
  MpInterval a_up = sum_squares(hc).upper_point();
  for (long i = 0; i < n; ++i) {
    MpInterval box_lin(0), g2(0), gc(0);
    for (long a = 0; a < d; ++a) {
      const MpInterval r = hull(MpInterval(c(i, a)) - MpInterval(box.lo(i, a)),
                                MpInterval(box.hi(i, a)) - MpInterval(c(i, a))).upper_point();
      const MpInterval g = MpInterval(2) * gD(i, a).d;
      box_lin += mag(g) * r;
      g2 += square(g);
      gc += g * MpInterval(c(i, a));
    }
    MpInterval lin = box_lin.upper_point();
    if (ball_R) {
      const MpInterval ball_lin = (MpInterval(*ball_R) * sqrt(g2.upper_point()) - gc).upper_point();
      if (certainly_less(ball_lin, lin)) lin = ball_lin;
    }
    a_up += lin;
  }
  const MpInterval A = (a_up.upper_point() / nv2).upper_point();
  // β²: P⊥ Jᵀ J v̂ over the box.
  MpMatrix JtJv = vjp<MpInterval>(layer, sB, hB);
  const Vec<MpInterval> hflat = flatten<MpInterval>(hB);
  intersect_into(JtJv, mp ? transpose_times(Jmp, MpVector(hflat)) : transpose_times(Jfast, MpVector(hflat)));
  MpInterval vr(0);
  for (Eigen::Index k = 0; k < vI.size(); ++k) vr += vI.data()[k] * JtJv.data()[k];
  const MpInterval coef = vr / nv2;
  MpInterval beta2(0);
  for (Eigen::Index k = 0; k < vI.size(); ++k) beta2 += square(mag(JtJv.data()[k] - coef * vI.data()[k]));
  const MpInterval Bt = (beta2.upper_point() / nv2).upper_point();

  if (!certainly_less(A, T))
    return fail("‖J‖ <= " + dec(U) + " not proved: plain bound fails and the centred form has a = ‖Jv̂‖²/‖v̂‖² up to " +
                  dec_upper(A, 12) + " >= U² (direction too far from the top singular vector?)");
  const MpInterval gap = (T - A).lower_point();
  const MpInterval lambda_star = (T - (Bt / gap).upper_point()).lower_point();
  // λ₂: J P⊥ = J − (J v̂) v̂ᵀ/‖v̂‖² over the box.
  if (mp) {
    MpMatrix M2 = Jmp;
    for (long r = 0; r < N; ++r) {
      const MpInterval w = hflat(r) / nv2;
      for (long k = 0; k < N; ++k) M2(r, k) -= w * MpInterval(vflat(k));
    }
    if (certainly_positive(lambda_star) && norm_below_mp(M2, sqrt(lambda_star).lower_point()))
      return "centred second-order form (MPFI, Dual<MpInterval> gradient), ‖J P⊥‖² < λ* = U² − β²/(U² − a)";
    const double l2 = norm2_upper(M2).value();
    const MpInterval L = square(MpInterval(l2)).upper_point();
    return fail("‖J‖ <= " + dec(U) + " not proved: the checker's bounds are " +
                          dec(norm2_upper(Jmp).value()) + " (plain) and " + dec(centred_value(A, Bt, L)) +
                          " (centred)");
  }
  // Large: the same in double intervals with linalg's norm for λ₂.
  MidRad M2;
  {
    UpwardScope up;
    Matrix hi(N, N), nlo(N, N);
    const Matrix Jhi = Jfast.mid + Jfast.rad, Jnlo = Jfast.rad - Jfast.mid;
    for (long r = 0; r < N; ++r) {
      const MpInterval w = hflat(r) / nv2;
      const double wu = w.upper_up(), wnl = -w.lower_down();
      for (long k = 0; k < N; ++k) {
        const double vk = vflat(k);
        // (w v_k) upper and −(w v_k) upper, from the endpoints of w.
        const double o_hi = std::max(wu * vk, (-wnl) * vk);
        const double o_nlo = std::max((-wu) * vk, wnl * vk);
        hi(r, k) = Jhi(r, k) + o_nlo;
        nlo(r, k) = Jnlo(r, k) + o_hi;
      }
    }
    M2 = to_midrad(hi, nlo);
  }
  const double s2 = norm2_upper(M2).value();
  const MpInterval L = square(MpInterval(s2)).upper_point();
  if (certainly_le(L, lambda_star))
    return "centred second-order form (MPFI parts, Dual<MpInterval> gradient; ‖J P⊥‖ <= " + dec(s2) +
           " by linalg's verified norm)";
  return fail("‖J‖ <= " + dec(U) + " not proved: the checker's bounds are " + dec(plain) +
                        " (plain) and " + dec(centred_value(A, Bt, L)) + " (centred)");
}

}  // namespace attnbound::check
