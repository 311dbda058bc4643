// The dense tier over a box, with a second-order (centred) enclosure.
//
// For X in the box B with centre c and any vector v̂ (the float top right singular vector at c),
// write x = α v̂/‖v̂‖ + y with y ⊥ v̂. Then for every unit x
//   ‖J x‖² <= α² a + 2 α s β + s² λ₂,   s² = 1 − α²,
// with a = ‖J v̂‖²/‖v̂‖², β = ‖P⊥ Jᵀ J v̂‖/‖v̂‖ and λ₂ = ‖J P⊥‖², P⊥ = I − v̂ v̂ᵀ/‖v̂‖². Hence
//   ‖J(X)‖² <= (a + λ₂)/2 + sqrt(((a − λ₂)/2)² + β²),
// which increases in a, β and λ₂, so their suprema over B may be used. β and λ₂ come from plain
// interval enclosures over B; a is enclosed by the mean-value form
//   a(X) ∈ a(c) + ∇a(B) · (X − c),   ∇a(X) = 2 ∇_X [wᵀ J(X) v̂]  at w = J(X) v̂,
// where the gradient is one Dual<Interval> VJP (forward-over-reverse). Since β² and the width of
// ∇a(B)·(X − c) beyond its first-order part are O(ε²), the overestimation is O(ε²) when the top
// singular value is simple; the plain bound ‖J(B)‖ (O(ε)) is also computed and the smaller kept.
// Over box ∩ B_R the first-order term of a is maximised over the ball too (ball_linear_sup),
// which keeps the form second order at a maximum on the sphere.
//
// For n·d <= 24 a third bound, the vertex form (vertex_bound below), keeps the linear part of
// J(X) − J(c) exact instead of enclosing it entrywise: it is second order even where the top
// singular value is not simple or the box is too wide for the 2 × 2 reduction (β large), which is
// where most branch-and-bound boxes live. The minimum of the three is returned. The search asks
// for the plain and vertex forms only (centred_form = false; docs/bab.md §2 has the counts).
//
// The mean-value parts ∂J/∂x_k(B) come from one IntervalJet pass (a tangent per moving
// coordinate), whose value part is also the naive enclosure of J over the box.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <functional>
#include <optional>
#include <vector>

#include "bound/bab.hpp"
#include "bound/bound.hpp"
#include "linalg/linalg.hpp"

