// Internal to attnbound-check: the parsed certificate and the verification steps.
//
// Conventions: every step either returns normally (the claim it covers is re-derived) or throws
// Invalid with a one-line reason; Unreadable is thrown only while reading the certificate or the
// model. Nothing here uses the engine's bound/region/certificate code.
#pragma once

#include <cmath>
#include <cstdint>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "attention/attention.hpp"
#include "core/core.hpp"
#include "model/model.hpp"

namespace attnbound::check {

/// A claim is not re-derived, or the certificate contradicts itself (exit 1).
class Invalid : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};
/// The certificate (or its model) cannot be read (exit 2).
class Unreadable : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// ---- the certificate, as read ---------------------------------------------------------------

/// The box {X : lo <= X <= hi} (entrywise, exact doubles).
struct CBox {
  Matrix lo, hi;
  long n() const { return lo.rows(); }
  long d() const { return lo.cols(); }
  bool is_point() const { return lo == hi; }
};

struct Leaf {
  std::string path;  // "i.a.L/i.a.R/..." ("" = the root)
  std::string tier;  // "box-centred", "dense", "outside", "symmetry:perm", "symmetry:sign"
  std::optional<CBox> box;  // as recorded (must equal the replayed box)
  Matrix hint;              // may be empty
};

/// The most subspace vectors a box-first-order certificate may record.
inline constexpr long kMaxSubspace = 32;

struct Certificate {
  // model
  std::string sha256, spec;
  std::string arch, mask;  // load options ("" = none)
  int layer = 0, n_heads = 0;
  std::optional<std::vector<int>> heads;
  std::uint64_t seed = 0;
  // region
  enum class Kind { point, box, ball, l2 } kind = Kind::point;
  CBox box;         // point (lo = hi = X) or box; for l2 a bounding box of the balls (outward)
  Matrix center;    // l2: the centre c of ‖x_i − c_i‖₂ <= rho
  double rho = 0.0; // l2
  long n = 0, d = 0;
  double R = 0.0;   // ball
  bool R_from_norm = false;
  // claim (upper: nullopt = +inf)
  double lower = 0.0;
  std::optional<double> upper;
  // evidence
  std::string lower_kind;  // "witness", "cluster", "none"
  Matrix wX, wdir;
  std::string upper_tier;  // "dense", "box-centred", "cluster", "partition", "none", ...
  Matrix hint;
  // tier "box-first-order": centre, the point tier at it, its recorded bound and the excess
  Matrix fo_centre;
  std::string fo_centre_tier;
  double fo_centre_upper = 0.0, fo_excess = 0.0;
  // optional "subspace" (docs/box.md §3b, (E12)–(E14)): the exact vectors V (each n × d, flattened
  // row-major like the Jacobian's columns) and the engine's value of the bound (informational)
  std::vector<Matrix> fo_subspace;
  double fo_subspace_upper = 0.0;
  std::string root;        // partition: "region" or "ball-bounding-box"
  std::vector<Leaf> leaves;
  // upper tier "analytic" (docs/certificate.md): the statement and its recorded constants
  std::string statement;
  struct Analytic {
    long n = 0;
    double R2 = 0.0, wo = 0.0;
    std::string mask;
    bool augmented = false;
    std::vector<double> a, v, w;
  } analytic;
  double engine_seconds = 0.0;  // NaN if absent
};

/// Parses version-1 certificate text. Throws Unreadable naming the key at fault.
Certificate read_certificate(std::string_view text);

// ---- exact helpers ----------------------------------------------------------------------------

/// Shortest round-trip decimal of a double (for messages).
std::string dec(double v);
/// Lower / upper endpoint of an MPFI interval as a decimal with `digits` significant digits,
/// rounded outward (for messages).
std::string dec_lower(const MpInterval& x, int digits = 17);
std::string dec_upper(const MpInterval& x, int digits = 17);
/// True if every element of x is >= v (exact comparison of the lower endpoint).
bool certainly_at_least(const MpInterval& x, double v);
/// True if every element of x is <= v.
bool certainly_at_most(const MpInterval& x, double v);

// ---- region ---------------------------------------------------------------------------------

/// The root box of a partition: the region's box, or [−R, R]^{n×d} for a ball.
CBox root_box(const Certificate& c);
/// Throws Invalid unless X lies in the region (exactly: a point equals X, a box contains it, a
/// ball's rows have ‖x_i‖² <= R² proved in MPFI). `what` names X in the message.
void require_inside_region(const Certificate& c, const Matrix& X, const std::string& what);
/// True if some row of the box certainly misses the ball of radius R (MPFI).
bool certainly_outside_ball(const CBox& b, double R);

/// The midpoint rule of a split (the engine's Box::split): m = l + (h − l)/2 rounded to nearest;
/// nullopt unless l < m < h.
std::optional<double> split_point(double l, double h);

