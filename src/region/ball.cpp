#include <algorithm>
#include <cmath>
#include <sstream>
#include <vector>

#include "region/region.hpp"

namespace attnbound {

namespace {
// Upper bound of ‖x‖² for a row given as doubles.
double row_norm2_up(const Matrix& X, Eigen::Index i) {
  UpwardScope up;
  double s = 0;
  for (Eigen::Index a = 0; a < X.cols(); ++a) s += X(i, a) * X(i, a);
  return s;
}
double r2_down(double R) {
  RoundingGuard g(Rounding::downward);
  volatile double r = R;
  return r * r;
}
double r2_up(double R) {
  RoundingGuard g(Rounding::upward);
  volatile double r = R;
  return r * r;
}
}  // namespace

bool BallProduct::certainly_contains(const Matrix& X) const {
  if (X.rows() != n || X.cols() != d) return false;
  const double lim = r2_down(R);
  for (Eigen::Index i = 0; i < X.rows(); ++i)
    if (!(row_norm2_up(X, i) <= lim)) return false;
  return true;
}

Matrix BallProduct::project(const Matrix& X) const {
  Matrix Y = X;
  const double lim = r2_down(R);
  for (Eigen::Index i = 0; i < Y.rows(); ++i) {
    double nrm = std::sqrt(Y.row(i).squaredNorm());
    if (nrm > R) Y.row(i) *= R / nrm;
    // Rounding can leave the row a hair outside: shrink until proved inside.
    int guard = 0;
    while (!(row_norm2_up(Y, i) <= lim) && guard++ < 64) Y.row(i) *= (1.0 - 0x1p-40);
  }
  return Y;
}

// ‖x_i − c_i‖² is bounded above by summing squares of upward-rounded |x − c| (each difference
// rounded away from zero: upward for x >= c, and c − x upward otherwise).
bool TokenBalls::certainly_contains(const Matrix& X) const {
  if (X.rows() != c.rows() || X.cols() != c.cols()) return false;
  const double lim = r2_down(rho);
  UpwardScope up;
  for (Eigen::Index i = 0; i < X.rows(); ++i) {
    double s = 0;
    for (Eigen::Index a = 0; a < X.cols(); ++a) {
      const double t = X(i, a) >= c(i, a) ? X(i, a) - c(i, a) : c(i, a) - X(i, a);
      s += t * t;
    }
    if (!(s <= lim)) return false;
  }
  return true;
}

Matrix TokenBalls::project(const Matrix& X) const {
  Matrix Y = X;
  for (Eigen::Index i = 0; i < Y.rows(); ++i) {
    Vector delta = (Y.row(i) - c.row(i)).transpose();
    const double nrm = delta.norm();
    if (nrm > rho) delta *= rho / nrm;
    Y.row(i) = c.row(i) + delta.transpose();
  }
  // Rounding can leave a token a hair outside: shrink the offsets until proved inside.
  for (int guard = 0; guard < 64 && !certainly_contains(Y); ++guard) Y = c + (Y - c) * (1.0 - 0x1p-30);
  return Y;
}

Box BallProduct::bounding_box() const {
  return Box{Matrix::Constant(n, d, -R), Matrix::Constant(n, d, R)};
}

bool BallProduct::certainly_disjoint(const Box& b) const {
  const double lim = r2_up(R);
  UpwardScope up;
  for (Eigen::Index i = 0; i < b.n(); ++i) {
    // Lower bound of min_{x in row box} ‖x‖²: per coordinate, the distance of [lo, hi] to 0.
    double s = 0;
    for (Eigen::Index a = 0; a < b.d(); ++a) {
      double lo = b.lo(i, a), hi = b.hi(i, a);
      double m = lo > 0 ? lo : (hi < 0 ? -hi : 0.0);
      const double m2_down = -((-m) * m);  // RD(m²) under upward rounding
      s = -((-s) - m2_down);               // RD(s + m²)
    }
    if (s > lim) return true;
  }
  return false;
}

Box BallProduct::contract(const Box& b) const {
  Box out = b;
  const double R2 = r2_up(R);
  UpwardScope up;
  for (Eigen::Index i = 0; i < b.n(); ++i) {
    // m2[a] <= min over the row box of x_a² (rounded down).
    std::vector<double> m2(b.d());
    for (Eigen::Index a = 0; a < b.d(); ++a) {
      const double lo = out.lo(i, a), hi = out.hi(i, a);
      const double m = lo > 0 ? lo : (hi < 0 ? -hi : 0.0);
      m2[a] = -((-m) * m);
    }
    for (Eigen::Index a = 0; a < b.d(); ++a) {
      // others >= Σ_{b≠a} m2[b]: recompute downward without subtracting (exactness of the bound).
      double others = 0;
      for (Eigen::Index c = 0; c < b.d(); ++c)
        if (c != a) others = -((-others) - m2[c]);
      const double room = R2 - others;  // rounded up: an upper bound of R² − others
      if (!(room >= 0)) continue;       // cannot happen unless disjoint; leave unchanged
      const double lim = std::sqrt(room);  // rounded up under upward rounding (sqrt is exact-rounded)
      if (out.hi(i, a) > lim) out.hi(i, a) = lim;
      if (out.lo(i, a) < -lim) out.lo(i, a) = -lim;
      if (out.lo(i, a) > out.hi(i, a)) out.lo(i, a) = out.hi(i, a);  // only if disjoint (excluded)
    }
  }
  return out;
}

bool BallProduct::certainly_covers(const Box& b) const {
  const double lim = r2_down(R);
  UpwardScope up;
  for (Eigen::Index i = 0; i < b.n(); ++i) {
    double s = 0;
    for (Eigen::Index a = 0; a < b.d(); ++a) {
      double m = std::max(std::abs(b.lo(i, a)), std::abs(b.hi(i, a)));
      s += m * m;
    }
    if (!(s <= lim)) return false;
  }
  return true;
}

std::string describe(const Region& r) {
  std::ostringstream os;
  if (const Box* b = std::get_if<Box>(&r)) {
    if (b->is_point()) os << "point, n=" << b->n() << ", d=" << b->d();
    else os << "box, n=" << b->n() << ", d=" << b->d();
  } else if (const TokenBalls* t = std::get_if<TokenBalls>(&r)) {
    os << "l2 balls around a centre, rho=" << t->rho << ", n=" << t->n() << ", d=" << t->d();
  } else {
    const auto& bp = std::get<BallProduct>(r);
    os << "ball product B_R^n, R=" << bp.R << ", n=" << bp.n << ", d=" << bp.d;
  }
  return os.str();
}

// Upper bound of sup { g·(x − c) : g ∈ G, ‖x‖ <= R } for an interval vector G (one token's
// gradient enclosure) and an exact centre c. Requires UpwardScope. Two proved bounds, the smaller
// returned:
//  crude  R‖g‖ − g·c with ‖g‖ and g·c enclosed over G: loses ~2R·rad(G), first order in the box
//         width even where the linear maximiser over B_R lies in the box;
//  sharp  with g = m + Δ (m ∈ G a double, |Δ_a| <= ρ_a) and ĝ = m/‖m‖, the concavity estimate
//         ‖m + Δ‖ <= ‖m‖ + Δ·ĝ + ‖Δ‖²/(2‖m‖) (square the right side, t = Δ·ĝ, s = ‖Δ‖²/(2‖m‖):
//         (‖m‖ + t + s)² >= ‖m‖² + 2‖m‖t + 2‖m‖s = ‖m + Δ‖², and ‖m‖ + t + s >= 0) gives
//           R‖g‖ − g·c <= R‖m‖ − m·c + Σ_a ρ_a |Rĝ_a − c_a| + R‖ρ‖²/(2‖m‖),
//         whose excess over the linearisation is O(ρ·|Rĝ − c| + ρ²): second order at a boundary
//         maximum, where c is near the sphere and the gradient points along it (KKT).
double ball_linear_sup(const Interval* g, const double* c, long d, double R) {
  Interval g2 = point(0.0), gc = point(0.0), m2 = point(0.0), mc = point(0.0);
  std::vector<double> m(static_cast<std::size_t>(d)), rho(static_cast<std::size_t>(d));
  double rho2 = 0;
  for (long a = 0; a < d; ++a) {
    g2 += square(g[a]);
    gc += g[a] * point(c[a]);
    m[a] = median(g[a]);
    rho[a] = mag(g[a] - point(m[a]));
    rho2 += rho[a] * rho[a];
    m2 += square(point(m[a]));
    mc += point(m[a]) * point(c[a]);
  }
  const double crude = (point(R) * sqrt(point(g2.upper())) - gc).upper();
  const Interval norm_m = sqrt(m2);
  if (!(norm_m.lower() > 0)) return crude;
  double lin = (point(R) * norm_m - mc).upper();
  for (long a = 0; a < d; ++a) lin += rho[a] * mag(point(R) * (point(m[a]) / norm_m) - point(c[a]));
  lin += (point(R) * point(rho2) / (point(2.0) * point(norm_m.lower()))).upper();
  return std::isfinite(lin) ? std::min(crude, lin) : crude;
}

}  // namespace attnbound
