// Upper bound of sup{‖X‖₂ : X ∈ [mid ± rad]} = ‖mid‖₂ + ‖rad‖₂ (docs/linalg.md §4).
//
// For |X − mid| <= rad entrywise, ‖X − mid‖₂ <= ‖ |X − mid| ‖₂ <= ‖rad‖₂ (the spectral norm is
// monotone on non-negative matrices), so ‖X‖ <= ‖mid‖ + ‖rad‖. ‖mid‖ is proved as for a point
// matrix; ‖rad‖² = ρ(radᵀrad) is bounded by Collatz–Wielandt (nonneg.cpp).
#include <chrono>
#include <stdexcept>

#include "linalg/detail.hpp"
#include "linalg/linalg.hpp"

namespace attnbound {

namespace {

/// Upper bound of ‖rad‖₂ (rad >= 0), +inf for non-finite radii.
UpperBound radius_norm(const Matrix& rad, int threads) {
  for (Eigen::Index i = 0; i < rad.size(); ++i)
    if (rad.data()[i] < 0) throw std::invalid_argument("norm2_upper: negative radius");
  return UpperBound::proved(detail::abs_gram_rho_up(rad, 30, threads)).sqrt();
}

NormProof combine(NormProof mid, UpperBound rad, std::chrono::steady_clock::time_point t0) {
  mid.bound = mid.bound + rad;
  mid.method = "mid: " + mid.method + "; rad: collatz-wielandt";
  mid.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return mid;
}

}  // namespace

NormProof norm2_upper_proof(const MidRad& M, const NormOptions& options) {
  if (M.mid.rows() != M.rad.rows() || M.mid.cols() != M.rad.cols())
    throw std::invalid_argument("norm2_upper: mid and rad have different shapes");
  const auto t0 = std::chrono::steady_clock::now();
  const UpperBound rad = radius_norm(M.rad, detail::resolve_threads(options.threads));
  return combine(norm2_upper_proof(M.mid, options), rad, t0);
}

UpperBound norm2_upper(const MidRad& M) { return norm2_upper_proof(M).bound; }

NormProof norm2_upper_proof(const IMatrix& M, const NormOptions& options) {
  const auto t0 = std::chrono::steady_clock::now();
  MidRad mr = to_midrad(M);
  const UpperBound rad = radius_norm(mr.rad, detail::resolve_threads(options.threads));
  mr.rad = Matrix();  // release before the proof allocates its N×N buffer
  return combine(norm2_upper_proof(mr.mid, options), rad, t0);
}

UpperBound norm2_upper(const IMatrix& M) { return norm2_upper_proof(M).bound; }

}  // namespace attnbound
