// Module-internal: the HF GPT-2 and BERT checkpoint layouts (THEORY.md §1), over any source of
// named tensors (a safetensors file, or the in-memory checkpoint of a builtin).
#pragma once

#include <map>
#include <string>
#include <vector>

#include "model/model.hpp"

namespace attnbound::model_detail {

/// Named tensors with shapes known before their values are read (so shapes are checked first and
/// only the tensors of the requested layer are ever read).
class TensorSource {
 public:
  virtual ~TensorSource() = default;
  virtual const std::string& label() const = 0;
  virtual std::vector<std::string> names() const = 0;
  /// nullptr if absent.
  virtual const std::vector<std::uint64_t>* shape(const std::string& name) const = 0;
  virtual std::vector<double> values(const std::string& name) const = 0;
  virtual const std::map<std::string, std::string>& metadata() const = 0;
};

/// Builds layer opt.layer of a checkpoint; arch "gpt2", "bert" or "" (inferred from the names).
/// Uses opt.layer, opt.arch, opt.n_heads, opt.need_norm (not heads / mask_override).
AttentionLayer hf_layer(const TensorSource& src, const LoadOptions& opt);

/// A TensorSource over SafeTensors held in memory.
class MemoryTensors final : public TensorSource {
 public:
  MemoryTensors(std::string label, const std::vector<SafeTensor>& tensors,
                std::map<std::string, std::string> metadata);
  const std::string& label() const override { return label_; }
  std::vector<std::string> names() const override;
  const std::vector<std::uint64_t>* shape(const std::string& name) const override;
  std::vector<double> values(const std::string& name) const override;
  const std::map<std::string, std::string>& metadata() const override { return metadata_; }

 private:
  std::string label_;
  std::map<std::string, const SafeTensor*> by_name_;
  std::map<std::string, std::string> metadata_;
};

}  // namespace attnbound::model_detail
