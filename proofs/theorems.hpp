// attnbound/proofs — the statements of THEORY.md §3 as code: each one with its id, its text and
// its hypotheses, a rigorous evaluator of its value from the model, and a verdict on an instance
// (layer, n, R) against the engine's certified bracket of Lip(f|B_R^n).
//
// Contract of the module (proofs/README.md has the details and the statement table):
//  * A statement is a CLAIM under test, never an assumption. The engine's bracket comes from
//    src/bound alone (witnesses, ascent, branch-and-bound, cluster reduction); no statement value
//    ever feeds a certified bound.
//  * A statement's value is an ENCLOSURE [S.lo, S.hi] of its exact value at the exact model:
//    ‖A_h‖ and ‖V_h‖ are enclosed from both sides (norm2_lower at the float top singular vector,
//    norm2_upper), every formula is evaluated in MPFI (so e^{2aR²} ≈ 10^556 at GPT-2 scale is
//    still a number), and the lower-bound witnesses are realised as exact double inputs whose
//    formula parameters are enclosed from the realised point itself.
//  * Verdicts use proved numbers on both sides and nothing else:
//      upper-type "Lip ≤ S":  refuted  iff certified lower > S.hi   (the witness is reported)
//                             holds    iff certified upper ≤ S.lo
//      lower-type "Lip ≥ S":  holds    iff a certified lower ≥ S.hi (the bracket's, or the value
//                                          of ‖J(X)v‖/‖v‖ at the statement's own witness)
//                             refuted  iff a certified upper < S.lo (the bracket's, or the upper
//                                          end of ‖J(X)v‖/‖v‖ at its own witness)
//    and "undecided" otherwise. A pointwise statement (U-local) is refuted by one certified
//    point; this module never claims it holds on a whole ball.
//  * A statement whose hypotheses the layer does not meet is "not applicable" and not evaluated.
//  * Functions in proofs::approx (the U-local counterexample search) carry no guarantee; what
//    they find is confirmed rigorously by confirm_ulocal().
#pragma once

#include <cstdint>
#include <functional>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "attention/cluster.hpp"
#include "bound/bound.hpp"
#include "core/core.hpp"
#include "model/layer.hpp"