namespace attnbound {

namespace {

constexpr long kBabLimit = 96;  // n·d beyond which boxes are not subdivided

double since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}


IMatrix point_matrix(const Matrix& X) {
  IMatrix Y(X.rows(), X.cols());
  for (Eigen::Index i = 0; i < X.rows(); ++i)
    for (Eigen::Index a = 0; a < X.cols(); ++a) Y(i, a) = point(X(i, a));
  return Y;
}

constexpr long kCentredJacobianLimit = kMaxBoxTangents;  // n·d up to which the mean-value Jacobian is formed

// Entrywise intersection of two enclosures of the same matrix (both valid, so is the result).
IMatrix intersect(const IMatrix& A, const IMatrix& B) {
  IMatrix C(A.rows(), A.cols());
  for (Eigen::Index i = 0; i < A.size(); ++i) {
    const double lo = std::max(A(i).lower(), B(i).lower()), hi = std::min(A(i).upper(), B(i).upper());
    C(i) = lo <= hi ? Interval(lo, hi, true) : A(i);  // empty only through NaN: keep A
  }
  return C;
}

// The mean-value pieces of the Jacobian over a box: J(X) = J(c) + Σ_k δ_k G_k with δ = X − c,
// |δ_k| <= r_k and every G_k (the averaged ∂J/∂x_k along the segment) inside dJ[k] = ∂J/∂x_k(B).
struct MeanValueParts {
  IMatrix Jc;                // J(c), enclosed
  IMatrix Jbox;              // J over the box, enclosed (the value part of the same pass)
  std::vector<IMatrix> dJ;   // ∂J/∂x_k over the box (one per coordinate with r_k > 0)
  std::vector<double> r;     // r_k >= |x_k − c_k| on the box
  std::vector<std::pair<long, long>> coord;  // the token and feature of each k
};

// Requires UpwardScope and n·d <= kMaxBoxTangents. sc: the forward pass at the centre c. One
// IntervalJet Jacobian over the box gives every ∂J/∂x_k at once (tangent k seeds coordinate k).
MeanValueParts mean_value_parts(const AttentionLayer& layer, const Box& box, const ForwardState<Interval>& sc) {
  const long n = box.n(), d = box.d();
  const IMatrix B = box.enclosure();
  const Matrix c = box.center();
  MeanValueParts p;
  p.Jc = jacobian<Interval>(layer, sc);
  Mat<IntervalJet> XD(n, d);
  unsigned K = 0;
  for (long i = 0; i < n; ++i)
    for (long a = 0; a < d; ++a) {
      const double r = std::max(c(i, a) - box.lo(i, a), box.hi(i, a) - c(i, a));
      if (r == 0) {
        XD(i, a) = IntervalJet(B(i, a));
        continue;
      }
      XD(i, a) = IntervalJet::seeded(B(i, a), K++, point(1.0));
      p.r.push_back(r);
      p.coord.emplace_back(i, a);
    }
  const Mat<IntervalJet> JD = jacobian<IntervalJet>(layer, forward<IntervalJet>(layer, XD));
  p.Jbox.resize(JD.rows(), JD.cols());
  p.dJ.assign(static_cast<std::size_t>(K), IMatrix(JD.rows(), JD.cols()));
  for (Eigen::Index e = 0; e < JD.size(); ++e) {
    p.Jbox(e) = JD(e).v;
    for (unsigned t = 0; t < K; ++t) p.dJ[t](e) = JD(e).tangent(t);
  }
  return p;
}

// J(c) + Σ_k dJ[k]·[−r_k, r_k]: an enclosure of J over the box. Requires UpwardScope.
IMatrix centred_jacobian(const MeanValueParts& p) {
  IMatrix J = p.Jc;
  for (std::size_t k = 0; k < p.dJ.size(); ++k) {
    const Interval span = hull(-p.r[k], p.r[k]);
    for (Eigen::Index e = 0; e < J.size(); ++e) J(e) += p.dJ[k](e) * span;
  }
  return J;
}

// The vertex form. Split each dJ[k] as D_k ± E_k (D_k a double matrix). For the m coordinates S
// with the largest r_k‖D_k‖, δ_k G_k = δ_k D_k + (something in ±r_k E_k); the others stay as
// intervals. Hence J(X) = L(δ_S) + w with L(δ_S) = Σ_{k∈S} δ_k D_k affine and w in the fixed
// interval matrix W = J(c) + Σ_{k∉S} dJ[k]·[−r_k, r_k] + Σ_{k∈S} [−r_k E_k, r_k E_k]. L(δ_S) is
// a convex combination of its values at the 2^m vertices s, so J(X) = Σ_s λ_s (L(s) + w) with
// every L(s) + w in the interval matrix M_s = W + L(s), and by convexity of the norm
//   ‖J(X)‖ <= max_s sup_{M ∈ M_s} ‖M‖ <= max_s norm2_upper(M_s).
// The linear part is kept exactly, so the excess over sup_box ‖J‖ is O(r²) (the E_k are O(r)),
// where the plain and mean-value enclosures lose O(r). Stops early (returning +inf) once a vertex
// exceeds `give_up`: the caller already has a better bound. Requires UpwardScope.
constexpr int kVertexCoordinates = 8;  // at most 2^8 = 256 verified 2^m small norms per box

double vertex_bound(const MeanValueParts& p, double give_up) {
  const std::size_t K = p.dJ.size();
  if (K == 0) return norm2_upper(p.Jc).value();
  std::vector<Matrix> D(K), E(K);
  std::vector<std::pair<double, std::size_t>> weight(K);
  for (std::size_t k = 0; k < K; ++k) {
    MidRad G = to_midrad(p.dJ[k]);  // |∂J/∂x_k(B) − D_k| <= E_k entrywise
    D[k] = std::move(G.mid);
    E[k] = std::move(G.rad);
    weight[k] = {p.r[k] * D[k].norm(), k};
  }
  std::sort(weight.begin(), weight.end(), std::greater<>());
  const std::size_t m = std::min<std::size_t>(K, kVertexCoordinates);
  IMatrix W = p.Jc;
  for (std::size_t j = 0; j < K; ++j) {
    const std::size_t k = weight[j].second;
    if (j < m) {
      for (Eigen::Index e = 0; e < W.size(); ++e) W(e) += hull(-p.r[k], p.r[k]) * point(E[k](e));
    } else {
      const Interval span = hull(-p.r[k], p.r[k]);
      for (Eigen::Index e = 0; e < W.size(); ++e) W(e) += p.dJ[weight[j].second](e) * span;
    }
  }
  // The vertex matrices share W's radius; only midpoints change. M_s ⊆ mid_s ± rad with
  // mid_s = fl(W.mid + Σ_j ±(r_k D_k).mid) (any rounding: |fl − exact| <= γ_{2(m+2)}·Σ|terms|, the
  // directed-rounding unit being 2u) and rad = W.rad + Σ_j (r_k D_k).rad + that rounding bound,
  // so sup_{M_s} ‖·‖ <= ‖mid_s‖ + ‖rad‖₂ with ‖rad‖₂ <= ‖rad‖_F computed once.
  const MidRad w = to_midrad(W);
  std::vector<Matrix> step(m);
  Matrix rad = w.rad, absum = w.mid.cwiseAbs();
  for (std::size_t j = 0; j < m; ++j) {
    const std::size_t k = weight[j].second;
    IMatrix t(W.rows(), W.cols());
    for (Eigen::Index e = 0; e < W.size(); ++e) t(e) = point(p.r[k]) * point(D[k](e));
    MidRad tm = to_midrad(t);
    rad += tm.rad;
    absum += tm.mid.cwiseAbs();
    step[j] = std::move(tm.mid);
  }
  rad += (static_cast<double>(m + 2) * 0x1p-50) * absum;  // >= γ_{2(m+2)}: 8(m+2)u
  const double rad_norm = std::sqrt(rad.squaredNorm());
  // mids[s] = w.mid ± step_0 ± step_1 ... (+ where bit j of s is set), added in the order j = 0,
  // 1, ... as the bound above assumes. Vertices that agree on bits 0..j share those partial sums,
  // so doubling the family once per j computes exactly the same floating-point sums with 2^(m+1)
  // matrix additions instead of m·2^m.
  thread_local std::vector<Matrix> mids;  // reused across boxes
  mids.resize(1ul << m);
  mids[0] = w.mid;
  for (std::size_t j = 0; j < m; ++j) {
    const unsigned long half = 1ul << j;
    for (unsigned long s = 0; s < half; ++s) {
      mids[s + half] = mids[s] + step[j];
      mids[s] -= step[j];
    }
  }
  // give_up only stops the search early (the result is then +inf, still an upper bound).
  const double top = norm2_upper_max(mids, give_up - rad_norm).value();
  return std::isfinite(top) ? top + rad_norm : INFINITY;
}

// Upper bound of Σ y_i² over an interval vector (requires UpwardScope).
double sumsq_up(const IMatrix& Y) {
  double s = 0;
  for (Eigen::Index i = 0; i < Y.size(); ++i) {
    const double m = mag(Y(i));
    s += m * m;
  }
  return s;
}

}  // namespace

