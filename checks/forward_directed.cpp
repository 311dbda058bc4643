// forward_directed and witness_ratio_directed: the large-problem path (n·d > kDenseLimit, e.g.
// GPT-2 width at n in the hundreds or thousands), where neither a dense Jacobian nor an all-MPFI
// JVP is affordable. Every linear map is a directed GEMM (hilo.hpp), every softmax is MPFI.
#include <cmath>
#include <mutex>
#include <optional>

#include "hilo.hpp"
#include "internal.hpp"

namespace attnbound::check {

using namespace hilo;

DirectedState forward_directed(const AttentionLayer& layer, const Matrix& X) {
  DirectedState st;
  const long n = X.rows();
  for (const Head& h : layer.heads) {
    const MpInterval sc = ScalarTraits<MpInterval>::inv_sqrt(h.logit_divisor);
    HiLo S;
    {
      UpwardScope up;
      const HiLo Xe = exact(X);
      HiLo q = layer.paper_form ? Xe : times(Xe, Matrix(h.Wq.transpose()));
      HiLo k = times(Xe, Matrix(h.Wk.transpose()));
      HiLo v = times(Xe, Matrix(h.Wv.transpose()));
      add_row_bias(q, h.bq);
      add_row_bias(k, h.bk);
      add_row_bias(v, h.bv);
      S = times(q, transpose(k));
      if (h.logit_divisor != 1) scale(S, sc.lower_down(), sc.upper_up());
      st.Q.push_back(std::move(q));
      st.K.push_back(std::move(k));
      st.V.push_back(std::move(v));
    }
    // The softmax needs no more than double-like precision here: MPFI at 64 bits is still an
    // enclosure and roughly halves the cost at n = 1024 (12 · 2^20 exponentials).
    MpPrecision prec(64);
    MpMatrix Smp(n, n);
    for (long i = 0; i < n; ++i)
      for (long j = 0; j < n; ++j) {
        const double lo = -S.nlo(i, j), hi = S.hi(i, j);
        Smp(i, j) = lo == hi ? MpInterval(lo) : MpInterval::hull(lo, hi);
      }
    st.P.push_back(from_mp(softmax_rows<MpInterval>(Smp, layer.mask)));
    st.scale.push_back(sc);
  }
  return st;
}

const DirectedState& forward_directed_cached(const AttentionLayer& layer, const Matrix& X) {
  // One point is checked at a time; the lower (witness) and upper (structured) checks share it.
  static std::mutex mu;
  static const AttentionLayer* last_layer = nullptr;
  static Matrix last_X;
  static std::optional<DirectedState> last;
  std::lock_guard<std::mutex> lk(mu);
  if (!last || last_layer != &layer || last_X.rows() != X.rows() || last_X.cols() != X.cols() || last_X != X) {
    last.reset();
    last = forward_directed(layer, X);
    last_layer = &layer;
    last_X = X;
  }
  return *last;
}

MpInterval witness_ratio_directed(const AttentionLayer& layer, const Matrix& X, const Matrix& v) {
  const DirectedState& st = forward_directed_cached(layer, X);
  HiLo Y{Matrix::Zero(X.rows(), X.cols()), Matrix::Zero(X.rows(), X.cols())};
  {
    UpwardScope up;
    const HiLo Xd = exact(v);
    for (std::size_t h = 0; h < layer.heads.size(); ++h) {
      const Head& H = layer.heads[h];
      // Ṡ = s (Q̇ Kᵀ + Q K̇ᵀ), Ṗ_ij = P_ij (Ṡ_ij − Σ_k P_ik Ṡ_ik), Ẏ += (Ṗ V + P V̇) W_Oᵀ.
      const HiLo Qd = layer.paper_form ? Xd : times(Xd, Matrix(H.Wq.transpose()));
      const HiLo Kd = times(Xd, Matrix(H.Wk.transpose()));
      const HiLo Vd = times(Xd, Matrix(H.Wv.transpose()));
      HiLo Sd = plus(times(Qd, transpose(st.K[h])), times(st.Q[h], transpose(Kd)));
      if (H.logit_divisor != 1) scale(Sd, st.scale[h].lower_down(), st.scale[h].upper_up());
      const HiLo PS = hadamard(st.P[h], Sd);
      const Vector rh = PS.hi.rowwise().sum(), rn = PS.nlo.rowwise().sum();
      HiLo C = Sd;  // Ṡ − r
      for (long i = 0; i < C.hi.rows(); ++i) {
        C.hi.row(i).array() += rn(i);
        C.nlo.row(i).array() += rh(i);
      }
      const HiLo Pd = hadamard(st.P[h], C);
      const HiLo Od = plus(times(Pd, st.V[h]), times(st.P[h], Vd));
      Y = plus(Y, layer.paper_form ? Od : times(Od, Matrix(H.Wo.transpose())));
    }
  }
  // ‖y‖² >= Σ mig(y_k)², summed in MPFI; ‖v‖² enclosed in MPFI.
  MpInterval num(0), den(0);
  for (Eigen::Index k = 0; k < Y.hi.size(); ++k) {
    const double lo = -Y.nlo.data()[k], hi = Y.hi.data()[k];
    const double mig = lo > 0 ? lo : (hi < 0 ? -hi : 0.0);
    if (mig > 0) num += square(MpInterval(mig));
  }
  for (Eigen::Index k = 0; k < v.size(); ++k) den += square(MpInterval(v.data()[k]));
  return sqrt(num.lower_point() / den);
}

}  // namespace attnbound::check
