// attnbound/bound — brackets lower ≤ Lip(f|S) ≤ upper, the tiers that prove each side, witnesses.
//
// Guarantee of every Bracket returned here: `lower` and `upper` are proved (rigorous arithmetic
// end to end, see ASSUMPTIONS.md); `estimate` is a floating-point value with no guarantee. When a
// side cannot be proved it is left at its trivial value (0 or +inf) and the method says why.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "attention/attention.hpp"
#include "attention/paper_form.hpp"
#include "core/core.hpp"
#include "model/layer.hpp"
#include "region/region.hpp"

namespace attnbound {

/// A candidate input with a direction: the lower-bound evidence. The numbers are exact doubles;
/// the claim they support is re-derived rigorously wherever it is used.
struct Witness {
  std::string name;
  Matrix X;    // n × d input, inside the region
  Matrix dir;  // n × d direction v: the bound is ‖J(X) v‖ / ‖v‖
};

/// The constants of an analytic-tier statement over B_R^n (docs/ball.md), as recorded in a
/// certificate: every norm is a proved upper bound (exact double) of the exact norm.
struct AnalyticConstants {
  long n = 0;
  double R2 = 0.0;          // >= R² (or R² + 1 with the augmented form)
  bool causal = false;
  bool augmented = false;
  std::vector<double> a, v, w;  // per head: >= ‖A_h‖, ‖W_O^h W_V^h‖, ‖W_V^h‖
  double wo = 0.0;              // >= ‖W_O‖
};

/// How the upper side was proved, with what a checker needs to redo it.
struct UpperEvidence {
  std::string tier;       // "dense", "box-centred", "cluster", "analytic", "bab", ...
  Matrix direction;       // optional hint (e.g. the approximate top right singular vector)
  // Tier "box-first-order" only: the centre c, the point tier that proved ‖J(c)‖ <= centre_upper
  // ("dense" or "structured") and the proved excess >= sup ‖J(X) − J(c)‖ (docs/box.md).
  Matrix centre{};
  std::string centre_tier{};
  double centre_upper = 0.0, excess = 0.0;
  double direct = 0.0;  // >= sup ‖J(X)‖ by block norms of J(X) itself (docs/box.md (E11))
  // Optional: the vectors of the centred subspace form (docs/box.md §3b) and its bound (>= sup ‖J‖).
  std::vector<Matrix> subspace{};
  double subspace_upper = 0.0;
};

/// One leaf of a branch-and-bound partition: the evidence a checker replays. `path` is the
/// sequence of bisections from the root box, one token "i.a.L" / "i.a.R" per split (split entry
/// (i, a) at the midpoint rule of Box::split, keep the lower/upper half), joined by '/'.
struct PartitionLeaf {
  std::string path;
  Box box;
  UpperBound upper = UpperBound::infinity();
  std::string tier;  // "box-centred", "dense", "outside" (certainly disjoint from the region)
  Matrix hint;       // direction used by the centred form (may be empty)
};

struct Bracket {
  LowerBound lower = LowerBound::zero();
  UpperBound upper = UpperBound::infinity();
  Estimate estimate{std::numeric_limits<double>::quiet_NaN()};
  std::string lower_method = "none", upper_method = "none";
  std::optional<Witness> witness;  // lower evidence
  UpperEvidence upper_evidence;
  std::vector<PartitionLeaf> partition;  // non-empty when the upper side is a branch-and-bound
  /// upper_evidence.tier == "analytic": the statement id and its constants (docs/ball.md).
  std::string analytic_statement;
  std::optional<AnalyticConstants> analytic;
  double seconds = 0.0;
  bool budget_exhausted = false;  // stopped by --time-limit or a resource cap before --tol

