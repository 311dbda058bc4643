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
#include "attention/attention.hpp"
#include "attention/products.hpp"

namespace attnbound {

template <class T>
Mat<T> jacobian(const AttentionLayer& layer, const ForwardState<T>& s) {
  using detail::mm;
  using detail::mmw;
  const long n = s.n(), d = layer.d, H = layer.n_heads();
  const long N = n * d;
  Mat<T> J = Mat<T>::Constant(N, N, T(0.0));

  // Per-head factors.
  std::vector<Mat<T>> U(H), B(H), G(H);
  Mat<T> Vstack(d * d, H);  // column h = vec(W_O^h W_V^h), column-major vec
  for (long h = 0; h < H; ++h) {
    const Head& hd = layer.heads[h];
    U[h] = layer.paper_form ? s.V[h] : mmw<T>(s.V[h], Matrix(hd.Wo.transpose()));  // rows W_O v_l
    B[h] = mmw<T>(s.Q[h], hd.Wk);                                                    // rows q_iᵀ W_K
    G[h] = layer.paper_form ? s.K[h] : mmw<T>(s.K[h], hd.Wq);                        // rows k_jᵀ W_Q
    if (hd.logit_divisor != 1) {
      B[h] *= s.scale[h];
      G[h] *= s.scale[h];
    }
    Mat<T> WoWv = detail::mm_exact<T>(hd.Wo, hd.Wv);
    for (long b = 0; b < d; ++b)
      for (long a = 0; a < d; ++a) Vstack(a + b * d, h) = WoWv(a, b);
  }

  const long visible_max = n;
  for (long i = 0; i < n; ++i) {
    const long L = layer.mask == Mask::causal ? i + 1 : visible_max;  // tokens l that i sees
    // term 1: column l of T1 is vec(Σ_h P^h_il W_O W_V).
    Mat<T> Pi(H, L);
    for (long h = 0; h < H; ++h)
      for (long l = 0; l < L; ++l) Pi(h, l) = s.P[h](i, l);
    Mat<T> T1 = mm<T>(Vstack, Pi);
    // Dev[h] (L × d): rows U^h_l − Ū^h_i over the visible l.
    std::vector<Mat<T>> Dev(H);
    for (long h = 0; h < H; ++h)
      Dev[h] = detail::deviations_from_mean<T>(Mat<T>(s.P[h].row(i).head(L).transpose()), Mat<T>(U[h].topRows(L)));
    // term 2: rows (l, a) of A_i, columns h: P^h_il (U^h_l − Ū^h_i)_a ; Bi: row h = B^h_i.
    Mat<T> Ai(L * d, H), Bi(H, d);
    for (long h = 0; h < H; ++h) {
      for (long l = 0; l < L; ++l)
        for (long a = 0; a < d; ++a) Ai(l * d + a, h) = s.P[h](i, l) * Dev[h](l, a);
      for (long b = 0; b < d; ++b) Bi(h, b) = B[h](i, b);
    }
    Mat<T> T2 = mm<T>(Ai, Bi);  // (L d) × d
    // term 3: Di (d × L H) with column (h, j) = P^h_ij (U^h_j − Ū^h_i); Gs ((L H) × d) rows G^h_j.
    Mat<T> Di(d, L * H), Gs(L * H, d);
    for (long h = 0; h < H; ++h)
      for (long j = 0; j < L; ++j) {
        for (long a = 0; a < d; ++a) Di(a, h * L + j) = s.P[h](i, j) * Dev[h](j, a);
        for (long b = 0; b < d; ++b) Gs(h * L + j, b) = G[h](j, b);
      }
    Mat<T> T3 = mm<T>(Di, Gs);  // d × d

    for (long l = 0; l < L; ++l)
      for (long b = 0; b < d; ++b)
        for (long a = 0; a < d; ++a) {
          T v = T1(a + b * d, l) + T2(l * d + a, b);
          if (l == i) v += T3(a, b);
          J(i * d + a, l * d + b) = v;
        }
  }
  return J;
}

template Mat<double> jacobian<double>(const AttentionLayer&, const ForwardState<double>&);
template Mat<Interval> jacobian<Interval>(const AttentionLayer&, const ForwardState<Interval>&);
template Mat<MpInterval> jacobian<MpInterval>(const AttentionLayer&, const ForwardState<MpInterval>&);
template Mat<Dual<Interval>> jacobian<Dual<Interval>>(const AttentionLayer&, const ForwardState<Dual<Interval>>&);

template Mat<IntervalJet> jacobian<IntervalJet>(const AttentionLayer&, const ForwardState<IntervalJet>&);
}  // namespace attnbound
