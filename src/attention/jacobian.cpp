// The dense Jacobian from its closed form (THEORY.md §2, in factored form). Per head, with
// s the logit scale, v_l = W_V x_l + b_V, v̄_i = Σ_k P_ik v_k, q_i, k_j the query/key vectors:
//   J_il = Σ_h W_O [ P_il (W_V + s (v_l − v̄_i) q_iᵀ W_K) + δ_il s Σ_j P_ij (v_j − v̄_i) k_jᵀ W_Q ]
// Written as three families of matrix products so that interval evaluation runs on the
// midpoint-radius GEMMs:
//   term 1  Σ_h P^h_il (W_O W_V)^h                    one product (d² × H)(H × n) per row block i
//   term 2  Σ_h P^h_il U^h_{l,i} (B^h_i)ᵀ             one product (n d × H)(H × d) per i
//   term 3  Σ_h Σ_j P^h_ij U^h_{j,i} (G^h_j)ᵀ         one product (d × nH)(nH × d) per i
// with U^h_{l,i} = W_O (v_l − v̄_i), B^h_i = s W_Kᵀ q_i, G^h_j = s W_Qᵀ k_j. The deviations
// W_O(v_l − v̄_i) are formed as (1 − P_il) W_O v_l − Σ_{k≠l} P_ik W_O v_k (deviations_from_mean):
// tighter over boxes, and exactly zero for a row that sees a single key (constant Jacobian row).
//
// jacobian_rows computes any subset of the d rows of token i (the distributed tier forms only the
// rows its rank owns); jacobian is the loop over all tokens with all rows. A subset only selects
// rows of the three products' left operands: the formula per entry is the same (the GEMM kernels
// may sum in another order, which the enclosures allow).
#include "attention/attention.hpp"
#include "attention/products.hpp"

