// load_model: SPEC dispatch (.json, .safetensors, builtin:NAME) and the options every loader shares.
#include <algorithm>
#include <set>

#include "core/rounding.hpp"
#include "model/file_io.hpp"
#include "model/hf_layout.hpp"
#include "model/model.hpp"

namespace attnbound {

namespace {

constexpr std::uint64_t kMaxJsonBytes = std::uint64_t{4} << 30;

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

class SafetensorsTensors final : public model_detail::TensorSource {
 public:
  explicit SafetensorsTensors(const SafetensorsFile& f) : f_(f) {
    for (const auto& e : f_.entries()) names_.push_back(e.name);
  }
  const std::string& label() const override { return f_.label(); }
  std::vector<std::string> names() const override { return names_; }
  const std::vector<std::uint64_t>* shape(const std::string& name) const override {
    const SafetensorsEntry* e = f_.find(name);
    return e ? &e->shape : nullptr;
  }
  std::vector<double> values(const std::string& name) const override { return f_.read(name); }
  const std::map<std::string, std::string>& metadata() const override { return f_.metadata(); }

 private:
  const SafetensorsFile& f_;
  std::vector<std::string> names_;
};

}  // namespace

Mask parse_mask(std::string_view text) {
  if (text == "none") return Mask::none;
  if (text == "causal") return Mask::causal;
  throw ModelError("--mask: \"" + std::string(text.substr(0, 40)) + "\" is not a mask (expected none or causal)");
}

void select_heads(AttentionLayer& layer, const std::vector<int>& keep) {
  if (keep.empty()) throw ModelError(layer.source + ": --heads: empty head list");
  std::set<int> seen;
  std::vector<Head> heads;
  std::string list;
  for (int h : keep) {
    if (h < 0 || h >= layer.n_heads())
      throw ModelError(layer.source + ": --heads: head " + std::to_string(h) + " out of range (the layer has " +
                       std::to_string(layer.n_heads()) + " heads, 0.." + std::to_string(layer.n_heads() - 1) + ")");
    if (!seen.insert(h).second) throw ModelError(layer.source + ": --heads: head " + std::to_string(h) + " listed twice");
    heads.push_back(layer.heads[static_cast<std::size_t>(h)]);
    list += (list.empty() ? "" : ",") + std::to_string(h);
  }
  layer.heads = std::move(heads);
  layer.source += " heads=" + list;
}

AttentionLayer layer_from_safetensors(const SafetensorsFile& file, const LoadOptions& opt) {
  RoundingGuard nearest(Rounding::nearest);
  SafetensorsTensors src(file);
  return model_detail::hf_layer(src, opt);
}

AttentionLayer load_model(const std::string& spec, const LoadOptions& opt) {
  RoundingGuard nearest(Rounding::nearest);
  AttentionLayer L;
  if (spec.rfind("builtin:", 0) == 0) {
    const std::string name = spec.substr(8);
    if (opt.layer != 0) throw ModelError(spec + ": a builtin has a single layer (got --layer " + std::to_string(opt.layer) + ")");
    L = builtin_model(name, opt.seed);
    const std::string arch = name == "gpt2-init" ? "gpt2" : name == "bert-init" ? "bert" : "";
    if (!opt.arch.empty() && opt.arch != arch)
      throw ModelError(spec + ": --arch " + opt.arch + " does not apply (" +
                       (arch.empty() ? "a paper-form builtin has no architecture" : "its architecture is " + arch) + ")");
    if (opt.n_heads != 0 && opt.n_heads != L.n_heads())
      throw ModelError(spec + ": --n-heads " + std::to_string(opt.n_heads) + " contradicts its " +
                       std::to_string(L.n_heads()) + " heads");
  } else if (ends_with(spec, ".json")) {
    if (!opt.arch.empty()) throw ModelError(spec + ": --arch applies to .safetensors files only");
    if (opt.layer != 0) throw ModelError(spec + ": a JSON model has a single layer (got --layer " + std::to_string(opt.layer) + ")");
    L = model_from_json(model_detail::read_whole_file(spec, kMaxJsonBytes), spec);
    if (opt.n_heads != 0 && opt.n_heads != L.n_heads())
      throw ModelError(spec + ": --n-heads " + std::to_string(opt.n_heads) + " contradicts its " +
                       std::to_string(L.n_heads()) + " heads");
  } else if (ends_with(spec, ".safetensors")) {
    L = layer_from_safetensors(SafetensorsFile::open(spec), opt);
  } else {
    throw ModelError("model \"" + spec + "\": expected a .json file, a .safetensors file or builtin:NAME");
  }
  if (opt.need_norm && L.norm.kind == Norm::Kind::none)
    throw ModelError(spec + ": the model has no LayerNorm/RMSNorm, but the region takes its radius from one");
  if (opt.heads) select_heads(L, *opt.heads);
  if (opt.mask_override && *opt.mask_override != L.mask) {
    L.mask = *opt.mask_override;
    L.source += std::string(" mask=") + to_string(L.mask);
  }
  try {
    L.validate();
  } catch (const ModelError& e) {
    throw ModelError(spec + ": " + e.what());
  }
  return L;
}

}  // namespace attnbound