UpperBound box_upper(const AttentionLayer& layer, const Box& box_in, Matrix* hint, const BallProduct* ball,
                     double enough, Matrix* sensitivity, bool centred_form) {
  if (sensitivity) sensitivity->resize(0, 0);
  // Over box ∩ ball it suffices to work on the contracted box (a superset of the intersection).
  if (ball && ball->certainly_disjoint(box_in)) return UpperBound::proved(0.0);  // sup over ∅
  const Box box = ball ? ball->contract(box_in) : box_in;
  const long n = box.n(), d = box.d();
  const Matrix c = box.center();
  Matrix v = (hint && hint->rows() == n && hint->cols() == d) ? *hint : Matrix();
  if (centred_form && (v.size() == 0 || !(v.norm() > 0))) {
    v = approx::jacobian_norm(layer, c, 200, 1e-12).right;
    if (hint) *hint = v;
  }

  UpwardScope up;
  const IMatrix B = box.enclosure();
  // The Jacobian over the box: the naive interval evaluation intersected with the mean-value form
  // J(c) + Σ_k ∂J/∂x_k(B) [−r_k, r_k], which has O(width) overestimation where the naive form
  // suffers from dependency. Where the mean-value parts are formed, their pass carries a naive
  // evaluation along (the jet's value part), and the separate one is skipped.
  const auto sc = forward<Interval>(layer, point_matrix(c));  // the centre (exact point)
  std::optional<MeanValueParts> parts;
  std::optional<ForwardState<Interval>> sB;
  IMatrix JB;
  if (!box.is_point() && n * d <= kCentredJacobianLimit) {
    parts = mean_value_parts(layer, box, sc);
    JB = intersect(parts->Jbox, centred_jacobian(*parts));
    if (sensitivity) {  // r_k ‖∂J/∂x_k(B)‖_F: how much coordinate k widens the enclosure
      *sensitivity = Matrix::Zero(n, d);
      for (std::size_t k = 0; k < parts->dJ.size(); ++k) {
        double f = 0;
        for (Eigen::Index e = 0; e < parts->dJ[k].size(); ++e) f += mag(parts->dJ[k](e)) * mag(parts->dJ[k](e));
        (*sensitivity)(parts->coord[k].first, parts->coord[k].second) = parts->r[k] * std::sqrt(f);
      }
    }
  } else {
    sB = forward<Interval>(layer, B);
    JB = jacobian<Interval>(layer, *sB);
  }
  const UpperBound plain = norm2_upper(JB);
  if (box.is_point()) return plain;
  // The vertex form costs 2^m small verified norms: skip it when the box is already closed.
  auto with_vertex = [&](UpperBound best) {
    if (parts && !(best.value() <= enough)) best = min(best, UpperBound::proved(vertex_bound(*parts, best.value())));
    return best;
  };
  if (!centred_form || !(v.norm() > 0)) return with_vertex(plain);

  if (!sB) sB = forward<Interval>(layer, B);
  const IMatrix vI = point_matrix(v);
  // ‖v̂‖² enclosed.
  Interval nv2 = point(0.0);
  for (Eigen::Index i = 0; i < v.size(); ++i) nv2 += square(vI(i));

  // a(c) and the gradient of a over B.
  const IMatrix hc = jvp<Interval>(layer, sc, vI);
  // J(X) v̂ over B: the matrix-free JVP intersected with JB v̂ (both enclosures).
  const Vector vflat_d = flatten<double>(v);
  const IMatrix hB = intersect(jvp<Interval>(layer, *sB, vI),
                               unflatten<Interval>(Vec<Interval>(mul(JB, vflat_d)), n, d));
  Mat<Dual<Interval>> XD(n, d), WD(n, d);
  for (long i = 0; i < n; ++i)
    for (long a = 0; a < d; ++a) {
      XD(i, a) = Dual<Interval>(B(i, a), vI(i, a));
      WD(i, a) = Dual<Interval>(hB(i, a));
    }
  const auto sD = forward<Dual<Interval>>(layer, XD);
  const Mat<Dual<Interval>> gD = vjp<Dual<Interval>>(layer, sD, WD);
  Matrix r(n, d);  // |X − c| <= r entrywise for every X in the box
  for (long i = 0; i < n; ++i)
    for (long a = 0; a < d; ++a) r(i, a) = std::max(c(i, a) - box.lo(i, a), box.hi(i, a) - c(i, a));
  // a(X) − a(c) = ∇a(ξ)·(X − c) with ∇a(ξ) ∈ G = 2 gD.d. Per token, sup g·(x − c) over the box
  // is Σ_a mag(g_a) r_a; inside the ball it is also at most R‖g‖ − g·c (linear maximisation over
  // B_R, ball_linear_sup), which is second order when c is near the sphere and g points outward.
  double a_up = sumsq_up(hc);
  for (long i = 0; i < n; ++i) {
    double box_lin = 0;
    for (long a = 0; a < d; ++a) box_lin += 2.0 * mag(gD(i, a).d) * r(i, a);
    if (ball) {
      std::vector<Interval> g(static_cast<std::size_t>(d));
      std::vector<double> ci(static_cast<std::size_t>(d));
      for (long a = 0; a < d; ++a) {
        g[a] = point(2.0) * gD(i, a).d;
        ci[a] = c(i, a);
      }
      box_lin = std::min(box_lin, ball_linear_sup(g.data(), ci.data(), d, ball->R));
    }
    a_up += box_lin;
  }
  // Monotone in every argument: evaluate at the upper ends (as points, to avoid dependency).
  const Interval a = point((point(a_up) / nv2).upper());

  // β: P⊥ Jᵀ J v̂ / ‖v̂‖ over B.
  const Vec<Interval> hflat0 = flatten<Interval>(hB);
  const IMatrix JtJv = intersect(vjp<Interval>(layer, *sB, hB),
                                 unflatten<Interval>(Vec<Interval>(mul(IMatrix(JB.transpose()), IMatrix(hflat0))), n, d));
  Interval vr = point(0.0);
  for (Eigen::Index i = 0; i < v.size(); ++i) vr += vI(i) * JtJv(i);
  const Interval coef = vr / nv2;
  double beta2 = 0;
  for (Eigen::Index i = 0; i < v.size(); ++i) {
    const double m = mag(JtJv(i) - coef * vI(i));
    beta2 += m * m;
  }
  const Interval beta2_over = point((point(beta2) / nv2).upper());

  // λ₂ = ‖J P⊥‖² over B, with J P⊥ = J − (J v̂) v̂ᵀ / ‖v̂‖².
  const Vec<Interval> hflat = flatten<Interval>(hB), vflat = flatten<Interval>(vI);
  IMatrix M2 = JB;
  for (Eigen::Index rr = 0; rr < M2.rows(); ++rr)
    for (Eigen::Index cc = 0; cc < M2.cols(); ++cc) M2(rr, cc) -= hflat(rr) * vflat(cc) / nv2;
  const double s2 = norm2_upper(M2).value();
  const Interval l2 = point(s2 * s2);

  const Interval half = point(0.5);
  const Interval bound2 = (a + l2) * half + sqrt(square((a - l2) * half) + beta2_over);
  const UpperBound centred = UpperBound::proved(sqrt(point(bound2.upper())).upper());
  return with_vertex(min(plain, centred));
}

