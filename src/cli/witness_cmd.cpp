// `attnbound witness`: the THEORY.md witness inputs as point files, with their certified value.
#include <algorithm>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <ostream>
#include <sstream>

#include "bound/bound.hpp"
#include "cli/cli.hpp"
#include "cli/commands.hpp"

namespace attnbound::cli {

namespace {
std::string tokens_text(const Matrix& X) {
  std::ostringstream os;
  char buf[40];
  for (Eigen::Index i = 0; i < X.rows(); ++i) {
    for (Eigen::Index a = 0; a < X.cols(); ++a) {
      std::snprintf(buf, sizeof buf, "%.17g", X(i, a));
      os << (a ? " " : "") << buf;
    }
    os << "\n";
  }
  return os.str();
}
}  // namespace

int run_witness(const WitnessArgs& a, std::ostream& out, std::ostream& err) {
  if (a.n < 1) throw InputError("--n must be >= 1");
  if (!(a.radius > 0)) throw InputError("--radius must be > 0");
  const AttentionLayer layer = a.model.load(false);
  if (a.head < 0 || a.head >= layer.n_heads())
    throw InputError("--head " + std::to_string(a.head) + " is out of range (model has " +
                     std::to_string(layer.n_heads()) + " heads)");
  const BallProduct ball{a.n, layer.d, a.radius};
  Witness w;
  if (a.kind == "lb1") {
    AttentionLayer one = layer;
    one.heads = {layer.heads[a.head]};
    auto ws = approx::lb1_witnesses(one, a.n, a.radius);
    if (ws.empty()) throw InputError("head " + std::to_string(a.head) + " has no LB1 witness (A_h + A_hᵀ has no positive eigenvalue and the mirrored condition fails)");
    w = ws.front();
    w.name = "LB1(head " + std::to_string(a.head) + ")";
  } else if (a.kind == "cluster") {
    w = approx::lb_cluster_witness(layer, a.n, a.radius, a.head);
  } else if (a.kind == "balanced" || a.kind == "balanced-joint") {
    auto ws = approx::balanced_witnesses(layer, a.n, a.radius);
    const std::string want = a.kind == "balanced" ? "(head " + std::to_string(a.head) + ")" : "(all heads)";
    const auto it = std::find_if(ws.begin(), ws.end(), [&](const Witness& x) { return x.name.find(want) != std::string::npos; });
    if (it == ws.end())
      throw InputError(a.kind == "balanced"
                           ? "head " + std::to_string(a.head) + " has no balanced-pole witness (the quadric uᵀA_h u = q misses the unit sphere)"
                           : std::string("no joint balanced witness (one head only, or the heads' quadrics were not reached)"));
    w = *it;
    // The family's direction e_1 ⊗ A_hᵀu/‖A_hᵀu‖ sees the pole column only; where affordable the
    // float top right singular vector replaces it (the value is proved either way).
    if (a.n * layer.d <= 6144) {
      const Matrix v = approx::jacobian_norm(layer, w.X, 60, 1e-8, &w.dir).right;
      if (evaluate_witness(layer, w.X, v).value() > evaluate_witness(layer, w.X, w.dir).value()) w.dir = v;
    }
  } else if (a.kind == "ascent") {
    auto ws = approx::lb1_witnesses(layer, a.n, a.radius);
    const Matrix start = ws.empty() ? ball.project(Matrix::Constant(a.n, layer.d, a.radius / std::sqrt(double(layer.d))))
                                    : ws.front().X;
    w = approx::ascend(layer, Region(ball), start);
  } else {
    throw InputError("--kind must be lb1, cluster, balanced, balanced-joint or ascent (got '" + a.kind + "')");
  }
  const LowerBound l = evaluate_witness(layer, w.X, w.dir);
  if (!a.out.empty()) write_file_atomic(a.out, tokens_text(w.X));
  if (a.json) {
    nlohmann::json j{{"witness", w.name}, {"lower", l.value()}, {"n", a.n}, {"radius", a.radius},
                     {"file", a.out.empty() ? nlohmann::json(nullptr) : nlohmann::json(a.out)}};
    out << j.dump() << "\n";
  } else {
    out << w.name << ": n=" << a.n << ", R=" << a.radius << ", proved ‖J(X)‖ ≥ " << l.value() << "\n";
    if (!a.out.empty()) out << "tokens written to " << a.out << "\n";
    else out << tokens_text(w.X);
  }
  return kExitOk;
}

}  // namespace attnbound::cli
