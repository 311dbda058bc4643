// attnbound/model — the public header of the model module: the AttentionLayer data type
// (layer.hpp) and every way to obtain one: model SPECs (JSON, safetensors, builtins), the
// HF GPT-2/BERT layouts, exact JSON output, the model digest, the LayerNorm radius.
//
// Contract of the module (docs/models.md has the formats):
//  * Loading is exact: a weight in a file becomes the double it denotes (F64/F32/F16/BF16 convert
//    exactly; a JSON decimal becomes its nearest double, read under round-to-nearest whatever the
//    caller's rounding mode). Layout maps (GPT-2 Conv1D, BERT nn.Linear, head slicing) only move
//    numbers, they never compute with them.
//  * Every failure is a ModelError whose what() is ONE line naming the file (or builtin) and the
//    field / tensor / byte offset at fault. No input makes a loader crash, assert, or allocate more
//    than a small multiple of the input's real size (safe to fuzz).
//  * A loaded layer has passed AttentionLayer::validate() (shapes, finite weights).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/bounds.hpp"
#include "model/layer.hpp"

namespace attnbound {

// ---- model SPECs --------------------------------------------------------------------------------

struct LoadOptions {
  /// Layout of a .safetensors file: "gpt2", "bert", or "" = infer from the tensor names.
  /// For .json files it must be empty; for builtins empty or the builtin's own architecture.
  std::string arch;
  /// Layer index in a checkpoint (0-based). JSON files and builtins hold one layer: must be 0.
  int layer = 0;
  /// Keep only these heads, in this order (`--heads`); indices refer to the loaded layer.
  std::optional<std::vector<int>> heads;
  /// Seed of the random builtins (gpt2-init, bert-init); other builtins ignore it.
  std::uint64_t seed = 0;
  /// Replaces the mask of the loaded layer (`--mask`).
  std::optional<Mask> mask_override;
  /// The region reads R from the model's LayerNorm: a missing norm is then an error.
  bool need_norm = false;
  /// Heads per layer of a checkpoint (`--n-heads`); 0 = from metadata, else d / 64 (docs/models.md).
  int n_heads = 0;
};

/// Loads one attention layer from SPEC: a path ending in ".json" or ".safetensors", or
/// "builtin:NAME". Applies `heads`, `mask_override`, then validates. Throws ModelError.
AttentionLayer load_model(const std::string& spec, const LoadOptions& opt = {});

/// "none" or "causal"; anything else throws ModelError.
Mask parse_mask(std::string_view text);

/// Keeps the heads `keep` (in that order); throws ModelError on an empty list, an index out of
/// range or a repeated index. Appends the selection to `source`.
void select_heads(AttentionLayer& layer, const std::vector<int>& keep);

// ---- JSON (attnbound-model) ---------------------------------------------------------------------

/// Parses an attnbound-model JSON document (paper form or full form). `label` names the input in
/// messages (normally the file name). Ignores LoadOptions::layer/heads (load_model applies them).
AttentionLayer model_from_json(std::string_view text, const std::string& label);

/// The JSON text of a layer: paper form when the layer is a paper-form layer, full form otherwise.
/// Every double is written as its shortest round-trip decimal; reading it back gives a layer with
/// the same digest (bit-identical weights).
std::string model_to_json(const AttentionLayer& layer);

/// Writes model_to_json(layer) to `path` atomically (temporary file in the same directory, then
/// rename). Throws ModelError if the file cannot be written.
void save_model_json(const AttentionLayer& layer, const std::string& path);

// ---- safetensors --------------------------------------------------------------------------------

/// One tensor entry of a safetensors header, validated (see SafetensorsFile).
struct SafetensorsEntry {
  std::string name;
  std::string dtype;                 // "F64", "F32", "F16", "BF16", "I64", ...
  std::vector<std::uint64_t> shape;  // [] is a scalar
  std::uint64_t begin = 0, end = 0;  // byte offsets inside the data buffer
  std::uint64_t count = 1;           // product of shape
};

/// A safetensors file with a validated header; tensor data is read lazily, one tensor at a time.
///
/// Validation at open: header length N <= 100 MB and 8 + N <= file size; the header is a JSON
/// object without duplicate keys; "__metadata__" maps strings to strings; every tensor has a known
/// dtype, a shape of non-negative integers, data_offsets [begin, end] with begin <= end, end inside
/// the data buffer, end - begin == product(shape) * dtype size (overflow-checked); tensors do not
/// overlap and cover the data buffer without holes (as the format requires).
class SafetensorsFile {
 public:
  static SafetensorsFile open(const std::string& path);
  /// The same on an in-memory image (tests, fuzzing). `label` names it in messages.
  static SafetensorsFile from_bytes(std::string bytes, std::string label = "<memory>");