  /// Relative gap upper/lower − 1 (a float; +inf when lower <= 0). For display and stopping.
  double gap() const;
  /// True if upper <= lower · (1 + tol), proved with directed rounding.
  bool meets(double tol) const;
};

struct CertifyOptions {
  double tol = 1e-6;          // requested relative gap
  double time_limit = 0.0;    // seconds, 0 = none
  int threads = 0;            // 0 = all cores
  bool progress = false;      // progress bar on stderr (branch-and-bound)
  /// Ball regions: also use the analytic tier (docs/ball.md). `attnbound theorems` turns it off so
  /// that the statements are compared with bounds that do not come from the statements.
  bool analytic = true;
};

// ---- lower bounds ----------------------------------------------------------------------------

/// ‖J(X) v‖ / ‖v‖ evaluated in interval arithmetic at the exact point X: a proved lower bound of
/// ‖J(X)‖, hence of Lip(f|S) for any S ∋ X with non-empty interior (THEORY.md §2).
LowerBound evaluate_witness(const AttentionLayer& layer, const Matrix& X, const Matrix& dir);

namespace approx {

/// LB1 witnesses (THEORY.md §3) for every head: x_1 = R u, x_j = R u / 2 with u the top
/// eigenvector of (A_h + A_hᵀ)/2, direction e_1 ⊗ u; plus the mirrored variant when
/// λ_max <= −8 λ_min. Points are projected into B_R^n. No guarantee (candidates).
std::vector<Witness> lb1_witnesses(const AttentionLayer& layer, long n, double R);

/// LB-cluster witness from head h: k tokens at R u, n − k at R u / 2, k/(n−k) ≈ e^{−qR²/4},
/// direction u/√k on the first cluster.
Witness lb_cluster_witness(const AttentionLayer& layer, long n, double R, long head);

/// Balanced-pole witnesses (docs/ball.md §4), one per head h where they exist: a unit u on the
/// quadric uᵀ(A_h + A_hᵀ)u/2 = −δ/(2R²), chosen by projected ascent of ‖V_h u‖²(‖A_hᵀu‖² + ‖A_h u‖²),
/// with δ the logit gap maximising Σ_{i≥2} [p_i(1 − p_i)]²; tokens x_1 = R u, x_j = −R u (j ≥ 2)
/// (n = 2: the balanced pair, every logit of head h zero). Direction e_1 ⊗ A_hᵀu/‖A_hᵀu‖. Points
/// projected into B_R^n. Plus, for H > 1, "balanced-joint(all heads)": u on the intersection of
/// every head's quadric, by ascent of Σ_h of the same objective. No guarantee (candidates; certify
/// evaluates them rigorously).
std::vector<Witness> balanced_witnesses(const AttentionLayer& layer, long n, double R);

/// Projected gradient ascent of ‖J(X)‖ from X0 within a region (box or ball product), using
/// d σ = uᵀ (dJ) v through the Dual<double> VJP. Returns the best point found with its top right
/// singular vector. No guarantee.
struct AscentOptions {
  int steps = 60;
  double initial_step = 0.05;  // relative to the region's scale
  int power_iterations = 60;
};
Witness ascend(const AttentionLayer& layer, const Region& region, const Matrix& X0,
               const AscentOptions& opt = {});

/// ∇_X ‖J(X)‖ at X given the top singular pair (u, v) (n × d each): uᵀ D²f(X)[v, ·].
Matrix sigma_gradient(const AttentionLayer& layer, const Matrix& X, const Matrix& u, const Matrix& v);

}  // namespace approx

// ---- brackets --------------------------------------------------------------------------------

/// The local Lipschitz constant ‖J(X)‖ at a point: lower from the float top singular vector
/// evaluated rigorously, upper from the verified spectral norm of the interval Jacobian at X.
Bracket certify_point(const AttentionLayer& layer, const Matrix& X, const CertifyOptions& opt = {});

/// sup_{X ∈ box} ‖J(X)‖: upper from the centred (second-order) enclosure over the box, lower from
/// the best witness inside (centre, corners, ascent).
Bracket certify_box(const AttentionLayer& layer, const Box& box, const CertifyOptions& opt = {});

/// sup_{X ∈ B_R^n} ‖J(X)‖: lower from the THEORY.md witnesses (LB1 per head, LB-cluster) improved
/// by ascent; upper from the box tier over boxes covering the ball (branch-and-bound when the
/// size allows, else +inf with the reason in upper_method).
Bracket certify_ball(const AttentionLayer& layer, const BallProduct& ball, const CertifyOptions& opt = {});

// ---- structured tier (large n at GPT-2 width; docs/structured.md) ------------------------------

/// Above this n·d certify_point uses the structured tier instead of the dense one (the dense
/// interval Jacobian needs ~3 (n·d)² doubles: 3.6 GB at 12288, i.e. n = 16 at GPT-2 width).
inline constexpr long kDensePointLimit = 12288;

struct StructuredOptions {
  int threads = 1;  // heads are split over this many workers (each sets its own rounding mode)
  /// Testing only: drops the diagonal (query-side) term. The result is then NOT a bound: it is
  /// returned as `mutant` (an Estimate) and `upper` stays +inf. Exists so the test suite can show
  /// that the dense comparison catches a broken piece.
  bool mutation_drop_diagonal = false;
};

struct StructuredBound {
  UpperBound upper = UpperBound::infinity();  // min of the variants, proved
  Estimate mutant{std::numeric_limits<double>::quiet_NaN()};  // only with mutation_drop_diagonal
  // The variants (each proved unless mutated; docs/structured.md): the minimum is `upper`.
  double block = 0.0, split = 0.0, gram = 0.0, factored = 0.0, head_gram = 0.0;
  std::string method;
  double seconds = 0.0;
};

/// Guarantee: `upper` >= ‖J(X)‖₂ at the exact point X, proved in directed rounding end to end
/// (interval forward pass, Gram factors with enclosed residuals, directed GEMMs, Collatz–Wielandt
/// on non-negative block-norm matrices; docs/structured.md has each inequality). Never forms J:
/// memory O(n² + H d²), time O(H (n² d_k + n d d_k) + d³). Throws std::invalid_argument if X is not
/// n × d. Non-finite intermediate results give +inf, never an unproved number.
StructuredBound structured_upper(const AttentionLayer& layer, const Matrix& X,
                                 const StructuredOptions& opt = {});

/// Upper bound of sup_{X ∈ box} ‖J(X)‖ alone (the branch-and-bound leaf bound); with `ball`, of
/// sup over box ∩ ball (the box is contracted to the ball and the first-order term of the centred
/// form is also bounded by linear maximisation over B_R). `hint` is an approximate top right
/// singular vector at the box centre (computed if empty). The vertex form, the costly part, is
/// skipped once the other bounds are <= `enough` (the caller can close the box already). If
/// `sensitivity` is given it receives r_k ‖∂J/∂x_k(B)‖_F per coordinate (a float, for choosing the
/// split; empty when not computed). `centred_form = false` leaves out the centred 2 × 2 form: the
/// branch-and-bound does, because over its boxes the form almost never beats the others (under 1 %
/// of boxes on the suite) while costing about as much as they do (docs/bab.md §2).
UpperBound box_upper(const AttentionLayer& layer, const Box& box, Matrix* hint = nullptr,
                     const BallProduct* ball = nullptr, double enough = 0.0, Matrix* sensitivity = nullptr,
                     bool centred_form = true);

// ---- first-order tier (regions around a centre at any n; docs/box.md) -------------------------

/// A region around an exact centre c, the same offset set for every token: the box
/// |x_ia − c_ia| <= r_a (r a d-vector of upper bounds) or the ℓ2 ball ‖x_i − c_i‖₂ <= ρ.
struct FirstOrderRegion {
  Matrix c;          // n × d centre
  Vector r;          // box radii per feature (empty for the ℓ2 balls)
  double rho = 0.0;  // ℓ2 radius
  bool l2() const { return r.size() == 0; }
  /// An upper bound of sup ‖δ‖₂ over one token's offsets (ρ, or ‖r‖₂ rounded up).
  double radius2() const;
  /// The box as offsets from `centre`: r_a >= max_i max(c_ia − lo_ia, hi_ia − c_ia) (rounded up),
  /// a superset of the box. Throws std::invalid_argument if the centre is not in the box.
  static FirstOrderRegion box(const Box& b, const Matrix& centre);
  static FirstOrderRegion balls(const TokenBalls& t);
};

struct FirstOrderOptions {
  // Testing only (the results are then NOT bounds): the mutants the test suite must catch.
  bool mutation_drop_second_order = false;  // drops s‖W_Q δ‖‖W_K δ‖ from the logit change
  bool mutation_ignore_softmax = false;     // treats the attention weights as constant
  bool mutation_halve = false;              // halves the excess
  bool mutation_drop_softmax_curvature = false;  // drops ρ' (the softmax's second order) from N2 (E12)
  bool mutation_halve_subspace = false;     // halves t_lin of the subspace form (E13)
  bool mutation_shrink_spreads = false;     // divides the spreads of (E11'') by 4
};

struct FirstOrderExcess {
  UpperBound excess = UpperBound::infinity();  // >= sup_{X in the region} ‖J(X) − J(c)‖₂
  UpperBound direct = UpperBound::infinity();  // >= sup_{X in the region} ‖J(X)‖₂ (block norms of J(X), (E11))
  UpperBound remainder = UpperBound::infinity();  // >= sup ‖J(X) − J(c) − DJ(c)[X − c]‖₂ ((E12), second order)
  double max_logit_change = 0.0;               // max over heads and visible pairs of λ_ij (>= |Δs_ij|)
  double seconds = 0.0;
};

/// Guarantee: `excess` >= sup over the region of ‖J(X) − J(c)‖₂, proved in directed rounding
/// (docs/box.md, (E1)–(E9)): logit changes from the bilinear forms' dual norms at the centre, the
/// exact softmax range over the logit box, block norms of every term's change, the block-norm
/// lemma with a Collatz–Wielandt bound. First order in the region's size. `remainder` >= the
/// norm of J's change minus its linearisation at c (E12), second order. Memory O(H n² + n d +
/// d²), never forms J. Non-finite intermediates give +inf.
FirstOrderExcess first_order_excess(const AttentionLayer& layer, const FirstOrderRegion& region,
                                    const FirstOrderOptions& opt = {});

/// The centred subspace form (docs/box.md §3b, (E12)–(E14)) and what it was made of.
struct SubspaceBound {
  UpperBound upper = UpperBound::infinity();  // >= sup_{X in the region} ‖J(X)‖₂
  int k = 0;                                    // number of vectors
  double t_lin = 0.0, lambda_perp = 0.0, c0 = 0.0, w_norm = 0.0, f = 0.0;  // (E13)/(E14) parts
  double seconds = 0.0;
};

/// Guarantee: `upper` >= sup over the region of ‖J(X)‖₂, for ANY exact vectors (a poor choice
/// only loosens it), provided E >= sup ‖J(X) − J(c)‖₂ and R2 >= sup ‖J(X) − J(c) − DJ(c)[X − c]‖₂
/// (first_order_excess's excess and remainder). Forms the dense interval J(c) (n·d)² and k²
/// gradients by interval forward-over-reverse passes; meant for n·d <= kSubspaceLimit. Returns
/// +inf when the vectors are too far from orthonormal (‖VᵀV − I‖_F >= 1/2) or E, R2 are not finite.
SubspaceBound subspace_upper(const AttentionLayer& layer, const FirstOrderRegion& region, double E, double R2,
                             const std::vector<Matrix>& vectors, const FirstOrderOptions& opt = {});

/// n·d up to which certify_first_order also tries the subspace form (a dense centre).
inline constexpr long kSubspaceLimit = 4096;

namespace approx {
/// Float estimates of the top right singular vectors of J(X) (n × d each, orthonormal up to
/// rounding): subspace iteration on JᵀJ, then Rayleigh–Ritz. Returns the smallest k <= kmax with
/// σ_{k+1} <= ratio·σ_1 (kmax if none). No guarantee; any vectors give a valid subspace bound.
std::vector<Matrix> top_right_singular_vectors(const AttentionLayer& layer, const Matrix& X, int kmax = 12,
                                               double ratio = 0.75, int iterations = 40);
}  // namespace approx

/// sup over a region around `centre` (a Box containing it, or TokenBalls) of ‖J‖: upper =
/// ‖J(c)‖ by certify_point (dense up to kDensePointLimit, structured beyond) + first_order_excess;
/// lower = the best of the centre's witness and projected ascents (from the first-order corner
/// along ∇σ and from random starts) that are proved inside the region, evaluated by interval JVP.
/// Throws std::invalid_argument for another region kind or a centre outside the box.
Bracket certify_first_order(const AttentionLayer& layer, const Region& region, const Matrix& centre,
                            const CertifyOptions& opt = {}, const FirstOrderOptions& fo = {});

/// Up to this n·d `certify_box_around` also runs the older box tiers (certify_box: centred and
/// vertex forms, branch-and-bound for n·d <= 96); above it only the first-order tier.
inline constexpr long kBoxBothLimit = 3072;

/// sup over the box (which contains `centre`) of ‖J‖: the first-order tier, and for n·d <=
/// kBoxBothLimit also certify_box; the bracket with the smaller upper bound is returned, its
/// lower side raised to the other's when that is larger (the witness travels with it).
Bracket certify_box_around(const AttentionLayer& layer, const Box& box, const Matrix& centre,
                           const CertifyOptions& opt = {});

}  // namespace attnbound