/// Replays every leaf's path from the root box, checks that the paths form a complete binary tree
/// (every split node has both children, splitting the same entry; no leaf below another leaf; no
/// duplicates) and that recorded boxes equal the replayed ones. Returns the replayed leaf boxes.
std::vector<CBox> replay_partition(const CBox& root, const std::vector<Leaf>& leaves);

// ---- the rigorous parts ----------------------------------------------------------------------

/// MPFI enclosure of a box / point as an n×d matrix.
MpMatrix enclosure(const CBox& b);

/// Per-head nonlinear parts of the Jacobian at an input enclosure (THEORY.md §2, factored):
///   J_il = Σ_h P_il (W_O W_V)_h + Σ_h E^h_il (B^h_i)ᵀ + δ_il Σ_h Σ_j E^h_ij (G^h_j)ᵀ,
///   E^h_il = P^h_il (U^h_l − Ū^h_i),  U^h_l = W_O v_l,  Ū^h_i = Σ_k P^h_ik U^h_k,
///   B^h_i = s W_Kᵀ q_i,  G^h_j = s W_Qᵀ k_j.
/// All in MPFI at the thread's precision, from the shared forward template. T is MpInterval or
/// Dual<MpInterval> (derivative along one input direction).
template <class T>
struct HeadParts {
  Mat<T> P;        // n × n
  Mat<T> U;        // n × d
  Mat<T> Bq, Gk;   // n × d
};
template <class T>
std::vector<HeadParts<T>> jacobian_parts(const AttentionLayer& layer, const ForwardState<T>& s);

/// The Jacobian enclosure assembled from the parts (small problems).
template <class T>
Mat<T> assemble_jacobian_mp(const AttentionLayer& layer, const std::vector<HeadParts<T>>& parts);

/// The forward quantities for large problems: the linear maps of exact doubles (X W_Qᵀ + b_Q, …)
/// enclosed by upward-rounded GEMMs, then logits and softmax (the shared softmax_rows template) in
/// MPFI. Q, K, V, P, scale and X are filled; Y is left empty (nothing here needs f(X)).
ForwardState<MpInterval> forward_fast(const AttentionLayer& layer, const CBox& box);
/// The Jacobian enclosure from a forward state, assembled in outward-rounded double intervals by
/// the checker's own directed-rounding kernels (midpoint-radius GEMMs), as a midpoint-radius
/// matrix for linalg's norm bound (large problems).
MidRad assemble_jacobian_fast(const AttentionLayer& layer, const ForwardState<MpInterval>& s);
/// The same assembly block by block: sink(i, l, mid, rad) receives every d × d token block (i, l)
/// with want(i, l) (blocks above the diagonal of a causal layer are zero and never sent), with
/// [mid ± rad] enclosing the Jacobian block. The MPI checker (checks/mpi/) keeps only its own
/// block-cyclic entries. Runs under upward rounding (installed here); sink is called inside it.
void assemble_jacobian_fast_blocks(const AttentionLayer& layer, const ForwardState<MpInterval>& s,
                                   const std::function<bool(long, long)>& want,
                                   const std::function<void(long, long, const Matrix&, const Matrix&)>& sink);

/// The large-problem Jacobian at a point, kept between the lower and the upper check.
class JacobianCache {
 public:
  explicit JacobianCache(const AttentionLayer& layer) : layer_(layer) {}
  const MidRad& at(const Matrix& X);

 private:
  const AttentionLayer& layer_;
  Matrix X_;
  std::optional<MidRad> J_;
};

/// True if t2·I − MᵀM ≻ 0 is proved for every M in the enclosure (so sup ‖M‖₂² < t2), by an
/// MPFI Gram matrix and an interval Cholesky with certainly positive pivots.
bool gram_below_mp(const MpMatrix& M, const MpInterval& t2);
/// True if sup_{M ∈ M} ‖M‖₂ < t is proved (t a point): gram_below_mp for thin enclosures; for
/// wide ones first ‖mid‖ < t − ‖rad‖ (‖rad‖ by Collatz–Wielandt), then the interval Gram.
bool norm_below_mp(const MpMatrix& M, const MpInterval& t);

/// Above this n·d the dense parts run in double intervals (assemble_jacobian_fast + linalg).
inline constexpr long kMpDenseLimit = 128;
/// The largest n·d the checker attempts densely (memory: a few (n·d)² doubles).
inline constexpr long kDenseLimit = 12288;

