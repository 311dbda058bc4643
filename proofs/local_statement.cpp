// U-local (THEORY.md §3: the seed code's data-dependent bound, no proof in hand):
//   ‖J(X)‖ ≤ Σ_h v_h (R_{A,h}² r² (n+1) + n)^{1/2},  R_{A,h} = max_i ‖A_hᵀ x̃_i‖,  r = max_{i,j} ‖x_i − x_j‖,
// with x̃ = (x, 1) and (Ã_h, Ṽ_h) when the layer has query/key biases. A pointwise claim: one X with
// a certified ‖J(X)‖ above the enclosure's upper end refutes it.
#include <algorithm>

#include "attention/paper_form.hpp"
#include "linalg/linalg.hpp"
#include "proofs/theorems.hpp"

namespace attnbound::proofs {

namespace {

// Tokens as columns, augmented with a row of ones when needed (exact).
Matrix token_columns(const Matrix& X, bool augmented) {
  Matrix T(X.cols() + (augmented ? 1 : 0), X.rows());
  T.topRows(X.cols()) = X.transpose();
  if (augmented) T.row(X.cols()).setOnes();
  return T;
}

// Enclosure of the Euclidean norm of an interval vector (requires UpwardScope).
Interval norm_enclosure(const IMatrix& y, Eigen::Index col) {
  Interval s = point(0.0);
  for (Eigen::Index k = 0; k < y.rows(); ++k) s += square(y(k, col));
  return sqrt(s);
}

}  // namespace

namespace {

// U-local at tokens taking the positions X.row(c) (each at least once) among n tokens in total:
// R_A and r depend only on the set of positions, the (n+1) and n factors on the count.
MpInterval ulocal_rows(const AttentionLayer& layer, const ModelQuantities& q, const Matrix& X, long long count) {
  const long n = X.rows();
  UpwardScope up;
  // r = max_{i,j} ‖x_i − x_j‖ (the augmented coordinate cancels).
  double r_lo = 0.0, r_hi = 0.0;
  for (long i = 0; i < n; ++i)
    for (long j = i + 1; j < n; ++j) {
      Interval s = point(0.0);
      for (long a = 0; a < X.cols(); ++a) s += square(point(X(i, a)) - point(X(j, a)));
      const Interval r = sqrt(s);
      r_lo = std::max(r_lo, r.lower());
      r_hi = std::max(r_hi, r.upper());
    }
  const MpInterval r = MpInterval::hull(r_lo, r_hi);
  const PaperFormEnclosure pf = paper_form_enclosure(layer, q.augmented);
  const Matrix T = token_columns(X, q.augmented);
  const MpInterval n1(static_cast<double>(count + 1)), nn(static_cast<double>(count));
  MpInterval sum(0);
  for (std::size_t h = 0; h < pf.A.size(); ++h) {
    const IMatrix At = pf.A[h].transpose();
    const IMatrix Y = mul(At, T);  // column i = A_hᵀ x̃_i, enclosed
    double ra_lo = 0.0, ra_hi = 0.0;
    for (long i = 0; i < n; ++i) {
      const Interval nrm = norm_enclosure(Y, i);
      ra_lo = std::max(ra_lo, nrm.lower());
      ra_hi = std::max(ra_hi, nrm.upper());
    }
    const MpInterval RA = MpInterval::hull(ra_lo, ra_hi);
    sum += q.heads[h].v * sqrt(square(RA) * square(r) * n1 + nn);
  }
  return sum;
}

}  // namespace

MpInterval ulocal_value(const AttentionLayer& layer, const ModelQuantities& q, const Matrix& X) {
  return ulocal_rows(layer, q, X, X.rows());
}

MpInterval ulocal_value(const AttentionLayer& layer, const ModelQuantities& q, const ClusteredWitness& w) {
  return ulocal_rows(layer, q, w.in.Y, w.n());
}

ULocalConfirmation confirm_ulocal(const AttentionLayer& layer, const Matrix& X, const Matrix& dir) {
  ULocalConfirmation c;
  c.j_lower = evaluate_witness(layer, X, dir).value();
  // R only enters the ball statements; any positive value serves for the head norms here.
  const ModelQuantities q = model_quantities(layer, 1.0);
  c.ulocal = ulocal_value(layer, q, X);
  c.refuted = c.j_lower > c.ulocal.upper_up();
  return c;
}

namespace approx {

namespace {
// max_{i<j} ‖x_i − x_j‖ in floating point (the float estimates' r; no guarantee).
double diameter_estimate(const Matrix& X) {
  double r = 0.0;
  for (long i = 0; i < X.rows(); ++i)
    for (long j = i + 1; j < X.rows(); ++j) r = std::max(r, (X.row(i) - X.row(j)).norm());
  return r;
}
}  // namespace

double ulocal_value(const AttentionLayer& layer, const Matrix& X) {
  RoundingGuard nearest(Rounding::nearest);
  const bool aug = needs_augmentation(layer);
  const auto pf = attnbound::approx::paper_form(layer, aug);
  const long n = X.rows();
  const double r = diameter_estimate(X);
  const Matrix T = token_columns(X, aug);
  double sum = 0.0;
  for (std::size_t h = 0; h < pf.A.size(); ++h) {
    const double RA = (pf.A[h].transpose() * T).colwise().norm().maxCoeff();
    const double v = attnbound::approx::norm2(pf.V[h]).value();
    sum += v * std::sqrt(RA * RA * r * r * static_cast<double>(n + 1) + static_cast<double>(n));
  }
  return sum;
}

double ulocal_repaired_value(const AttentionLayer& layer, const Matrix& X) {
  RoundingGuard nearest(Rounding::nearest);
  const bool aug = needs_augmentation(layer);
  const auto pf = attnbound::approx::paper_form(layer, aug);
  const long n = X.rows();
  const double r = diameter_estimate(X);
  const double tau = r * r / 2, nn = static_cast<double>(n);
  const Matrix T = token_columns(X, aug);
  double sum = 0.0;
  for (std::size_t h = 0; h < pf.A.size(); ++h) {
    const double RA = (pf.A[h].transpose() * T).colwise().norm().maxCoeff();
    const double a = attnbound::approx::norm2(pf.A[h]).value();
    const double v = attnbound::approx::norm2(pf.V[h]).value();
    sum += std::sqrt(3.0) * v * std::sqrt(nn + RA * RA * tau * nn + a * a * tau * tau);
  }
  return sum;
}

}  // namespace approx

}  // namespace attnbound::proofs
