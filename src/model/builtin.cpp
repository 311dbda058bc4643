// Builtin models (docs/models.md, "Builtin models"). The random ones are generated as HF-layout
// checkpoints and mapped by the same code as a safetensors file, so `builtin:gpt2-init` and the
// file written from builtin_checkpoint("gpt2-init") are the same layer bit for bit.
#include <cmath>

#include "core/rounding.hpp"
#include "model/hf_layout.hpp"
#include "model/model.hpp"
#include "model/normal_rng.hpp"

namespace attnbound {

namespace {

constexpr long kD = 768;  // GPT-2 small / BERT base width, 12 heads of 64

/// `rows x cols` draws of sigma * N(0, 1), row-major.
SafeTensor normal_tensor(model_detail::NormalRng& rng, std::string name, std::uint64_t rows,
                         std::uint64_t cols, double sigma) {
  SafeTensor t;
  t.name = std::move(name);
  t.shape = {rows, cols};
  t.values.resize(rows * cols);
  for (double& x : t.values) x = sigma * rng.normal();
  return t;
}

SafeTensor constant_tensor(std::string name, std::uint64_t len, double value) {
  SafeTensor t;
  t.name = std::move(name);
  t.shape = {len};
  t.values.assign(len, value);
  return t;
}

Matrix mat2(double a, double b, double c, double d) {
  Matrix m(2, 2);
  m << a, b, c, d;
  return m;
}

}  // namespace

std::vector<std::string> builtin_names() { return {"gpt2-init", "bert-init", "paper-toy", "tiny", "tiny-causal"}; }

std::vector<SafeTensor> builtin_checkpoint(const std::string& name, std::uint64_t seed) {
  RoundingGuard nearest(Rounding::nearest);
  model_detail::NormalRng rng(seed);
  std::vector<SafeTensor> t;
  if (name == "gpt2-init") {
    // HF GPT2 _init_weights: N(0, 0.02²); c_proj rescaled by 1/sqrt(2 n_layer), n_layer = 12.
    const double sigma = 0.02, sigma_proj = 0.02 / std::sqrt(24.0);
    t.push_back(normal_tensor(rng, "h.0.attn.c_attn.weight", kD, 3 * kD, sigma));
    t.push_back(normal_tensor(rng, "h.0.attn.c_proj.weight", kD, kD, sigma_proj));
    t.push_back(constant_tensor("h.0.attn.c_attn.bias", 3 * kD, 0.0));
    t.push_back(constant_tensor("h.0.attn.c_proj.bias", kD, 0.0));
    t.push_back(constant_tensor("h.0.ln_1.weight", kD, 1.0));
    t.push_back(constant_tensor("h.0.ln_1.bias", kD, 0.0));
  } else if (name == "bert-init") {
    const double sigma = 0.02;
    const std::string p = "encoder.layer.0.attention.";
    for (const char* w : {"self.query", "self.key", "self.value", "output.dense"})
      t.push_back(normal_tensor(rng, p + w + ".weight", kD, kD, sigma));
    for (const char* w : {"self.query", "self.key", "self.value", "output.dense"})
      t.push_back(constant_tensor(p + w + ".bias", kD, 0.0));
    t.push_back(constant_tensor("embeddings.LayerNorm.weight", kD, 1.0));
    t.push_back(constant_tensor("embeddings.LayerNorm.bias", kD, 0.0));
  } else {
    throw ModelError("builtin:" + name + ": not a random checkpoint builtin (gpt2-init, bert-init)");
  }
  return t;
}

AttentionLayer builtin_model(const std::string& name, std::uint64_t seed) {
  RoundingGuard nearest(Rounding::nearest);
  const std::string label = "builtin:" + name;
  AttentionLayer L;
  if (name == "gpt2-init" || name == "bert-init") {
    const auto tensors = builtin_checkpoint(name, seed);
    model_detail::MemoryTensors src(label, tensors, {{"n_head", "12"}});
    LoadOptions opt;
    opt.arch = name == "gpt2-init" ? "gpt2" : "bert";
    opt.need_norm = true;
    L = model_detail::hf_layer(src, opt);
    L.source = label + " seed=" + std::to_string(seed);
  } else if (name == "paper-toy") {
    // sym(A) = diag(4, -1), ‖A‖ ≈ 4.08; V e1 = e1. Intended radius R = 2: the witnesses of
    // THEORY.md §3 grow like √n up to n ≈ e^{qR²/4} = e^4 ≈ 55, then plateau near 12.9.
    L = make_paper_layer({mat2(4.0, 0.5, -0.5, -1.0)}, {mat2(1.0, 0.25, 0.0, 0.5)}, Mask::none);
    L.source = label;
  } else if (name == "tiny" || name == "tiny-causal") {
    // Small logits (‖A‖ ≈ 0.57): every tier is cheap and tight at small n.
    L = make_paper_layer({mat2(0.5, 0.25, 0.0, -0.25)}, {mat2(1.0, 0.0, 0.5, 0.75)},
                         name == "tiny" ? Mask::none : Mask::causal);
    L.source = label;
  } else {
    std::string known;
    for (const auto& n : builtin_names()) known += (known.empty() ? "" : ", ") + n;
    throw ModelError(label + ": unknown builtin model (known: " + known + ")");
  }
  return L;
}

}  // namespace attnbound