/// Proves sup_{X ∈ box} ‖J(X)‖₂ <= U — or sup over box ∩ B_R^n when `ball_R` is given (the box
/// is contracted to the ball first). Bounds tried in order: the plain interval Jacobian over the
/// box; for tier "box-centred" (non-point boxes) its intersection with the mean-value form, then
/// the centred second-order form with direction `hint` (computed if empty). Returns a one-line
/// description of what proved it; throws Invalid if nothing does. `cache` (optional) serves the
/// Jacobian of large point boxes.
std::string prove_box_upper(const AttentionLayer& layer, const CBox& box, const Matrix& hint,
                            const std::string& tier, double U, JacobianCache* cache = nullptr,
                            const double* ball_R = nullptr);

/// A box containing box ∩ B_R^n: per token and coordinate |x_a| <= sqrt(R² − Σ_{b≠a} min x_b²)
/// (rounded outward). Precondition: the box is not certainly outside the ball.
CBox contract_to_ball(const CBox& box, double R);

/// ‖J(X) v‖/‖v‖: an interval whose lower endpoint is a proved lower bound of it (hence of ‖J(X)‖).
/// n·d <= kMpDenseLimit (or > kDenseLimit): the shared forward and JVP templates in MPFI (an
/// enclosure). In between: the product of the Jacobian enclosure (from `cache`) with v, in directed
/// rounding.
MpInterval witness_ratio(const AttentionLayer& layer, const Matrix& X, const Matrix& v, JacobianCache& cache);

/// An interval matrix as (hi, nlo) with hi >= X >= −nlo entrywise: every stored number is an upper
/// bound computed under upward rounding (the representation of jacobian_fast.cpp).
struct HiLo {
  Matrix hi, nlo;
};

/// The forward quantities at a point for large problems (forward_directed.cpp): Q, K, V by the
/// checker's directed GEMMs (biases added upward), logits s·QKᵀ by directed GEMMs, softmax in MPFI
/// (the shared softmax_rows template at MpInterval). Memory O(H n (n + d)) doubles.
struct DirectedState {
  std::vector<HiLo> Q, K, V, P;  // per head: n × d_k, n × d_k, n × d_v, n × n
  std::vector<MpInterval> scale;
};
DirectedState forward_directed(const AttentionLayer& layer, const Matrix& X);
/// The same, memoised for the last (layer, X) (the lower and the upper check share one point).
/// The reference stays valid until the next call with another point.
const DirectedState& forward_directed_cached(const AttentionLayer& layer, const Matrix& X);

/// ‖J(X) v‖/‖v‖ for large problems: the JVP of derivatives.cpp re-written in HiLo arithmetic on
/// forward_directed; the lower endpoint of the result is a proved lower bound.
MpInterval witness_ratio_directed(const AttentionLayer& layer, const Matrix& X, const Matrix& v);

/// One head's d-dimensional images for the head-Gram block norms (structured_gram.cpp), stored
/// d × n (one token per contiguous column): U = (V W_Oᵀ)ᵀ, Ubar = (P V W_Oᵀ)ᵀ, B = (Q W_K)ᵀ,
/// G = (K W_Q)ᵀ, Gkap = (κ W_Q)ᵀ; P in [−Pnlo, Pup]; s >= logit scale.
struct HeadImages {
  HiLo U, Ubar, B, G, Gkap;
  Matrix Pup, Pnlo;
  double s = 0.0;
};
/// Bounds of the parts of every block J_il = (P part) + (rank-one part) + δ_il (diagonal part):
/// P(i, l), R(i, l), D(i), with the heads kept together by H × H Gram matrices
/// (docs/structured.md §3); mu[h] >= ‖W_O^h W_V^h‖, mu_all >= ‖Σ_h W_O^h W_V^h‖, wo_wv >= ‖W_O‖‖W_V‖.
struct GramParts {
  Matrix P, R;
  Vector D;
};
GramParts head_gram_blocks(const std::vector<HeadImages>& F, const std::vector<double>& mu, double mu_all,
                           double wo_wv, Mask mask);

/// The cores of one head row by row (docs/structured.md §3, bound 7), from P, V, v̄ = PV, K and
/// the centres κ: gamma(i) >= s‖Σ_j P_ij (v_j − v̄_i)(k_j − κ_i)ᵀ‖ and mu(i) >= s‖[P_il (v_l − v̄_i)]_l‖.
/// Rows are split over LinalgThreads::current() workers, each under its own upward rounding.
void core_rows(const HiLo& P, const HiLo& V, const HiLo& Vbar, const HiLo& K, const HiLo& Kap, double s,
               bool causal, Vector& gamma, Vector& mu);
/// >= ‖diag(mu) Q‖, which bounds the key-side core. Precondition: upward rounding.
double key_core(const Vector& mu, const HiLo& Q);

/// Structured tier (any mask, a point X): re-derives min(block, split, gram) of docs/structured.md
/// with the checker's own forward (forward_fast), Gram factors (Householder QR) and directed
/// products, and throws Invalid unless it is <= U. Memory O(n² + H d²), no dense Jacobian.
std::string prove_structured_upper(const AttentionLayer& layer, const Matrix& X, double U);

