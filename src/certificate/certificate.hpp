// attnbound/certificate — certificate files: the claim of a certify run and the evidence an
// independent checker (checks/, `attnbound-check`) needs to re-derive it with its own arithmetic.
//
// Format: docs/certificate.md (version 1). Guarantees of this module:
//  * Exact numbers: every double is written as its shortest round-trip decimal (std::to_chars),
//    so parsing the file gives back the very doubles that were proved (tested bit for bit).
//  * The claim is the engine's bracket widened by the documented relative slack kClaimSlack
//    (lower rounded down, upper rounded up): still proved, and robust to the checker's independent
//    recomputation differing from the engine's in the last bits.
//  * Atomic files: the text goes to a temporary file in the target directory, is flushed to disk,
//    then renamed over the target, so an interrupted run never leaves a truncated certificate.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "bound/bound.hpp"
#include "model/layer.hpp"
#include "region/region.hpp"

namespace attnbound {

/// Relative slack between the engine's bracket and the certificate's claim: 2^-40.
inline constexpr double kClaimSlack = 0x1p-40;

/// Everything a certify run knows that goes into its certificate.
struct CertifyRecord {
  std::string model_spec;     // as given on the command line (the checker reloads it)
  const AttentionLayer* layer = nullptr;
  Region region;
  Bracket bracket;
  double tol = 0.0;
  std::string status;         // "ok" | "budget"

  // How the model was loaded (the checker applies the same options), attnbound's LoadOptions.
  std::string model_arch;        // --arch ("" = inferred / not applicable)
  int model_layer = 0;           // --layer
  std::vector<int> model_heads;  // --heads (empty = all heads)
  std::uint64_t model_seed = 0;  // --seed
  std::string model_mask;        // --mask ("" = the model's own mask)
  int model_n_heads = 0;         // --n-heads (0 = from the checkpoint)
  /// The ball's radius was read from the model's LayerNorm/RMSNorm (--layernorm).
  bool radius_from_norm = false;

  std::string tool_version = "unknown";
  std::string git_revision = "unknown";
  /// Code generation of the engine that wrote it ("x86-64 baseline" or "-march=native"),
  /// informational: the cross-build test checks certificates across the two.
  std::string build = "unknown";
};

/// The certified claim written to a certificate: the bracket widened by kClaimSlack.
/// lower' = RD(lower·(1 − 2^-40)) if lower > 0, else lower; upper' = RU(upper·(1 + 2^-40)).
struct CertificateClaim {
  LowerBound lower = LowerBound::zero();
  UpperBound upper = UpperBound::infinity();
};
CertificateClaim certificate_claim(const Bracket& bracket);

/// The certificate as JSON (docs/certificate.md). Throws std::invalid_argument if the record is
/// incomplete (no layer) or the bracket holds a non-finite number where the format needs one.
nlohmann::json certificate_json(const CertifyRecord& record);

/// The certificate's text: certificate_json(record) laid out one matrix row / partition leaf per
/// line, every double as its shortest round-trip decimal.
std::string certificate_text(const CertifyRecord& record);

/// Layout used by certificate_text for any JSON value (exposed for tests): objects one key per
/// line, numeric rows on one line, every double via std::to_chars (shortest round trip, with
/// ".0" appended when the text would otherwise read back as an integer).
std::string certificate_layout(const nlohmann::json& j);

/// Writes the certificate atomically (temporary file in the same directory, fsync, rename).
/// Throws std::runtime_error with one line naming the path if it cannot be written.
void write_certificate(const std::string& path, const CertifyRecord& record);
/// The same for a certificate text already built (certificate_text), e.g. after the CLI had the
/// independent checker re-derive it.
void write_certificate_text(const std::string& path, const std::string& text);

}  // namespace attnbound