namespace attnbound {

template <class T>
JacobianFactors<T> jacobian_factors(const AttentionLayer& layer, const ForwardState<T>& s) {
  using detail::mm;
  using detail::mmw;
  const long d = layer.d, H = layer.n_heads();
  JacobianFactors<T> f;
  f.U.resize(H);
  f.B.resize(H);
  f.G.resize(H);
  f.WoWv.resize(H);
  for (long h = 0; h < H; ++h) {
    const Head& hd = layer.heads[h];
    f.U[h] = layer.paper_form ? s.V[h] : mmw<T>(s.V[h], Matrix(hd.Wo.transpose()));  // rows W_O v_l
    f.B[h] = mmw<T>(s.Q[h], hd.Wk);                                                    // rows q_iᵀ W_K
    f.G[h] = layer.paper_form ? s.K[h] : mmw<T>(s.K[h], hd.Wq);                        // rows k_jᵀ W_Q
    if (hd.logit_divisor != 1) {
      f.B[h] *= s.scale[h];
      f.G[h] *= s.scale[h];
    }
    f.WoWv[h] = detail::mm_exact<T>(hd.Wo, hd.Wv);
  }
  (void)d;
  return f;
}

template <class T>
Mat<T> jacobian_rows(const AttentionLayer& layer, const ForwardState<T>& s, const JacobianFactors<T>& f,
                     long i, const std::vector<long>& rows) {
  using detail::mm;
  const long n = s.n(), d = layer.d, H = layer.n_heads();
  const long N = n * d, R = static_cast<long>(rows.size());
  const auto& U = f.U;
  Mat<T> out = Mat<T>::Constant(R, N, T(0.0));
  const long L = layer.mask == Mask::causal ? i + 1 : n;  // tokens l that i sees

  // term 1: column l of T1 is vec(Σ_h P^h_il W_O W_V) restricted to the rows a ∈ rows:
  // row r + b·R of T1 is entry (rows[r], b).
  Mat<T> Vstack(R * d, H);
  for (long h = 0; h < H; ++h)
    for (long b = 0; b < d; ++b)
      for (long r = 0; r < R; ++r) Vstack(r + b * R, h) = f.WoWv[h](rows[r], b);
  Mat<T> Pi(H, L);
  for (long h = 0; h < H; ++h)
    for (long l = 0; l < L; ++l) Pi(h, l) = s.P[h](i, l);
  const Mat<T> T1 = mm<T>(Vstack, Pi);
  // Dev[h] (L × R): entries (U^h_l − Ū^h_i)_{rows[r]} over the visible l.
  std::vector<Mat<T>> Dev(H);
  for (long h = 0; h < H; ++h) {
    Mat<T> Ur(L, R);
    for (long l = 0; l < L; ++l)
      for (long r = 0; r < R; ++r) Ur(l, r) = U[h](l, rows[r]);
    Dev[h] = detail::deviations_from_mean<T>(Mat<T>(s.P[h].row(i).head(L).transpose()), Ur);
  }
  // term 2: rows (l, r) of A_i, columns h: P^h_il (U^h_l − Ū^h_i)_{rows[r]} ; Bi: row h = B^h_i.
  Mat<T> Ai(L * R, H), Bi(H, d);
  for (long h = 0; h < H; ++h) {
    for (long l = 0; l < L; ++l)
      for (long r = 0; r < R; ++r) Ai(l * R + r, h) = s.P[h](i, l) * Dev[h](l, r);
    for (long b = 0; b < d; ++b) Bi(h, b) = f.B[h](i, b);
  }
  const Mat<T> T2 = mm<T>(Ai, Bi);  // (L R) × d
  // term 3: Di (R × L H) with column (h, j) = P^h_ij (U^h_j − Ū^h_i); Gs ((L H) × d) rows G^h_j.
  Mat<T> Di(R, L * H), Gs(L * H, d);
  for (long h = 0; h < H; ++h)
    for (long j = 0; j < L; ++j) {
      for (long r = 0; r < R; ++r) Di(r, h * L + j) = s.P[h](i, j) * Dev[h](j, r);
      for (long b = 0; b < d; ++b) Gs(h * L + j, b) = f.G[h](j, b);
    }
  const Mat<T> T3 = mm<T>(Di, Gs);  // R × d

  for (long l = 0; l < L; ++l)
    for (long b = 0; b < d; ++b)
      for (long r = 0; r < R; ++r) {
        T v = T1(r + b * R, l) + T2(l * R + r, b);
        if (l == i) v += T3(r, b);
        out(r, l * d + b) = v;
      }
  return out;
}

template <class T>
Mat<T> jacobian(const AttentionLayer& layer, const ForwardState<T>& s) {
  const long n = s.n(), d = layer.d;
  const long N = n * d;
  Mat<T> J(N, N);
  const JacobianFactors<T> f = jacobian_factors(layer, s);
  std::vector<long> all(static_cast<std::size_t>(d));
  for (long a = 0; a < d; ++a) all[static_cast<std::size_t>(a)] = a;
  for (long i = 0; i < n; ++i) J.middleRows(i * d, d) = jacobian_rows(layer, s, f, i, all);
  return J;
}

#define ATTNBOUND_JACOBIAN_INSTANTIATE(T)                                                          \
  template JacobianFactors<T> jacobian_factors<T>(const AttentionLayer&, const ForwardState<T>&); \
  template Mat<T> jacobian_rows<T>(const AttentionLayer&, const ForwardState<T>&,                 \
                                   const JacobianFactors<T>&, long, const std::vector<long>&);    \
  template Mat<T> jacobian<T>(const AttentionLayer&, const ForwardState<T>&);
ATTNBOUND_JACOBIAN_INSTANTIATE(double)
ATTNBOUND_JACOBIAN_INSTANTIATE(Interval)
ATTNBOUND_JACOBIAN_INSTANTIATE(MpInterval)
ATTNBOUND_JACOBIAN_INSTANTIATE(Dual<Interval>)
ATTNBOUND_JACOBIAN_INSTANTIATE(IntervalJet)
#undef ATTNBOUND_JACOBIAN_INSTANTIATE
}  // namespace attnbound