/// Analytic tier (ball regions, docs/ball.md): proves each recorded norm constant with the
/// checker's own MPFI code (Gram enclosures by directed GEMMs, interval Cholesky, threshold
/// tests), re-evaluates the statement at the constants with its own formulas, and throws Invalid
/// unless the value is <= U.
std::string prove_analytic_upper(const AttentionLayer& layer, const Certificate& c, double U);
/// First-order tier (docs/box.md): re-derives with the checker's own forward (forward_directed)
/// and directed kernels an upper bound E' of sup ‖J(X) − J(c)‖₂ over the offsets of one token —
/// |δ_a| <= r_a (r given, l2 = false) or ‖δ‖₂ <= rho (l2) — and returns it (upward rounded).
/// Also returns `direct` >= sup ‖J(X)‖₂ by the block norms of J(X) itself ((E11)).
/// Also returns `remainder` R2' >= sup ‖J(X) − J(c) − DJ(c)[X − c]‖₂ ((E12): ‖N2‖ by Collatz–Wielandt,
/// N2 assembled per head in W_O space from the same quantities as the excess; no stacked-head form).
struct FirstOrderCheck {
  double excess = 0.0, direct = 0.0, remainder = 0.0;
};
/// Test hook: bit t of `remainder_drop` removes one piece of N2 (mutation tests only; the checker
/// passes 0). Bits: 0 ρ'μ, 1 θ2‖B_i‖, 2 θγ, 3 θ2‖G_j − g_i‖, 4 θγ_K, 5 2Pκ in ρ', 6 a_OV·min(Σπ, 2) in
/// ε2, 7 π·dw in θ2, 8 P·ε2 in θ2.
FirstOrderCheck first_order_excess_check(const AttentionLayer& layer, const Matrix& c, const Vector& r, double rho,
                                         bool l2, unsigned remainder_drop = 0);

/// Centred subspace form of the first-order tier (docs/box.md §3b, (E13)–(E14)), re-derived with
/// the checker's own code: for exact vectors V = [v_1 … v_k] (each n × d, flattened row-major),
/// `Jc` an enclosure of J(c), E >= sup_S ‖J(X) − J(c)‖ and R2 >= sup_S ‖J(X) − J(c) − DJ(c)[X − c]‖,
/// returns `bound` >= sup_S ‖J(X)‖₂ over the region (|x_ia − c_ia| <= r(i, a), or ‖x_i − c_i‖ <= rho
/// when l2), upward rounded, valid for ANY vectors; `bound` = +inf (with `why`) when the form does
/// not apply (‖VᵀV − I‖_F not proved < 1, or J(c) not finitely enclosed). Throws Invalid on
/// shapes that do not fit. The gradients ∇h_ab(c) run on LinalgThreads::current() workers.
/// `mutation` (tests only; 0 in the checker, the result is then NOT a bound): bit 0 sets t_lin = 0,
/// bit 1 sets c_0 = 0.
struct SubspaceCheck {
  double bound = INFINITY;
  double f = 0.0, w_norm = 0.0, j_minus = 0.0, lambda_perp = 0.0, c0 = 0.0, t_lin = 0.0;
  std::string why;
};
SubspaceCheck first_order_subspace_check(const AttentionLayer& layer, const Matrix& c, const MidRad& Jc,
                                         const std::vector<Matrix>& V, const Matrix& r, double rho, bool l2,
                                         double E, double R2, unsigned mutation = 0);

/// Cluster tier (unmasked layers): proves max(‖J_sym‖, max_{m_c>=2} ‖D_c‖) <= U at the point X.
std::string prove_cluster_upper(const AttentionLayer& layer, const Matrix& X, double U);
/// Cluster lower side: the best ‖M v‖/‖v‖ over the reduced operators (v: float top singular
/// vectors, no guarantee needed), as an MPFI lower endpoint.
MpInterval cluster_lower(const AttentionLayer& layer, const Matrix& X);

/// Throws Invalid unless the "symmetry:perm"/"symmetry:sign" leaf is justified for this layer
/// and region (docs/certificate.md, "Symmetry leaves").
void require_symmetry_leaf(const AttentionLayer& layer, const Certificate& c, const CBox& box,
                           const std::string& tier, const std::string& path);

/// The layer a certificate names, loaded with its recorded options (or `model_override`); a
/// relative path is also tried next to the certificate (`base_dir`). Throws Unreadable if it
/// cannot be loaded. The digest is not compared here.
AttentionLayer load_layer(const Certificate& c, const std::string& base_dir, const std::string& model_override);

}  // namespace attnbound::check
