// Values of the ball statements (THEORY.md §3), enclosed in MPFI. Each formula is increasing in
// a = ‖A_h‖, v = ‖V_h‖ and R², so evaluating it on the enclosures gives an enclosure of the exact
// value at the exact model. Multi-head: the head-wise sum (triangle inequality). MPFI has no
// overflow at the scales that matter (e^{2aR²} with aR² ≈ 640 for GPT-2 at R = 100).
#include <stdexcept>

#include "bound/analytic.hpp"
#include "proofs/theorems.hpp"

namespace attnbound::proofs {

namespace {

// √3 v (a² R⁴ (k n + 1) + n)^{1/2}: U1 (k = 4), U1′ (k = 1) — the engine's analytic tier formula.
MpInterval u1_head(const HeadNorms& h, const MpInterval& R2, long n, int k) { return u1_head_value(h.a, h.v, R2, n, k); }

// v (1 + 3aR²) e^{2aR²}
MpInterval mf_head(const HeadNorms& h, const MpInterval& R2) {
  const MpInterval aR2 = h.a * R2;
  return h.v * (MpInterval(1) + MpInterval(3) * aR2) * exp(MpInterval(2) * aR2);
}

// v (m e^{2aR²}(1 + 2aR²) + aR²): MF-block (m = 1), MF-causal (m = 2, ‖Cesàro‖ < 2).
MpInterval block_head(const HeadNorms& h, const MpInterval& R2, int m) { return block_head_value(h.a, h.v, R2, m); }

}  // namespace

MpInterval ball_value(const Statement& s, const ModelQuantities& q, long n) {
  MpInterval sum(0);
  for (const HeadNorms& h : q.heads) {
    if (s.id == "U1") sum += u1_head(h, q.R2, n, 4);
    else if (s.id == "U1-sharp") sum += u1_head(h, q.R2, n, 1);
    else if (s.id == "MF") sum += mf_head(h, q.R2);
    else if (s.id == "MF-block") sum += block_head(h, q.R2, 1);
    else if (s.id == "MF-causal") sum += block_head(h, q.R2, 2);
    else if (s.id == "canary-U1-n1") sum += u1_head(h, q.R2, 1, 4);  // the n-dependence removed on purpose
    else throw std::invalid_argument("ball_value: '" + s.id + "' is not a ball statement");
  }
  return sum;
}

}  // namespace attnbound::proofs