Bracket certify_box(const AttentionLayer& layer, const Box& box, const CertifyOptions& opt) {
  const auto t0 = std::chrono::steady_clock::now();
  if (box.is_point()) return certify_point(layer, box.lo, opt);
  Bracket b;
  const Matrix c = box.center();
  auto est = approx::jacobian_norm(layer, c);
  // Lower: the best of the centre and an ascent inside the box.
  Witness best{"box centre", c, est.right};
  LowerBound lo = evaluate_witness(layer, c, est.right);
  Witness asc = approx::ascend(layer, Region(box), c);
  if (box.certainly_contains(asc.X)) {
    LowerBound la = evaluate_witness(layer, asc.X, asc.dir);
    if (la.value() > lo.value()) {
      lo = la;
      best = asc;
    }
  }
  b.lower = lo;
  b.witness = best;
  b.lower_method = "witness: " + best.name + ", ‖J(X)v‖/‖v‖ by interval JVP";
  b.estimate = Estimate(approx::jacobian_norm(layer, best.X).sigma.value());
  Matrix hint = est.right;
  b.upper = box_upper(layer, box, &hint);
  b.upper_method = "box: interval Jacobian over the box, centred second-order form";
  b.upper_evidence = UpperEvidence{"box-centred", hint};
  b.partition.push_back(PartitionLeaf{"", box, b.upper, "box-centred", hint});
  if (!b.meets(opt.tol) && box.n() * box.d() <= kBabLimit) {
    const BabOptions bo = bab_options_for(opt, since(t0));
    Bracket refined = branch_and_bound(layer, Region(box), bo, &b);
    if (refined.upper.value() < b.upper.value()) {
      b = std::move(refined);
    } else if (refined.lower.value() > b.lower.value()) {
      // The lower bound travels with the witness that proves it (the certificate's evidence).
      b.lower = refined.lower;
      b.witness = refined.witness;
      b.lower_method = refined.lower_method;
      b.estimate = refined.estimate;
    }
  }
  b.budget_exhausted = !b.meets(opt.tol);
  b.seconds = since(t0);
  return b;
}

}  // namespace attnbound
