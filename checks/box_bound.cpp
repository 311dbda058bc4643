// prove_box_upper: sup_{X ∈ box} ‖J(X)‖ <= U, re-derived in MPFI (docs/certificate.md, "Upper
// evidence"). Two bounds, tried in order:
//
//  plain    the Jacobian enclosure over the box; U²·I − JᵀJ ≻ 0 by gram_below_mp (n·d <= 128), or
//           linalg's verified norm of the double-interval assembly (larger n·d).
//  centred  the second-order form of the engine's box tier (src/bound/box.cpp), re-derived here:
//           for a direction v̂ and the quantities over the box
//             a  >= ‖J v̂‖²/‖v̂‖²            (mean-value form around the centre c: a(c) + ∇a(B)·(X − c),
//                                            ∇a through a Dual<MpInterval> VJP)
//             β² >= ‖P⊥ JᵀJ v̂‖²/‖v̂‖²
//             λ₂ >= ‖J P⊥‖²,  P⊥ = I − v̂v̂ᵀ/‖v̂‖²
//           every unit x = α v̂/‖v̂‖ + y (y ⊥ v̂, ‖y‖ = s) has ‖Jx‖² <= α²a + 2|α|sβ + s²λ₂, the top
//           eigenvalue of [[a, β], [β, λ₂]]. That is <= T = U² iff a <= T and
//           (T − a)(T − λ₂) >= β², i.e. λ₂ <= T − β²/(T − a). The checker computes that threshold
//           λ* from the claim and proves ‖J P⊥‖² < λ* directly (no norm estimate needed).
#include <algorithm>
#include <cmath>

#include "internal.hpp"
#include "linalg/linalg.hpp"

namespace attnbound::check {

namespace {

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

}  // namespace

std::string prove_box_upper(const AttentionLayer& layer, const CBox& box, const Matrix& hint_in,
                            const std::string& tier, double U, JacobianCache* cache) {
  const long n = box.n(), d = box.d(), N = n * d;
  if (N > kDenseLimit)
    throw Invalid("the dense check needs n·d <= " + std::to_string(kDenseLimit) + " (got " + std::to_string(N) + ")");
  if (!(U >= 0)) throw Invalid("claim.upper " + dec(U) + " is negative");
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
    if (gram_below_mp(Jmp, T))
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

  // ---- centred second-order form --------------------------------------------------------------
  const Matrix c = centre(box);
  Matrix v = hint_in;
  if (v.rows() != n || v.cols() != d || !(v.norm() > 0)) v = approx::jacobian_norm(layer, c, 200, 1e-12).right;
  if (!(v.norm() > 0) || !v.allFinite()) throw Invalid("‖J‖ <= " + dec(U) + " not proved by the plain bound, and no direction for the centred form");
  const MpMatrix vI = as_mp(v);
  const MpInterval nv2 = sum_squares(vI);

  const MpMatrix hc =
      jvp<MpInterval>(layer, mp ? forward<MpInterval>(layer, as_mp(c)) : forward_fast(layer, CBox{c, c}), vI);
  const MpMatrix hB = jvp<MpInterval>(layer, sB, vI);
  Mat<Dual<MpInterval>> XD(n, d), WD(n, d);
  for (long i = 0; i < n; ++i)
    for (long a = 0; a < d; ++a) {
      XD(i, a) = Dual<MpInterval>(B(i, a), vI(i, a));
      WD(i, a) = Dual<MpInterval>(hB(i, a));
    }
  const Mat<Dual<MpInterval>> gD = vjp<Dual<MpInterval>>(layer, forward<Dual<MpInterval>>(layer, XD), WD);
  // a(X) = ‖J(X)v̂‖² ∈ a(c) + ∇a(B)·(X − c), ∇a = 2 gD.d, |X − c| <= r entrywise.
  MpInterval a_up = sum_squares(hc).upper_point();
  for (long i = 0; i < n; ++i)
    for (long a = 0; a < d; ++a) {
      const MpInterval r = hull(MpInterval(c(i, a)) - MpInterval(box.lo(i, a)),
                                MpInterval(box.hi(i, a)) - MpInterval(c(i, a))).upper_point();
      a_up += MpInterval(2) * mag(gD(i, a).d) * r;
    }
  const MpInterval A = (a_up.upper_point() / nv2).upper_point();
  // β²: P⊥ Jᵀ J v̂ over the box.
  const MpMatrix JtJv = vjp<MpInterval>(layer, sB, hB);
  MpInterval vr(0);
  for (Eigen::Index k = 0; k < vI.size(); ++k) vr += vI.data()[k] * JtJv.data()[k];
  const MpInterval coef = vr / nv2;
  MpInterval beta2(0);
  for (Eigen::Index k = 0; k < vI.size(); ++k) beta2 += square(mag(JtJv.data()[k] - coef * vI.data()[k]));
  const MpInterval Bt = (beta2.upper_point() / nv2).upper_point();

  if (!certainly_less(A, T))
    throw Invalid("‖J‖ <= " + dec(U) + " not proved: plain bound fails and the centred form has a = ‖Jv̂‖²/‖v̂‖² up to " +
                  dec_upper(A, 12) + " >= U² (direction too far from the top singular vector?)");
  const MpInterval gap = (T - A).lower_point();
  const MpInterval lambda_star = (T - (Bt / gap).upper_point()).lower_point();
  // λ₂: J P⊥ = J − (J v̂) v̂ᵀ/‖v̂‖² over the box.
  const Vec<MpInterval> hflat = flatten<MpInterval>(hB);
  if (mp) {
    MpMatrix M2 = Jmp;
    for (long r = 0; r < N; ++r) {
      const MpInterval w = hflat(r) / nv2;
      for (long k = 0; k < N; ++k) M2(r, k) -= w * MpInterval(v(k / d, k % d));
    }
    if (certainly_positive(lambda_star) && gram_below_mp(M2, lambda_star))
      return "centred second-order form (MPFI, Dual<MpInterval> gradient), ‖J P⊥‖² < λ* = U² − β²/(U² − a)";
    const double l2 = norm2_upper(M2).value();
    const MpInterval L = square(MpInterval(l2)).upper_point();
    throw Invalid("‖J‖ <= " + dec(U) + " not proved: the checker's bounds are " + dec(norm2_upper(Jmp).value()) +
                  " (plain) and " + dec(centred_value(A, Bt, L)) + " (centred)");
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
        const double vk = v(k / d, k % d);
        // −(w v_k) upper and (w v_k) upper, from the endpoints of w.
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
  throw Invalid("‖J‖ <= " + dec(U) + " not proved: the checker's bounds are " + dec(plain) + " (plain) and " +
                dec(centred_value(A, Bt, L)) + " (centred)");
}

}  // namespace attnbound::check
