// The checker's own Jacobian (THEORY.md §2, factored as in internal.hpp), written independently
// of the engine's attention/jacobian.cpp: the nonlinear parts come from the shared forward template
// in MPFI, and the assembly below is the checker's. Templated on the scalar: MpInterval (the
// enclosure over a box) and Dual<MpInterval> (with the derivative along one input coordinate,
// for the mean-value form of box_bound.cpp).
//
// Guarantee: for an input enclosure X (point or box), every entry of the result contains the exact
// Jacobian entry (and, for duals, its derivative) at every X inside the enclosure (inclusion
// isotonicity of MPFI operations).
#include "internal.hpp"

namespace attnbound::check {

namespace {

inline long visible(Mask mask, long i, long n) { return mask == Mask::causal ? i + 1 : n; }

// acc += a·w for an exact double w; acc += a·b. One outward rounding per MPFI operation and no
// temporaries on the MpInterval path (the hot loops of large problems).
inline void add_mul_d(MpInterval& acc, const MpInterval& a, double w, MpInterval& tmp) {
  if (w == 0.0) return;
  mpfi_mul_d(tmp.raw(), a.raw(), w);
  mpfi_add(acc.raw(), acc.raw(), tmp.raw());
}
inline void add_mul(MpInterval& acc, const MpInterval& a, const MpInterval& b, MpInterval& tmp) {
  mpfi_mul(tmp.raw(), a.raw(), b.raw());
  mpfi_add(acc.raw(), acc.raw(), tmp.raw());
}
inline void add_mul_d(Dual<MpInterval>& acc, const Dual<MpInterval>& a, double w, Dual<MpInterval>& tmp) {
  if (w == 0.0) return;
  add_mul_d(acc.v, a.v, w, tmp.v);
  add_mul_d(acc.d, a.d, w, tmp.v);
}
inline void add_mul(Dual<MpInterval>& acc, const Dual<MpInterval>& a, const Dual<MpInterval>& b,
                    Dual<MpInterval>& tmp) {
  add_mul(acc.d, a.d, b.v, tmp.v);  // (ab)' = a'b + ab'
  add_mul(acc.d, a.v, b.d, tmp.v);
  add_mul(acc.v, a.v, b.v, tmp.v);
}

inline void add_mul(Dual<MpInterval>& acc, const Dual<MpInterval>& a, const MpInterval& b, Dual<MpInterval>& tmp) {
  add_mul(acc.d, a.d, b, tmp.v);  // b is constant
  add_mul(acc.v, a.v, b, tmp.v);
}

template <class T>
T zero() {
  return T(MpInterval(0));
}

/// A · W for an enclosure A (r × k) and an exact double matrix W (k × c).
template <class T>
Mat<T> times_weights(const Mat<T>& A, const Matrix& W) {
  Mat<T> C = Mat<T>::Constant(A.rows(), W.cols(), zero<T>());
  T tmp = zero<T>();
  for (Eigen::Index i = 0; i < A.rows(); ++i)
    for (Eigen::Index k = 0; k < A.cols(); ++k)
      for (Eigen::Index j = 0; j < W.cols(); ++j) add_mul_d(C(i, j), A(i, k), W(k, j), tmp);
  return C;
}

/// A · B for enclosures.
template <class T>
Mat<T> times(const Mat<T>& A, const Mat<T>& B) {
  Mat<T> C = Mat<T>::Constant(A.rows(), B.cols(), zero<T>());
  T tmp = zero<T>();
  for (Eigen::Index i = 0; i < A.rows(); ++i)
    for (Eigen::Index k = 0; k < A.cols(); ++k)
      for (Eigen::Index j = 0; j < B.cols(); ++j) add_mul(C(i, j), A(i, k), B(k, j), tmp);
  return C;
}

template <class T>
void scale_in_place(Mat<T>& M, const T& s) {
  for (Eigen::Index k = 0; k < M.size(); ++k) M.data()[k] = M.data()[k] * s;
}

}  // namespace

MpMatrix enclosure(const CBox& b) {
  MpMatrix X(b.n(), b.d());
  for (long i = 0; i < b.n(); ++i)
    for (long a = 0; a < b.d(); ++a)
      X(i, a) = b.lo(i, a) == b.hi(i, a) ? MpInterval(b.lo(i, a)) : MpInterval::hull(b.lo(i, a), b.hi(i, a));
  return X;
}

template <class T>
std::vector<HeadParts<T>> jacobian_parts(const AttentionLayer& layer, const ForwardState<T>& s) {
  std::vector<HeadParts<T>> parts;
  parts.reserve(layer.heads.size());
  for (std::size_t h = 0; h < layer.heads.size(); ++h) {
    const Head& H = layer.heads[h];
    HeadParts<T> p;
    p.P = s.P[h];
    p.U = times_weights<T>(s.V[h], Matrix(H.Wo.transpose()));  // rows W_O v_l
    p.Bq = times_weights<T>(s.Q[h], H.Wk);                      // rows q_iᵀ W_K
    p.Gk = times_weights<T>(s.K[h], H.Wq);                      // rows k_jᵀ W_Q
    if (H.logit_divisor != 1) {
      scale_in_place(p.Bq, s.scale[h]);
      scale_in_place(p.Gk, s.scale[h]);
    }
    parts.push_back(std::move(p));
  }
  return parts;
}

template <class T>
Mat<T> assemble_jacobian_mp(const AttentionLayer& layer, const std::vector<HeadParts<T>>& parts) {
  const long n = parts.front().P.rows(), d = layer.d, H = layer.n_heads();
  Mat<T> J = Mat<T>::Constant(n * d, n * d, zero<T>());
  T tmp = zero<T>();
  // (W_O W_V)_h: products of exact doubles, enclosed (no derivative part).
  std::vector<MpMatrix> M(static_cast<std::size_t>(H));
  for (long h = 0; h < H; ++h) {
    const Head& hd = layer.heads[static_cast<std::size_t>(h)];
    MpMatrix Wo(hd.Wo.rows(), hd.Wo.cols());
    for (Eigen::Index k = 0; k < Wo.size(); ++k) Wo.data()[k] = MpInterval(hd.Wo.data()[k]);
    M[static_cast<std::size_t>(h)] = times_weights<MpInterval>(Wo, hd.Wv);
  }
  for (long i = 0; i < n; ++i) {
    const long vis = visible(layer.mask, i, n);
    // E[h](l, a) = P_il (U_l − Ū_i)_a for the visible l, with the deviation written as
    // (1 − P_il) U_l − Σ_{k≠l} P_ik U_k (equal, as Σ_k P_ik = 1): U_l enters once, and a row that
    // sees a single key gets exactly 0 (its softmax, hence its Jacobian row, is constant).
    std::vector<Mat<T>> E(static_cast<std::size_t>(H));
    for (long h = 0; h < H; ++h) {
      const HeadParts<T>& p = parts[static_cast<std::size_t>(h)];
      Mat<T>& e = E[static_cast<std::size_t>(h)];
      e = Mat<T>::Constant(vis, d, zero<T>());
      for (long l = 0; l < vis; ++l) {
        T w = T(MpInterval(1));
        w -= p.P(i, l);
        for (long a = 0; a < d; ++a) {
          T dev = w * p.U(l, a);
          for (long k = 0; k < vis; ++k)
            if (k != l) dev -= p.P(i, k) * p.U(k, a);
          e(l, a) = p.P(i, l) * dev;
        }
      }
    }
    // The diagonal block's extra term Σ_h Σ_j E_ij G_jᵀ.
    Mat<T> C = Mat<T>::Constant(d, d, zero<T>());
    for (long h = 0; h < H; ++h)
      for (long j = 0; j < vis; ++j)
        for (long a = 0; a < d; ++a)
          for (long b = 0; b < d; ++b)
            add_mul(C(a, b), E[static_cast<std::size_t>(h)](j, a), parts[static_cast<std::size_t>(h)].Gk(j, b), tmp);
    for (long l = 0; l < vis; ++l)
      for (long a = 0; a < d; ++a)
        for (long b = 0; b < d; ++b) {
          T& v = J(i * d + a, l * d + b);
          for (long h = 0; h < H; ++h) {
            const HeadParts<T>& p = parts[static_cast<std::size_t>(h)];
            add_mul(v, p.P(i, l), M[static_cast<std::size_t>(h)](a, b), tmp);
            add_mul(v, E[static_cast<std::size_t>(h)](l, a), p.Bq(i, b), tmp);
          }
          if (l == i) v += C(a, b);
        }
  }
  return J;
}

template std::vector<HeadParts<MpInterval>> jacobian_parts(const AttentionLayer&, const ForwardState<MpInterval>&);
template std::vector<HeadParts<Dual<MpInterval>>> jacobian_parts(const AttentionLayer&,
                                                                 const ForwardState<Dual<MpInterval>>&);
template MpMatrix assemble_jacobian_mp(const AttentionLayer&, const std::vector<HeadParts<MpInterval>>&);
template Mat<Dual<MpInterval>> assemble_jacobian_mp(const AttentionLayer&,
                                                    const std::vector<HeadParts<Dual<MpInterval>>>&);

}  // namespace attnbound::check
