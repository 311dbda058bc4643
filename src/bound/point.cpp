// The local Lipschitz constant ‖J(X)‖ at a point: the dense tier up to n·d = kDensePointLimit,
// the structured tier (structured.cpp) above it.
#include <algorithm>
#include <chrono>
#include <thread>

#include "bound/bound.hpp"
#include "linalg/linalg.hpp"

namespace attnbound {

namespace {
double since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}
}  // namespace

Bracket certify_point(const AttentionLayer& layer, const Matrix& X, const CertifyOptions& opt) {
  const auto t0 = std::chrono::steady_clock::now();
  Bracket b;
  const bool structured = X.rows() * X.cols() > kDensePointLimit;
  // At GPT-2 width one JVP costs ~10 GFLOP at n = 1024: a lower bound does not need a fully
  // converged singular vector, so the large path stops the Lanczos iteration early.
  const auto est = structured ? approx::jacobian_norm(layer, X, 60, 1e-7) : approx::jacobian_norm(layer, X);
  b.estimate = est.sigma;
  b.lower = evaluate_witness(layer, X, est.right);
  b.lower_method = "witness: ‖J(X)v‖/‖v‖ at the float top singular vector (interval JVP)";
  b.witness = Witness{"point", X, est.right};

  if (structured) {
    StructuredOptions so;
    so.threads = opt.threads > 0 ? opt.threads : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    const StructuredBound sb = structured_upper(layer, X, so);
    b.upper = sb.upper;
    b.upper_method = sb.method;
    b.upper_evidence = UpperEvidence{"structured", Matrix()};
    b.seconds = since(t0);
    return b;
  }

  IMatrix J;
  {
    UpwardScope up;
    IMatrix Xi(X.rows(), X.cols());
    for (Eigen::Index i = 0; i < X.rows(); ++i)
      for (Eigen::Index a = 0; a < X.cols(); ++a) Xi(i, a) = point(X(i, a));
    J = jacobian<Interval>(layer, forward<Interval>(layer, Xi));
  }
  b.upper = norm2_upper(J);
  b.upper_method = "dense: interval Jacobian at X, verified ‖mid‖ (Gram + Cholesky) + ‖rad‖";
  b.upper_evidence = UpperEvidence{"dense", est.right};
  b.seconds = since(t0);
  return b;
}

}  // namespace attnbound