namespace attnbound::proofs {

// ---- the catalogue ------------------------------------------------------------------------------

enum class Kind { upper, lower };
/// theorem: proved (in the paper or in THEORY.md); a refutation is a bug and fails CI.
/// conjecture: no proof in hand (U-local); a refutation is a finding, recorded as expected.
/// canary: deliberately false; it must be refuted on its designated instances (CI checks this).
enum class Category { theorem, conjecture, canary };
enum class Verdict { holds, refuted, undecided, not_applicable };

const char* to_string(Kind k);
const char* to_string(Category c);
/// "holds", "refuted", "undecided", "not applicable".
const char* to_string(Verdict v);

/// What a statement requires of the layer. Multi-head layers are covered by the head-wise sum
/// (triangle inequality); query/key biases by the augmented form (Ã_h, Ṽ_h) on radius √(R²+1).
struct Hypotheses {
  bool unmasked = true;    // covers layers without a mask
  bool causal = true;      // covers causal layers
  bool multi_head = true;  // covers H > 1
  bool qk_bias = true;     // covers query/key biases
  long min_n = 1;
  /// e.g. "masked or not; any number of heads (summed); biases via the augmented form".
  std::string describe() const;
};

struct Statement {
  std::string id;      // "U1", "U1-sharp", "U-local", "MF", "MF-block", "MF-causal", "LB1", ...
  Kind kind = Kind::upper;
  Category category = Category::theorem;
  std::string origin;  // where it comes from
  std::string text;    // the claim, as in THEORY.md §3
  Hypotheses hyp;
  bool pointwise = false;  // a claim about ‖J(X)‖ at every X (U-local), not about Lip on B_R^n
};

/// Every statement, in THEORY.md order, the canary last.
const std::vector<Statement>& catalogue();
/// The statement with this id, or nullptr.
const Statement* find_statement(std::string_view id);
/// "" if the statement applies to the layer at this n, else the reason it does not.
std::string inapplicable_reason(const Statement& s, const AttentionLayer& layer, long n);

// ---- verified model quantities ------------------------------------------------------------------

/// Enclosures of ‖A_h‖ and ‖V_h‖ for one head (of Ã_h, Ṽ_h when the layer is augmented).
struct HeadNorms {
  MpInterval a, v;
  /// Which enclosure each norm came from (the widths differ by orders of magnitude, see
  /// docs/linalg.md §6.1): true for the d_k × d_k route, false for the generic d × d one.
  bool a_lowrank = false, v_lowrank = false;
};

/// Everything the ball statements need from the model, enclosed.
struct ModelQuantities {
  bool augmented = false;  // some head has a query/key bias: tokens are (x, 1)
  double R = 0.0;          // the radius of B_R^n (an exact double)
  MpInterval R2;           // R², or R² + 1 with the augmented form
  std::vector<HeadNorms> heads;
};

/// Guarantee: every field encloses the exact quantity. ‖A_h‖ ∈ [norm2_lower(A_h, ṽ), norm2_upper(A_h)]
/// with ṽ the float top right singular vector of mid(A_h), A_h itself enclosed by
/// paper_form_enclosure. Precondition: R > 0 finite. Any rounding mode.
ModelQuantities model_quantities(const AttentionLayer& layer, double R);

// ---- statement values ---------------------------------------------------------------------------

/// Enclosure of the value of a ball statement (U1, U1-sharp, MF, MF-block, MF-causal, the canary):
/// the head-wise sum of the THEORY.md formula with a = ‖A_h‖, v = ‖V_h‖, R² = q.R2.
/// Throws std::invalid_argument for a statement that is not a ball statement.
MpInterval ball_value(const Statement& s, const ModelQuantities& q, long n);

/// Enclosure of U-local(X) = Σ_h v_h (R_{A,h}² r² (n+1) + n)^{1/2}, R_{A,h} = max_i ‖A_hᵀ x̃_i‖,
/// r = max_{i,j} ‖x_i − x_j‖ (x̃ = (x, 1) with the augmented form). X is n × d.
MpInterval ulocal_value(const AttentionLayer& layer, const ModelQuantities& q, const Matrix& X);
struct ClusteredWitness;
/// The same at a clustered input (n = Σ m_c tokens at the positions of w.in.Y).
MpInterval ulocal_value(const AttentionLayer& layer, const ModelQuantities& q, const ClusteredWitness& w);

// ---- witnesses and rigorous values of ‖J(X) v‖ ----------------------------------------------------

/// An input given by clusters, with a cluster-constant direction. Tokens are listed cluster by
/// cluster (all of cluster 0, then cluster 1, ...): the order matters under a causal mask.
struct ClusteredWitness {
  std::string name;
  ClusteredInput in;  // positions Y (C × d) and multiplicities m (each >= 1)
  Matrix dir;         // C × d: the direction on every token of cluster c
  long long n() const;
  /// The n × d input and direction (only for small n: n·d doubles).
  Matrix tokens() const;
  Matrix direction() const;
};

/// Enclosure [lo, hi] of ‖J(X) v‖ / ‖v‖ at an exact input; evaluated = false when it was too costly.
struct NormRatio {
  bool evaluated = false;
  double lo = 0.0, hi = std::numeric_limits<double>::infinity();
  std::string method;
};

/// Guarantee: when evaluated, lo ≤ ‖J(X)v‖/‖v‖ ≤ hi (interval arithmetic at the exact point).
/// Unmasked layers: through the exact cluster reduction (cost independent of n). Causal layers:
/// interval forward + JVP on the expanded input when n²·d·H ≤ work_limit, else not evaluated.
NormRatio witness_ratio(const AttentionLayer& layer, const ClusteredWitness& w, double work_limit = 3e7);
/// The same for a dense input (interval forward + JVP).
NormRatio witness_ratio(const AttentionLayer& layer, const Matrix& X, const Matrix& dir);

/// A lower-type statement checked at its own witness.
struct LowerCheck {
  bool applicable = true;    // false: the construction does not exist (q = uᵀAu ≤ 0); see `why`
  bool evaluated = false;    // false: not evaluated (too large); see `why`
  std::string why;
  ClusteredWitness witness;  // the realised construction: exact doubles, proved inside B_R^n
  MpInterval formula;        // enclosure of the statement's formula at that exact point
  NormRatio ratio;           // rigorous ‖J(X)v‖/‖v‖ at that point, along the statement's direction
  std::string parameters;    // "c ∈ …, k = …"
};

/// LB1 or LB-cluster realised from the layer's (single) head: u ≈ top eigenvector of sym(A),
/// w = fl(ρu) shrunk until 2w is proved inside B_R, the near tokens at w and the far ones at 2w
/// exactly (so c = wᵀAw and ‖Vu‖ = ‖Vw‖/‖w‖ are enclosed from the realised point and the formula
/// is the exact formula at the exact point that is evaluated). Precondition: the statement's
/// hypotheses hold (inapplicable_reason is empty). Throws std::invalid_argument for other ids.
LowerCheck lower_check(const Statement& s, const AttentionLayer& layer, long n, double R, double work_limit = 3e7);

// ---- the engine's bracket ----------------------------------------------------------------------

struct BracketOptions {
  double tol = 1e-3;        // relative gap at which the branch-and-bound stops
  double time_limit = 10.0; // seconds for the branch-and-bound (0 = none)
  int threads = 1;
  double work_limit = 3e7;  // n²·d·H above which interval attention at full n is not attempted
};

/// The best certified bracket of Lip(f|B_R^n) the engine (src/bound) offers, without this module:
///  * n·d ≤ 96: certify_ball (THEORY.md witnesses, ascent, branch-and-bound to tol / time_limit);
///  * unmasked, larger n (d ≤ 128, or beyond work_limit): every head's LB1 and LB-cluster witness
///    in clustered form, certified through the cluster reduction (certify_clustered), any n;
///  * n²·d·H ≤ work_limit: the witnesses at full n, evaluated by interval forward + JVP;
///  * causal beyond that: f_i depends on x_1..x_i only, so J at n has J at n' < n as its leading
///    block and Lip(f|B_R^n) ≥ Lip(f|B_R^{n'}): the lower bound at the largest affordable n'.
/// The upper side is +inf unless the branch-and-bound produced one.
struct InstanceBracket {
  Bracket bracket;
  std::optional<ClusteredWitness> clustered;  // the lower witness when it is clustered
  long prefix_n = 0;                          // causal prefix used (0 = n itself)
};
InstanceBracket instance_bracket(const AttentionLayer& layer, long n, double R, const BracketOptions& opt);

// ---- verdicts -----------------------------------------------------------------------------------

/// Upper-type: refuted iff L > S.hi; holds iff U ≤ S.lo; else undecided.
Verdict upper_verdict(const MpInterval& S, double certified_lower, double certified_upper);
/// Lower-type: holds iff L ≥ S.hi; refuted iff U < S.lo; else undecided.
Verdict lower_verdict(const MpInterval& S, double certified_lower, double certified_upper);

// ---- one instance, every statement --------------------------------------------------------------

struct TheoremOptions {
  BracketOptions bracket;
  double ulocal_search_seconds = 1.0;  // approx search for a U-local counterexample (0 = none)
  std::uint64_t seed = 1;
};

struct StatementResult {
  const Statement* statement = nullptr;
  Verdict verdict = Verdict::undecided;
  std::string reason;  // the numbers behind the verdict, or why the statement is not applicable
  std::optional<MpInterval> value;  // enclosure of the value (applicable statements)
  /// What the value was compared with (proved numbers) and what they are.
  double cmp_lower = 0.0, cmp_upper = std::numeric_limits<double>::infinity();
  std::string cmp_what;
  /// The input behind the verdict: the refuting point, or the statement's own witness.
  std::optional<ClusteredWitness> witness;
  std::optional<NormRatio> witness_ratio;  // lower-type: ‖J(X)v‖/‖v‖ at the own witness
  std::string parameters;
  bool expected_refutation() const;  // canary or conjecture
};

struct InstanceReport {
  long n = 0;
  double R = 0.0;
  ModelQuantities quantities;
  InstanceBracket bracket;
  std::vector<StatementResult> statements;
  double seconds = 0.0;
  /// Ids of theorems (category theorem) that were refuted: a bug or a false theorem.
  std::vector<std::string> unexpected_refutations() const;
  const StatementResult* find(std::string_view id) const;
};

/// Evaluates every statement of the catalogue on (layer, B_R^n). Preconditions: n >= 1, R > 0.
InstanceReport evaluate_theorems(const AttentionLayer& layer, long n, double R, const TheoremOptions& opt = {});

// ---- U-local: counterexample search and rigorous confirmation -------------------------------------

/// Guarantee: refuted == true only if a certified lower bound of ‖J(X)‖ (‖J(X)v‖/‖v‖ in interval
/// arithmetic) exceeds the upper end of the enclosure of U-local(X).
struct ULocalConfirmation {
  bool refuted = false;
  double j_lower = 0.0;  // proved ≤ ‖J(X)‖
  MpInterval ulocal;     // encloses U-local(X)
};
ULocalConfirmation confirm_ulocal(const AttentionLayer& layer, const Matrix& X, const Matrix& dir);

namespace approx {

/// float U-local(X) and ‖J(X)‖ (dense SVD), no guarantee.
double ulocal_value(const AttentionLayer& layer, const Matrix& X);
/// float U-local′(X) (see ULocalSearchResult::repaired_best_ratio), no guarantee.
double ulocal_repaired_value(const AttentionLayer& layer, const Matrix& X);
double jacobian_norm_dense(const AttentionLayer& layer, const Matrix& X, Matrix* right = nullptr);

struct ULocalSearchOptions {
  std::uint64_t seed = 1;
  double seconds = 3.0;    // wall-clock budget
  long max_models = 0;     // 0 = until the budget runs out
  long d_max = 4, heads_max = 2, n_max = 5;
  int starts_per_model = 4, steps = 60;
  bool stop_at_first = false;  // stop at the first rigorously confirmed counterexample
};

struct ULocalCandidate {
  AttentionLayer layer;
  Matrix X, dir;       // dir: float top right singular vector of J(X)
  double ratio = 0.0;  // float ‖J(X)‖ / U-local(X)
  bool confirmed = false;  // confirm_ulocal(...).refuted
  double j_lower = 0.0, ulocal_upper = 0.0;
  std::string description;  // model family and configuration
};

struct ULocalSearchResult {
  long models = 0, ascents = 0;
  long confirmed = 0;            // rigorously confirmed counterexamples
  double best_ratio = 0.0;       // largest float ratio seen
  std::optional<ULocalCandidate> best;  // the confirmed counterexample with the largest ratio
  /// Largest ratio per family ("paper", "full", "biases", "causal", "multi-head").
  std::vector<std::pair<std::string, double>> family_best;
  /// Largest float ‖J(X)‖ / U-local′(X) at every point the search visited, where U-local′ is the
  /// repaired bound √3 Σ_h v_h (n + R_{A,h}² τ n + a_h² τ²)^{1/2}, τ = r²/2 (proofs/README.md: it
  /// adds the D = diag(Cov_i Aᵀ) term U-local misses). A diagnostic, not a catalogue statement.
  double repaired_best_ratio = 0.0;
  double seconds = 0.0;
};

/// Random small layers (paper form or full, biases, masks, 1..heads_max heads) and random inputs;
/// from each start, projected ascent of log(‖J(X)‖ / U-local(X)) (∇‖J‖ from sigma_gradient,
/// a subgradient of U-local at its maximising indices). Every candidate with float ratio > 1 is
/// confirmed with confirm_ulocal. No guarantee beyond what `confirmed` says.
ULocalSearchResult ulocal_search(const ULocalSearchOptions& opt);

/// One ascent from X0 on a given layer (used by the search and by `theorems`). Returns the best
/// point found and its float ratio.
std::pair<Matrix, double> ulocal_ascent(const AttentionLayer& layer, const Matrix& X0, int steps,
                                        double radius_cap);

}  // namespace approx

// ---- the √n → plateau sweep ------------------------------------------------------------------------

struct SweepOptions {
  double R = 1.0;
  std::vector<long> ns;           // increasing
  std::optional<long> head;       // build the witnesses from this head only (default: every head)
  double time_limit = 120.0;      // seconds for the rigorous lower bounds of masked layers
  double ball_time = 0.0;         // seconds of branch-and-bound per n for a certified upper (0 = none)
  long fit_n_max = 100;           // fit C√n on rows with n ≤ this
  int power_iterations = 60;      // float top singular vector at the witness (dense path)
};

struct SweepRow {
  long n = 0;
  bool lower_done = false;        // false: skipped (time) — lower/estimate are NaN
  double lower = std::numeric_limits<double>::quiet_NaN();     // certified ≤ Lip(f|B_R^n)
  double estimate = std::numeric_limits<double>::quiet_NaN();  // float ‖J(X)‖ at that witness
  std::string witness;            // which witness gave `lower`
  double cert_upper = std::numeric_limits<double>::infinity();  // certified ≥ Lip (ball tier)
  MpInterval u1, u1_sharp, mf;    // statement values (mf: MF unmasked, MF-causal causal)
  // docs/ball.md: the balanced-pole witness (certified, where evaluated: n <= 1024 within the
  // time budget; NaN otherwise) and the analytic tier's certified upper bound with its statement.
  double balanced_lower = std::numeric_limits<double>::quiet_NaN();
  std::string balanced_witness;
  double analytic_upper = std::numeric_limits<double>::infinity();
  std::string analytic_statement;
  double seconds = 0.0;
};

struct SweepResult {
  std::string model, mf_id;  // mf_id: "MF" or "MF-causal"
  double R = 0.0;
  bool causal = false;
  std::vector<SweepRow> rows;
  double C = std::numeric_limits<double>::quiet_NaN();  // least-squares fit lower ≈ C√n (n ≤ fit_n_max)
  long fit_points = 0;
  double seconds = 0.0;
  std::string note;  // e.g. where the masked sweep stopped
};

/// Runs the sweep: for each n a certified lower bound of Lip(f|B_R^n) at the THEORY.md witnesses
/// (cluster reduction for unmasked layers — any n; interval forward + JVP for masked ones while
/// the time budget allows), the float ‖J‖ at that witness, and the statement curves U1, U1-sharp,
/// MF (or MF-causal). `progress` (optional) is called after each n.
SweepResult run_sweep(const AttentionLayer& layer, const std::string& model_name, const SweepOptions& opt,
                      const std::function<void(const SweepRow&)>& progress = {});

/// n on a logarithmic grid from n_min to n_max with about `points` values (distinct, rounded).
std::vector<long> log_grid(long n_min, long n_max, int points);

/// The CSV text (header comment lines start with '#').
std::string sweep_csv(const SweepResult& r);
/// A gnuplot script that plots `csv_path` into `plot_path` (.png: pngcairo, .svg: svg).
std::string gnuplot_script(const SweepResult& r, const std::string& csv_path, const std::string& plot_path);
/// Runs gnuplot on the script; returns "" on success, else why the plot was not made (gnuplot
/// missing or failing). Never throws.
std::string run_gnuplot(const std::string& script, const std::string& script_path);

}  // namespace attnbound::proofs