  const std::string& label() const;
  /// Entries sorted by name.
  const std::vector<SafetensorsEntry>& entries() const;
  const SafetensorsEntry* find(std::string_view name) const;
  const std::map<std::string, std::string>& metadata() const;
  /// The tensor's values in row-major order, converted exactly to double. Floating dtypes only
  /// (F64, F32, F16, BF16); NaN/Inf are returned as such (validate() rejects them in a layer).
  std::vector<double> read(const SafetensorsEntry& entry) const;
  std::vector<double> read(std::string_view name) const;  // ModelError if absent

 private:
  struct Impl;
  std::shared_ptr<const Impl> impl_;
};

/// A tensor to write: values row-major, count == product(shape). dtype "F64", "F32", "F16" or
/// "BF16"; every value must be exactly representable in the dtype (else ModelError: the writer
/// never rounds).
struct SafeTensor {
  std::string name;
  std::string dtype = "F64";
  std::vector<std::uint64_t> shape;
  std::vector<double> values;
};

/// The bytes of a safetensors file (header padded with spaces to a multiple of 8, tensors in the
/// given order, contiguous).
std::string encode_safetensors(const std::vector<SafeTensor>& tensors,
                               const std::map<std::string, std::string>& metadata = {});
/// Writes encode_safetensors(...) to `path` atomically.
void write_safetensors(const std::string& path, const std::vector<SafeTensor>& tensors,
                       const std::map<std::string, std::string>& metadata = {});

/// Exact conversions of the 16-bit float formats (IEEE binary16 incl. subnormals/inf/NaN; bfloat16).
double f16_to_double(std::uint16_t bits);
double bf16_to_double(std::uint16_t bits);

/// The GPT-2 / BERT layer `opt.layer` of an opened checkpoint (THEORY.md §1 layouts).
AttentionLayer layer_from_safetensors(const SafetensorsFile& file, const LoadOptions& opt);

// ---- builtin models -----------------------------------------------------------------------------

/// Names accepted after "builtin:": gpt2-init, bert-init, paper-toy, tiny, tiny-causal.
std::vector<std::string> builtin_names();
/// The builtin layer NAME (seed used by the random ones). Throws ModelError for an unknown name.
AttentionLayer builtin_model(const std::string& name, std::uint64_t seed = 0);
/// The HF-layout tensors of a random builtin ("gpt2-init", "bert-init") as a one-layer checkpoint:
/// loading them with the matching arch gives builtin_model(name, seed) bit for bit.
std::vector<SafeTensor> builtin_checkpoint(const std::string& name, std::uint64_t seed = 0);

// ---- identity, norms, description ---------------------------------------------------------------

/// Lowercase hex SHA-256 of the canonical serialisation of the layer's weights, dimensions, mask
/// and norm (docs/models.md, "Model digest"). `source` and `paper_form` are not part of it.
std::string model_digest(const AttentionLayer& layer);

/// Guarantee: an upper bound of sup_x ‖N(x)‖₂ for the layer's normalisation N (THEORY.md §3):
/// ‖γ‖_∞ √d + ‖β‖₂ for LayerNorm, ‖γ‖_∞ √d for RMSNorm, evaluated with upward rounding.
/// Throws ModelError if the norm is absent.
UpperBound layernorm_radius(const Norm& norm);

/// A few lines describing the layer: source, form, d, heads and their shapes, mask, biases, norm
/// (with its radius), digest. For `attnbound info`.
std::string describe(const AttentionLayer& layer);

}  // namespace attnbound
