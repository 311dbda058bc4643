// attnbound/region — the input sets a Lipschitz constant is taken over.
//
//   Box          lo ≤ X ≤ hi entrywise (a point is a box with lo = hi; an ε-box is c ± ε).
//   BallProduct  B_R^n = {X ∈ R^{n×d} : ‖x_i‖₂ ≤ R for every token i}.
//
// Guarantees: `certainly_contains` returns true only if the point is proved to lie in the region
// (directed rounding); projections return points that pass `certainly_contains`. Splitting
// produces boxes whose union is exactly the parent (the split coordinate is a double shared by
// both halves).
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <variant>

#include "core/core.hpp"

namespace attnbound {

struct Box {
  Matrix lo, hi;  // n × d, lo <= hi

  static Box point(const Matrix& X) { return Box{X, X}; }
  /// The ε-box c ± ε, rounded outward so it contains every X with |X − c| ≤ ε exactly.
  static Box around(const Matrix& c, double eps);
  long n() const { return lo.rows(); }
  long d() const { return lo.cols(); }
  bool is_point() const { return lo == hi; }
  /// A point inside the box near its centre (exactly inside: lo <= c <= hi).
  Matrix center() const;
  /// Upper bounds of hi − lo per entry.
  Matrix widths_up() const;
  /// The box as an interval matrix. Requires an UpwardScope.
  IMatrix enclosure() const;
  bool certainly_contains(const Matrix& X) const;
  /// The nearest point of the box (componentwise clamp; exact).
  Matrix project(const Matrix& X) const;
  /// Bisects entry (i, a) at a double m with lo < m < hi. Precondition: lo(i,a) < hi(i,a)
  /// with a representable double strictly between (otherwise returns std::nullopt).
  std::optional<std::pair<Box, Box>> split(long i, long a) const;
};

struct BallProduct {
  long n = 1, d = 1;
  double R = 1.0;  // exact radius as given

  /// True only if ‖x_i‖₂ ≤ R is proved for every row of X.
  bool certainly_contains(const Matrix& X) const;
  /// A point of the ball close to X (rows scaled towards 0 until proved inside).
  Matrix project(const Matrix& X) const;
  /// The bounding box [−R, R]^{n×d}.
  Box bounding_box() const;
  /// True if the box certainly misses the ball (some row's box is entirely outside the sphere).
  bool certainly_disjoint(const Box& b) const;
  /// A box containing box ∩ ball: each coordinate of each token clipped to
  /// |x_a| <= sqrt(R² − Σ_{b≠a} min_{box} x_b²) (rounded outward). Returns the box unchanged
  /// where nothing can be clipped; precondition: not certainly_disjoint(b).
  Box contract(const Box& b) const;
  /// True if the box lies certainly inside the ball.
  bool certainly_covers(const Box& b) const;
};

/// The per-token ℓ2 region {X : ‖x_i − c_i‖₂ <= ρ for every token i} around an exact centre c
/// (`certify --center FILE --l2 RHO`, the first-order tier's second region; docs/box.md).
struct TokenBalls {
  Matrix c;          // n × d centre (exact doubles)
  double rho = 0.0;  // exact radius as given, > 0
  long n() const { return c.rows(); }
  long d() const { return c.cols(); }
  /// True only if ‖x_i − c_i‖₂ <= ρ is proved for every token (directed rounding).
  bool certainly_contains(const Matrix& X) const;
  /// A point of the region close to X: each token's offset from c_i scaled towards 0 until
  /// proved inside.
  Matrix project(const Matrix& X) const;
};

/// Upper bound of sup { g·(x − c) : g ∈ G, ‖x‖₂ <= R } for an interval vector G (length d) and an
/// exact centre c: the first-order term of a leaf bound over box ∩ B_R. The minimum of two proved
/// bounds: R‖g‖ − g·c enclosed over G (first order in rad G), and, with g = m + Δ, |Δ| <= ρ,
/// ĝ = m/‖m‖, the concavity estimate R‖m‖ − m·c + Σ_a ρ_a|Rĝ_a − c_a| + R‖ρ‖²/(2‖m‖) (second
/// order where c ≈ Rĝ, i.e. at a maximum on the sphere). Requires an UpwardScope.
double ball_linear_sup(const Interval* G, const double* c, long d, double R);

/// Region of a certify run.
using Region = std::variant<Box, BallProduct, TokenBalls>;

std::string describe(const Region& r);

}  // namespace attnbound
