// The statements of THEORY.md §3: ids, texts, hypotheses. The formulas live in ball_statements.cpp,
// local_statement.cpp and lower_statements.cpp; this file only says what each statement claims and
// when it applies.
#include "attention/paper_form.hpp"
#include "proofs/theorems.hpp"

namespace attnbound::proofs {

const char* to_string(Kind k) { return k == Kind::upper ? "upper" : "lower"; }

const char* to_string(Category c) {
  switch (c) {
    case Category::theorem: return "theorem";
    case Category::conjecture: return "conjecture";
    case Category::canary: return "canary";
  }
  return "?";
}

const char* to_string(Verdict v) {
  switch (v) {
    case Verdict::holds: return "holds";
    case Verdict::refuted: return "refuted";
    case Verdict::undecided: return "undecided";
    case Verdict::not_applicable: return "not applicable";
  }
  return "?";
}

std::string Hypotheses::describe() const {
  std::string s;
  if (unmasked && causal) s = "masked or not";
  else if (unmasked) s = "unmasked only";
  else s = "causal mask only";
  s += multi_head ? "; any number of heads (head-wise sum)" : "; one head";
  s += qk_bias ? "; query/key biases via the augmented form (radius √(R²+1))" : "; no query/key biases";
  if (min_n > 1) s += "; n ≥ " + std::to_string(min_n);
  return s;
}

namespace {

std::vector<Statement> build() {
  std::vector<Statement> c;
  Hypotheses any;  // masked or not, multi-head, biases
  Hypotheses unmasked = any;
  unmasked.causal = false;
  Hypotheses causal = any;
  causal.unmasked = false;
  Hypotheses witness_lb1;
  witness_lb1.multi_head = false;
  witness_lb1.qk_bias = false;
  witness_lb1.min_n = 2;
  Hypotheses witness_cluster = witness_lb1;
  witness_cluster.causal = false;

  c.push_back({"U1", Kind::upper, Category::theorem, "paper (Castin, Ablin, Peyré 2024), finite n",
               "Lip(f|B_R^n) ≤ √3 · v · (a² R⁴ (4n+1) + n)^{1/2},  a = ‖A‖, v = ‖V‖", any, false});
  c.push_back({"U1-sharp", Kind::upper, Category::theorem, "derived here (THEORY.md U1′)",
               "Lip(f|B_R^n) ≤ √3 · v · (a² R⁴ (n+1) + n)^{1/2}", any, false});
  c.push_back({"U-local", Kind::upper, Category::conjecture, "seed code's data-dependent bound; no proof in hand",
               "‖J(X)‖ ≤ v · (R_A² r² (n+1) + n)^{1/2} at every X, R_A = max_i ‖Aᵀx_i‖, r = max_ij ‖x_i − x_j‖",
               any, true});
  c.push_back({"MF", Kind::upper, Category::theorem, "paper, mean field (n-independent)",
               "Lip(f|B_R^n) ≤ v (1 + 3aR²) e^{2aR²} for every n", unmasked, false});
  c.push_back({"MF-block", Kind::upper, Category::theorem, "derived here (block-norm matrices, P_ij ≤ e^{2aR²}/n)",
               "Lip(f|B_R^n) ≤ v (e^{2aR²}(1 + 2aR²) + aR²) for every n", unmasked, false});
  c.push_back({"MF-causal", Kind::upper, Category::theorem, "derived here (Cesàro matrix, Hardy's inequality)",
               "Lip(f|B_R^n) ≤ v (2e^{2aR²}(1 + 2aR²) + aR²) for every n", causal, false});
  c.push_back({"LB1", Kind::lower, Category::theorem, "seed's witness, sharpened here",
               "x_1 = Ru, x_j = Ru/2 (u: top eigenvector of sym A, q = uᵀAu > 0, c = qR²/4): "
               "‖J(X)(e_1⊗u)‖ ≥ ‖Vu‖ (Σ_{i≥2} [P_i(1 + (1−P_i)c)]²)^{1/2}, "
               "P_i = 1/(1 + (n−1)e^{−c}) unmasked, 1/(1 + (i−1)e^{−c}) causal; so Lip(f|B_R^n) ≥ it",
               witness_lb1, false});
  c.push_back({"LB-cluster", Kind::lower, Category::theorem, "derived here (mean-field lower bound)",
               "k tokens at Ru, n−k at Ru/2, direction u/√k on the first cluster, k/(n−k) ≈ e^{−c}: "
               "‖J‖ ≥ ((n−k)/k)^{1/2} P(1 + (1−P)c) ‖Vu‖, P = 1/(1 + ((n−k)/k) e^{−c})",
               witness_cluster, false});
  c.push_back({"canary-U1-n1", Kind::upper, Category::canary,
               "DELIBERATELY FALSE: U1 without its n-dependence (n := 1)",
               "Lip(f|B_R^n) ≤ √3 · v · (5 a² R⁴ + 1)^{1/2} for every n — false once √n growth sets in",
               any, false});
  return c;
}

}  // namespace

const std::vector<Statement>& catalogue() {
  static const std::vector<Statement> c = build();
  return c;
}

const Statement* find_statement(std::string_view id) {
  for (const Statement& s : catalogue())
    if (s.id == id) return &s;
  return nullptr;
}

std::string inapplicable_reason(const Statement& s, const AttentionLayer& layer, long n) {
  const Hypotheses& h = s.hyp;
  if (layer.mask == Mask::none && !h.unmasked) return "needs a causal mask (the layer is unmasked)";
  if (layer.mask == Mask::causal && !h.causal) return "needs an unmasked layer (the layer is causal)";
  if (layer.n_heads() > 1 && !h.multi_head)
    return "a one-head statement (the layer has " + std::to_string(layer.n_heads()) +
           " heads; select one with --heads)";
  if (!h.qk_bias && needs_augmentation(layer))
    return "needs a layer without query/key biases (the witness cannot scale the augmented token (x, 1))";
  if (n < h.min_n) return "needs n ≥ " + std::to_string(h.min_n);
  return "";
}

}  // namespace attnbound::proofs
