// LB1 and LB-cluster (THEORY.md §3) at their own witnesses.
//
// Realisation: u ≈ top eigenvector of sym(A) (float), w = fl(ρu) with ρ ≈ R/2, shrunk until 2w is
// proved inside B_R. The near tokens are w and the far ones 2w, exactly (doubling is exact), so the
// construction is the statement's construction for the unit vector û = w/‖w‖ and radius 2‖w‖ ≤ R:
//   c = q R²/4 with q = ûᵀAû and R/2 = ‖w‖  ⇒  c = wᵀAw,   ‖Vû‖ = ‖Vw‖/‖w‖,
// all enclosed from the realised doubles. The formula checked is then the exact formula at the exact
// point whose ‖J(X)v‖/‖v‖ witness_ratio encloses: no perturbation argument is needed.
#include <cmath>
#include <cstdio>
#include <stdexcept>

#include "attention/paper_form.hpp"
#include "proofs/theorems.hpp"
#include "proofs/witness_build.hpp"

namespace attnbound::proofs {

namespace {

struct Realised {
  detail::LB1Direction dir;
  MpInterval c, vu;  // wᵀAw, ‖Vw‖/‖w‖
};

std::optional<Realised> realise(const AttentionLayer& layer, double R, std::string* why) {
  Realised r;
  auto w = detail::lb1_direction(layer, 0, R);
  if (!w) {
    if (why) *why = "no witness: sym(A) has no positive eigenvalue (q = uᵀAu > 0 fails) or 2w could not be placed in B_R";
    return std::nullopt;
  }
  r.dir = *w;
  UpwardScope up;
  const PaperFormEnclosure pf = paper_form_enclosure(layer, false);
  const IMatrix& A = pf.A[0];
  const IMatrix& V = pf.V[0];
  const Vector& x = r.dir.w;
  Interval c = point(0.0), w2 = point(0.0), vw2 = point(0.0);
  for (long a = 0; a < layer.d; ++a) {
    w2 += square(point(x(a)));
    Interval row = point(0.0);
    for (long b = 0; b < layer.d; ++b) row += A(a, b) * point(x(b));
    c += point(x(a)) * row;
    Interval vwa = point(0.0);
    for (long b = 0; b < layer.d; ++b) vwa += V(a, b) * point(x(b));
    vw2 += square(vwa);
  }
  if (!certainly_positive(c)) {
    if (why) *why = "q = uᵀAu is not certainly positive at the realised witness";
    return std::nullopt;
  }
  r.c = MpInterval(c);
  r.vu = sqrt(MpInterval(vw2) / MpInterval(w2));
  return r;
}

constexpr long kCausalSumLimit = 5'000'000;

MpInterval count(long long n) { return MpInterval(static_cast<double>(n)); }

// P (1 + (1 − P) c) with P = 1 / (1 + ratio e^{−c}).
MpInterval row_term(const MpInterval& ratio, const MpInterval& c, const MpInterval& e) {
  const MpInterval P = MpInterval(1) / (MpInterval(1) + ratio * e);
  return P * (MpInterval(1) + (MpInterval(1) - P) * c);
}

std::string show(const MpInterval& x) {
  char buf[96];
  std::snprintf(buf, sizeof buf, "[%.10g, %.10g]", x.lower_down(), x.upper_up());
  return buf;
}

}  // namespace

LowerCheck lower_check(const Statement& s, const AttentionLayer& layer, long n, double R, double work_limit) {
  if (s.id != "LB1" && s.id != "LB-cluster") throw std::invalid_argument("lower_check: not a lower-type statement: " + s.id);
  LowerCheck out;
  const auto real = realise(layer, R, &out.why);
  if (!real) {
    out.applicable = false;
    return out;
  }
  ClusteredWitness& w = out.witness;
  const MpInterval e = exp(-real->c);
  if (s.id == "LB1") {
    w = detail::lb1_clustered(real->dir, n);
    if (layer.mask == Mask::none) {
      out.formula = real->vu * sqrt(count(n - 1)) * row_term(count(n - 1), real->c, e);
    } else {
      // O(n) MPFI operations; beyond this the formula is not evaluated (the statement stays undecided).
      if (n > kCausalSumLimit) {
        out.why = "the causal LB1 sum is not evaluated beyond n = " + std::to_string(kCausalSumLimit);
        return out;
      }
      MpInterval sum(0);
      for (long i = 2; i <= n; ++i) sum += square(row_term(count(i - 1), real->c, e));
      out.formula = real->vu * sqrt(sum);
    }
    out.parameters = "c = wᵀAw ∈ " + show(real->c) + ", ‖Vu‖ ∈ " + show(real->vu);
  } else {
    const long k = detail::cluster_k(n, real->dir.c);
    w = detail::lbcluster_clustered(real->dir, n, k);
    const MpInterval ratio = count(n - k) / count(k);
    out.formula = real->vu * sqrt(ratio) * row_term(ratio, real->c, e);
    out.parameters = "c = wᵀAw ∈ " + show(real->c) + ", ‖Vu‖ ∈ " + show(real->vu) + ", k = " + std::to_string(k);
  }
  out.evaluated = true;
  out.ratio = witness_ratio(layer, w, work_limit);
  return out;
}

}  // namespace attnbound::proofs
