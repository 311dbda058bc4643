// attnbound-check — the independent certificate checker (docs/certificate.md, "The checker").
//
// It re-derives every claim of a certificate with its own reader and its own verification logic,
// in MPFI at >= 128 bits (the Jacobian assembly and spectral norm of dense problems with n·d > 128
// use outward-rounded double intervals, see the docs). It links the arithmetic core (MpInterval),
// the model loader and digest, the shared attention templates (instantiated for MpInterval and
// Dual<MpInterval>) and linalg's verified norms — never the engine's bound, region, certificate
// or command-line code.
//
// Verdicts (the attnbound-check contract): 0 valid, 1 invalid (a claim is not re-derived or the
// certificate is inconsistent; `reason` says which, in one line), 2 unreadable (not a readable
// version-1 certificate, or its model cannot be loaded).
#pragma once

#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "core/matrix.hpp"
#include "model/layer.hpp"

namespace attnbound::check {

enum class Verdict { valid = 0, invalid = 1, unreadable = 2 };

struct CheckOptions {
  /// Model SPEC replacing the recorded one ("" = the recorded spec). The recorded load options
  /// (layer, heads, mask, seed, arch, n_heads) still apply.
  std::string model_override;
  /// Worker threads for partition leaves (0 = all cores).
  int threads = 0;
  /// MPFI precision in bits (at least 128).
  long precision = 128;
  /// If set, re-derives the upper claim of a "distributed" certificate (sup ‖J(X)‖ <= upper at the
  /// point X) instead of the single-machine dense rule: attnbound-check-mpi (checks/mpi/) sets it
  /// to its own MPI + ScaLAPACK proof. Returns {proved, note or reason}.
  std::function<std::pair<bool, std::string>(const AttentionLayer&, const Matrix& X, double upper)> distributed_upper;
};

struct CheckResult {
  Verdict verdict = Verdict::unreadable;
  std::string reason;              // one line; empty when valid
  std::vector<std::string> notes;  // what was verified, how (one line each)
  double seconds = 0.0;
  /// The certify run's own time as recorded in the certificate (run.seconds; NaN if absent).
  double engine_seconds = 0.0;
};

/// Checks the certificate in `path`. Never throws: every failure is a verdict with a reason.
CheckResult check_file(const std::string& path, const CheckOptions& options = {});

/// Checks certificate text; relative model paths are tried against `base_dir` when they do not
/// exist relative to the working directory.
CheckResult check_text(const std::string& text, const std::string& base_dir, const CheckOptions& options = {});

/// Exit code of a verdict (0, 1, 2).
inline int exit_code(Verdict v) { return static_cast<int>(v); }

}  // namespace attnbound::check
