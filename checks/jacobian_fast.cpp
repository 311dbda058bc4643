// The large-problem path (n·d > kMpDenseLimit, e.g. GPT-2 width): the same Jacobian as
// jacobian_mp.cpp, with every *linear* map enclosed in outward-rounded double intervals by the
// checker's own directed-rounding kernels below (not linalg's products), and every nonlinear step
// (logits, softmax) in MPFI. The result feeds linalg's verified norm of a midpoint-radius matrix.
//
// Representation: an interval matrix is a pair (hi, nlo) with hi >= X >= −nlo entrywise, so that
// every bound is an upper bound computed under upward rounding (the opposite trick). Under upward
// rounding every product and sum of a GEMM rounds up, whatever the summation order or FMA
// contraction, so fl_up(A·B) >= A·B entrywise for any signs (ASSUMPTIONS.md, directed GEMMs).
// Negations are always materialised on an operand: given (−A)·B, Eigen would pull the sign out as
// the GEMM factor α = −1 and return −fl_up(A·B), a lower bound where an upper one is needed.
#include <algorithm>
#include <functional>

#include "internal.hpp"

namespace attnbound::check {

namespace {

inline long visible(Mask mask, long i, long n) { return mask == Mask::causal ? i + 1 : n; }

struct IM {
  Matrix hi, nlo;  // upper bounds and negated lower bounds
};

IM from_mp(const MpMatrix& A) {
  IM r{Matrix(A.rows(), A.cols()), Matrix(A.rows(), A.cols())};
  for (Eigen::Index k = 0; k < A.size(); ++k) {
    r.hi.data()[k] = A.data()[k].upper_up();
    r.nlo.data()[k] = -A.data()[k].lower_down();
  }
  return r;
}

MpMatrix to_mp(const IM& A) {
  MpMatrix R(A.hi.rows(), A.hi.cols());
  for (Eigen::Index k = 0; k < R.size(); ++k) {
    const double lo = -A.nlo.data()[k], hi = A.hi.data()[k];
    R.data()[k] = lo == hi ? MpInterval(lo) : MpInterval::hull(lo, hi);
  }
  return R;
}

/// Enclosure of A·W for an exact double matrix W (precondition: upward rounding).
///   A ⊆ mA ± rA  ⇒  A·W ⊆ mA·W ± rA·|W|.
IM times_weights(const IM& A, const Matrix& W) {
  const Matrix mA = (A.hi - A.nlo) * 0.5;
  const Matrix rA = (A.hi - mA).cwiseMax(mA + A.nlo);
  const Matrix negW = -W;
  Matrix up, nup, rad;
  up.noalias() = mA * W;
  nup.noalias() = mA * negW;
  rad.noalias() = rA * W.cwiseAbs();
  return IM{up + rad, nup + rad};
}

/// Enclosure of A·B for interval matrices (precondition: upward rounding).
///   A ⊆ mA ± rA, B ⊆ mB ± rB  ⇒  A·B ⊆ mA·mB ± (|mA| rB + rA (|mB| + rB)).
IM product(const IM& A, const IM& B) {
  const Matrix mA = (A.hi - A.nlo) * 0.5, mB = (B.hi - B.nlo) * 0.5;
  const Matrix rA = (A.hi - mA).cwiseMax(mA + A.nlo), rB = (B.hi - mB).cwiseMax(mB + B.nlo);
  const Matrix neg_mB = -mB;
  Matrix up, nup, rad1, rad2;
  up.noalias() = mA * mB;
  nup.noalias() = mA * neg_mB;
  rad1.noalias() = mA.cwiseAbs() * rB;
  rad2.noalias() = rA * (mB.cwiseAbs() + rB);
  const Matrix rad = rad1 + rad2;
  return IM{up + rad, nup + rad};
}

/// Enclosure of the product of two exact double matrices.
IM exact_product(const Matrix& A, const Matrix& B) {
  const Matrix negB = -B;
  IM r;
  r.hi.noalias() = A * B;
  r.nlo.noalias() = A * negB;
  return r;
}

/// + b on every row (b exact).
void add_row_bias(IM& M, const Vector& b) {
  for (Eigen::Index j = 0; j < M.hi.cols(); ++j) {
    if (b(j) == 0.0) continue;
    const double nb = -b(j);
    M.hi.col(j).array() += b(j);
    M.nlo.col(j).array() += nb;
  }
}

/// Enclosure (hi, nlo) of the product of two scalar intervals a ∈ [−anl, ah], b ∈ [−bnl, bh]: the
/// largest of the four corner products, each rounded up (precondition: upward rounding).
inline void corner_product(double ah, double anl, double bh, double bnl, double& hi, double& nlo) {
  hi = std::max(std::max(ah * bh, (-anl) * (-bnl)), std::max(ah * (-bnl), (-anl) * bh));
  nlo = std::max(std::max((-ah) * (-bnl), anl * bh), std::max((-ah) * bh, anl * (-bnl)));
}

/// s·M for a positive scalar enclosure s ∈ [sl, su].
void scale(IM& M, const MpInterval& s) {
  const double su = s.upper_up(), sl = s.lower_down();
  M.hi = (M.hi * su).cwiseMax(M.hi * sl);
  M.nlo = (M.nlo * su).cwiseMax(M.nlo * sl);
}

}  // namespace

ForwardState<MpInterval> forward_fast(const AttentionLayer& layer, const CBox& box) {
  ForwardState<MpInterval> s;
  s.X = enclosure(box);
  const long n = box.n();
  std::vector<IM> Q, K, V;
  {
    UpwardScope up;
    const IM X{box.hi, -box.lo};
    for (const Head& h : layer.heads) {
      IM q = layer.paper_form ? X : times_weights(X, Matrix(h.Wq.transpose()));
      IM k = times_weights(X, Matrix(h.Wk.transpose()));
      IM v = times_weights(X, Matrix(h.Wv.transpose()));
      add_row_bias(q, h.bq);
      add_row_bias(k, h.bk);
      add_row_bias(v, h.bv);
      Q.push_back(std::move(q));
      K.push_back(std::move(k));
      V.push_back(std::move(v));
    }
  }
  for (std::size_t h = 0; h < layer.heads.size(); ++h) {
    const Head& hd = layer.heads[h];
    MpMatrix q = to_mp(Q[h]), k = to_mp(K[h]);
    const MpInterval sc = ScalarTraits<MpInterval>::inv_sqrt(hd.logit_divisor);
    // Logits in MPFI: S = s · Q Kᵀ (n × n, cheap).
    MpMatrix S(n, n);
    MpInterval tmp;
    for (long i = 0; i < n; ++i)
      for (long j = 0; j < n; ++j) {
        MpInterval& acc = S(i, j);
        for (long r = 0; r < q.cols(); ++r) {
          mpfi_mul(tmp.raw(), q(i, r).raw(), k(j, r).raw());
          mpfi_add(acc.raw(), acc.raw(), tmp.raw());
        }
        if (hd.logit_divisor != 1) acc *= sc;
      }
    s.P.push_back(softmax_rows<MpInterval>(S, layer.mask));
    s.Q.push_back(std::move(q));
    s.K.push_back(std::move(k));
    s.V.push_back(to_mp(V[h]));
    s.scale.push_back(sc);
  }
  return s;
}

MidRad assemble_jacobian_fast(const AttentionLayer& layer, const ForwardState<MpInterval>& s) {
  const long n = s.n(), d = layer.d;
  const long N = n * d;
  MidRad J{Matrix::Zero(N, N), Matrix::Zero(N, N)};
  assemble_jacobian_fast_blocks(
      layer, s, [](long, long) { return true; },
      [&](long i, long l, const Matrix& mid, const Matrix& rad) {
        J.mid.block(i * d, l * d, d, d) = mid;
        J.rad.block(i * d, l * d, d, d) = rad;
      });
  return J;
}

void assemble_jacobian_fast_blocks(const AttentionLayer& layer, const ForwardState<MpInterval>& s,
                                   const std::function<bool(long, long)>& want,
                                   const std::function<void(long, long, const Matrix&, const Matrix&)>& sink) {
  const long n = s.n(), d = layer.d, H = layer.n_heads();
  UpwardScope up;
  // Per-head parts (internal.hpp): P, U = V W_Oᵀ, Ū = P U, B = s Q W_K, G = s K W_Q, M = W_O W_V.
  std::vector<IM> P, U, Bq, Gk, M;
  for (long h = 0; h < H; ++h) {
    const Head& hd = layer.heads[static_cast<std::size_t>(h)];
    P.push_back(from_mp(s.P[h]));
    const IM v = from_mp(s.V[h]);
    U.push_back(layer.paper_form ? v : times_weights(v, Matrix(hd.Wo.transpose())));
    Bq.push_back(times_weights(from_mp(s.Q[h]), hd.Wk));
    Gk.push_back(times_weights(from_mp(s.K[h]), hd.Wq));
    if (hd.logit_divisor != 1) {
      scale(Bq[h], s.scale[h]);
      scale(Gk[h], s.scale[h]);
    }
    M.push_back(exact_product(hd.Wo, hd.Wv));
  }
  Matrix mid(d, d), rad(d, d);
  for (long i = 0; i < n; ++i) {
    const long vis = visible(layer.mask, i, n);
    bool any = false;
    for (long l = 0; l < n && !any; ++l) any = want(i, l);
    if (!any) continue;
    // E (d × H·vis): column h·vis + l encloses P_il (U_l − Ū_i), the deviation written as
    // (1 − P_il) U_l − Σ_{k≠l} P_ik U_k (equal, as Σ_k P_ik = 1; U_l enters once, and a row that
    // sees one key gets exactly 0). Σ_{k≠l} from prefix and suffix sums of the enclosed
    // products P_ik U_k; scalar products by their four corners, each rounded up.
    IM E{Matrix(d, H * vis), Matrix(d, H * vis)};
    for (long h = 0; h < H; ++h) {
      Matrix th(vis, d), tn(vis, d);  // P_ik U_k ∈ [−tn, th]
      for (long k = 0; k < vis; ++k)
        for (long a = 0; a < d; ++a)
          corner_product(P[h].hi(i, k), P[h].nlo(i, k), U[h].hi(k, a), U[h].nlo(k, a), th(k, a), tn(k, a));
      Matrix pre_h = Matrix::Zero(vis + 1, d), pre_n = Matrix::Zero(vis + 1, d);
      for (long k = 0; k < vis; ++k) {
        pre_h.row(k + 1) = pre_h.row(k) + th.row(k);
        pre_n.row(k + 1) = pre_n.row(k) + tn.row(k);
      }
      Vector suf_h = Vector::Zero(d), suf_n = Vector::Zero(d);
      for (long l = vis - 1; l >= 0; --l) {
        const double pu = P[h].hi(i, l), pnl = P[h].nlo(i, l);  // p ∈ [−pnl, pu]
        const double wh = 1.0 + pnl, wn = pu - 1.0;             // 1 − p ∈ [−wn, wh]
        for (long a = 0; a < d; ++a) {
          double uh, un;
          corner_product(wh, wn, U[h].hi(l, a), U[h].nlo(l, a), uh, un);
          // dev = (1 − p) U_l − others, others ∈ [−on, oh]: dev ∈ [−(un + oh), uh + on].
          const double oh = pre_h(l, a) + suf_h(a), on = pre_n(l, a) + suf_n(a);
          const double dh = uh + on, dn = un + oh;
          corner_product(pu, pnl, dh, dn, E.hi(a, h * vis + l), E.nlo(a, h * vis + l));
        }
        suf_h += th.row(l).transpose();
        suf_n += tn.row(l).transpose();
      }
    }
    // For the off-diagonal term: B_i stacked over heads (H × d); for the diagonal term:
    // G_j stacked over (h, j) ((H·vis) × d).
    IM Bi{Matrix(H, d), Matrix(H, d)}, G{Matrix(H * vis, d), Matrix(H * vis, d)};
    IM Ei{Matrix(d, H), Matrix(d, H)};
    for (long h = 0; h < H; ++h) {
      Bi.hi.row(h) = Bq[h].hi.row(i);
      Bi.nlo.row(h) = Bq[h].nlo.row(i);
      for (long j = 0; j < vis; ++j) {
        G.hi.row(h * vis + j) = Gk[h].hi.row(j);
        G.nlo.row(h * vis + j) = Gk[h].nlo.row(j);
      }
    }
    const IM T3 = product(E, G);  // Σ_h Σ_j E_ij G_jᵀ (diagonal block only)
    for (long l = 0; l < vis; ++l) {
      if (!want(i, l)) continue;
      for (long h = 0; h < H; ++h) {
        Ei.hi.col(h) = E.hi.col(h * vis + l);
        Ei.nlo.col(h) = E.nlo.col(h * vis + l);
      }
      IM blk = product(Ei, Bi);  // Σ_h E_il B_iᵀ
      if (l == i) {
        blk.hi += T3.hi;
        blk.nlo += T3.nlo;
      }
      for (long h = 0; h < H; ++h) {
        // + P_il M_h with P_il ∈ [−pnl, pu], M_h ∈ [−mn, mh]: the four corners, rounded up.
        const double pu = P[h].hi(i, l), pnl = P[h].nlo(i, l);
        if (pu == 0.0 && pnl == 0.0) continue;
        const auto mh = M[h].hi.array(), mn = M[h].nlo.array();
        blk.hi.array() += (pu * mh).max((-pnl) * mh).max(pu * (-mn)).max((-pnl) * (-mn));
        blk.nlo.array() += ((-pu) * mh).max(pnl * mh).max((-pu) * (-mn)).max(pnl * (-mn));
      }
      // Midpoint-radius form (mid any double; rad proved from it).
      mid = (blk.hi - blk.nlo) * 0.5;
      rad = (blk.hi - mid).cwiseMax(mid + blk.nlo);
      sink(i, l, mid, rad);
    }
  }
}

const MidRad& JacobianCache::at(const Matrix& X) {
  if (!J_ || X_.rows() != X.rows() || X_.cols() != X.cols() || X_ != X) {
    J_ = assemble_jacobian_fast(layer_, forward_fast(layer_, CBox{X, X}));
    X_ = X;
  }
  return *J_;
}

}  // namespace attnbound::check
