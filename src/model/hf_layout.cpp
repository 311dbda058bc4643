// GPT-2 and BERT attention layers from HF checkpoints. Only data movement: every weight of the
// layer is a weight of the file, placed according to THEORY.md §1.
//
// GPT-2 (Conv1D, y = x W + b, W input-major [in, out]):
//   c_attn.weight [d, 3d], columns q | k | v, head h = columns h*dk .. (h+1)*dk-1 of each third:
//     W_Q^h[r][c] = c_attn.weight[c][h*dk + r],  W_K^h: column d + h*dk + r,  W_V^h: 2d + h*dk + r
//   c_proj.weight [d, d]: out_i = sum_m a_m P[m][i], a = concat of heads, so W_O = Pᵀ and
//     W_O^h[i][r] = P[h*dk + r][i].       Causal; logit divisor d_k; LayerNorm ln_1, eps 1e-5.
// BERT (nn.Linear, y = W x + b, W [out, in]):
//   W_Q^h[r][c] = query.weight[h*dk + r][c] (same for key, value);
//   W_O^h[i][r] = output.dense.weight[i][h*dk + r].  Unmasked; divisor d_k; LayerNorm in front of
//   layer l: embeddings.LayerNorm (l = 0) or encoder.layer.{l-1}.output.LayerNorm, eps 1e-12.
#include "model/hf_layout.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <set>

namespace attnbound::model_detail {

MemoryTensors::MemoryTensors(std::string label, const std::vector<SafeTensor>& tensors,
                             std::map<std::string, std::string> metadata)
    : label_(std::move(label)), metadata_(std::move(metadata)) {
  for (const auto& t : tensors) by_name_[t.name] = &t;
}

std::vector<std::string> MemoryTensors::names() const {
  std::vector<std::string> n;
  for (const auto& [k, v] : by_name_) n.push_back(k);
  return n;
}

const std::vector<std::uint64_t>* MemoryTensors::shape(const std::string& name) const {
  auto it = by_name_.find(name);
  return it == by_name_.end() ? nullptr : &it->second->shape;
}

std::vector<double> MemoryTensors::values(const std::string& name) const {
  auto it = by_name_.find(name);
  if (it == by_name_.end()) throw ModelError(label_ + ": missing tensor " + name);
  return it->second->values;
}

namespace {

std::string shape_text(const std::vector<std::uint64_t>& s) {
  std::string t = "[";
  for (std::size_t i = 0; i < s.size(); ++i) t += (i ? ", " : "") + std::to_string(s[i]);
  return t + "]";
}

/// A tensor read after its shape was checked; row-major values.
struct Tensor {
  std::vector<std::uint64_t> shape;
  std::vector<double> v;
  double at(std::uint64_t r, std::uint64_t c) const { return v[r * shape[1] + c]; }
};

class Layout {
 public:
  Layout(const TensorSource& src) : src_(src) {}

  [[noreturn]] void fail(const std::string& what) const { throw ModelError(src_.label() + ": " + what); }

  bool has(const std::string& name) const { return src_.shape(name) != nullptr; }

  const std::vector<std::uint64_t>& shape_of(const std::string& name, const char* why = nullptr) const {
    const auto* s = src_.shape(name);
    if (!s) fail("missing tensor " + name + (why ? std::string(" (") + why + ")" : std::string()));
    return *s;
  }

  Tensor get(const std::string& name, const std::vector<std::uint64_t>& expect, const char* why = nullptr) const {
    const auto& s = shape_of(name, why);
    if (s != expect) fail("tensor " + name + " has shape " + shape_text(s) + ", expected " + shape_text(expect));
    Tensor t{s, src_.values(name)};
    for (std::size_t i = 0; i < t.v.size(); ++i)
      if (!std::isfinite(t.v[i])) {
        std::string at = s.size() == 2 ? "[" + std::to_string(i / s[1]) + ", " + std::to_string(i % s[1]) + "]"
                                       : "[" + std::to_string(i) + "]";
        fail("tensor " + name + " has a non-finite value (" + std::to_string(t.v[i]) + ") at " + at);
      }
    return t;
  }

  /// Any name starts with `p` (for optional prefixes and layer existence).
  bool any_prefix(const std::string& p) const {
    for (const auto& n : src_.names())
      if (n.rfind(p, 0) == 0) return true;
    return false;
  }

  /// Layer indices present: names of the form `head` + digits + ".".
  std::set<long> layers(const std::string& head) const {
    std::set<long> out;
    for (const auto& n : src_.names()) {
      if (n.rfind(head, 0) != 0) continue;
      std::size_t i = head.size(), j = i;
      while (j < n.size() && j - i < 9 && std::isdigit(static_cast<unsigned char>(n[j]))) ++j;
      if (j > i && j < n.size() && n[j] == '.') out.insert(std::stol(n.substr(i, j - i)));
    }
    return out;
  }

  void require_layer(const std::string& head, int layer) const {
    if (layer < 0) fail("layer " + std::to_string(layer) + " is negative");
    auto ls = layers(head);
    if (ls.count(layer)) return;
    if (ls.empty()) fail("layer " + std::to_string(layer) + " not found: no tensors named " + head + "N.*");
    fail("layer " + std::to_string(layer) + " not found (the file has layers " + std::to_string(*ls.begin()) +
         ".." + std::to_string(*ls.rbegin()) + ")");
  }

  /// Heads: metadata (n_head / num_attention_heads) if present, else opt.n_heads, else d / 64.
  long n_heads(long d, int opt_heads) const {
    long meta = 0;
    std::string meta_key;
    for (const char* key : {"n_head", "num_attention_heads"}) {
      auto it = src_.metadata().find(key);
      if (it == src_.metadata().end()) continue;
      const std::string& s = it->second;
      long v = 0;
      bool ok = !s.empty() && s.size() <= 9;
      for (char c : s) ok = ok && std::isdigit(static_cast<unsigned char>(c));
      if (ok) v = std::stol(s);
      if (!ok || v < 1) fail("metadata " + std::string(key) + " = \"" + s.substr(0, 20) + "\" is not a positive integer");
      if (meta && v != meta) fail("metadata n_head and num_attention_heads disagree");
      meta = v;
      meta_key = key;
    }
    if (opt_heads < 0) fail("--n-heads must be positive (got " + std::to_string(opt_heads) + ")");
    if (meta && opt_heads && meta != opt_heads)
      fail("--n-heads " + std::to_string(opt_heads) + " contradicts metadata " + meta_key + " = " + std::to_string(meta));
    long h = meta ? meta : opt_heads;
    if (!h) {
      if (d % 64 != 0)
        fail("cannot infer the number of heads: no n_head metadata and d = " + std::to_string(d) +
             " is not a multiple of 64 (pass --n-heads)");
      h = d / 64;
    }
    if (h > d || d % h != 0)
      fail(std::to_string(h) + " heads do not divide d = " + std::to_string(d));
    return h;
  }

 private:
  const TensorSource& src_;
};

std::uint64_t u(long x) { return static_cast<std::uint64_t>(x); }

AttentionLayer gpt2_layer(const TensorSource& src, const LoadOptions& opt) {
  Layout L(src);
  const std::string prefix = L.any_prefix("transformer.h.") ? "transformer." : "";
  L.require_layer(prefix + "h.", opt.layer);
  const std::string p = prefix + "h." + std::to_string(opt.layer) + ".";

  const std::string wname = p + "attn.c_attn.weight";
  const auto& ws = L.shape_of(wname);
  if (ws.size() != 2 || ws[0] < 1 || ws[0] > (1u << 24) || ws[1] != 3 * ws[0])
    L.fail("tensor " + wname + " has shape " + shape_text(ws) + ", expected [d, 3d]");
  const long d = static_cast<long>(ws[0]);
  const long H = L.n_heads(d, opt.n_heads), dk = d / H;

  const Tensor W = L.get(wname, {u(d), u(3 * d)});
  const Tensor b = L.get(p + "attn.c_attn.bias", {u(3 * d)});
  const Tensor P = L.get(p + "attn.c_proj.weight", {u(d), u(d)});
  const Tensor bp = L.get(p + "attn.c_proj.bias", {u(d)});

  AttentionLayer out;
  out.d = d;
  out.mask = Mask::causal;
  for (long h = 0; h < H; ++h) {
    Head hd;
    hd.Wq.resize(dk, d);
    hd.Wk.resize(dk, d);
    hd.Wv.resize(dk, d);
    hd.Wo.resize(d, dk);
    hd.bq.resize(dk);
    hd.bk.resize(dk);
    hd.bv.resize(dk);
    for (long r = 0; r < dk; ++r) {
      const auto col = u(h * dk + r);
      for (long c = 0; c < d; ++c) {
        hd.Wq(r, c) = W.at(u(c), col);
        hd.Wk(r, c) = W.at(u(c), u(d) + col);
        hd.Wv(r, c) = W.at(u(c), u(2 * d) + col);
      }
      hd.bq(r) = b.v[col];
      hd.bk(r) = b.v[u(d) + col];
      hd.bv(r) = b.v[u(2 * d) + col];
      for (long i = 0; i < d; ++i) hd.Wo(i, r) = P.at(col, u(i));
    }
    hd.logit_divisor = dk;
    out.heads.push_back(std::move(hd));
  }
  out.bo = Eigen::Map<const Vector>(bp.v.data(), d);

  const std::string g = p + "ln_1.weight", be = p + "ln_1.bias";
  if (opt.need_norm || L.has(g) || L.has(be)) {
    const char* why = "LayerNorm ln_1 in front of the layer";
    out.norm.kind = Norm::Kind::layernorm;
    out.norm.gamma = Eigen::Map<const Vector>(L.get(g, {u(d)}, why).v.data(), d);
    out.norm.beta = Eigen::Map<const Vector>(L.get(be, {u(d)}, why).v.data(), d);
    out.norm.eps = 1e-5;
  }
  out.source = src.label() + " [gpt2 layer " + std::to_string(opt.layer) + ", " + std::to_string(H) + " heads]";
  return out;
}

AttentionLayer bert_layer(const TensorSource& src, const LoadOptions& opt) {
  Layout L(src);
  const std::string prefix = L.any_prefix("bert.encoder.layer.") ? "bert." : "";
  L.require_layer(prefix + "encoder.layer.", opt.layer);
  const std::string p = prefix + "encoder.layer." + std::to_string(opt.layer) + ".attention.";

  const std::string qname = p + "self.query.weight";
  const auto& qs = L.shape_of(qname);
  if (qs.size() != 2 || qs[1] < 1 || qs[1] > (1u << 24) || qs[0] != qs[1])
    L.fail("tensor " + qname + " has shape " + shape_text(qs) + ", expected [d, d]");
  const long d = static_cast<long>(qs[1]);
  const long H = L.n_heads(d, opt.n_heads), dk = d / H;

  const Tensor Wq = L.get(qname, {u(d), u(d)});
  const Tensor bq = L.get(p + "self.query.bias", {u(d)});
  const Tensor Wk = L.get(p + "self.key.weight", {u(d), u(d)});
  const Tensor bk = L.get(p + "self.key.bias", {u(d)});
  const Tensor Wv = L.get(p + "self.value.weight", {u(d), u(d)});
  const Tensor bv = L.get(p + "self.value.bias", {u(d)});
  const Tensor Wo = L.get(p + "output.dense.weight", {u(d), u(d)});
  const Tensor bo = L.get(p + "output.dense.bias", {u(d)});

  AttentionLayer out;
  out.d = d;
  out.mask = Mask::none;
  for (long h = 0; h < H; ++h) {
    Head hd;
    hd.Wq.resize(dk, d);
    hd.Wk.resize(dk, d);
    hd.Wv.resize(dk, d);
    hd.Wo.resize(d, dk);
    hd.bq.resize(dk);
    hd.bk.resize(dk);
    hd.bv.resize(dk);
    for (long r = 0; r < dk; ++r) {
      const auto row = u(h * dk + r);
      for (long c = 0; c < d; ++c) {
        hd.Wq(r, c) = Wq.at(row, u(c));
        hd.Wk(r, c) = Wk.at(row, u(c));
        hd.Wv(r, c) = Wv.at(row, u(c));
      }
      hd.bq(r) = bq.v[row];
      hd.bk(r) = bk.v[row];
      hd.bv(r) = bv.v[row];
      for (long i = 0; i < d; ++i) hd.Wo(i, r) = Wo.at(u(i), row);
    }
    hd.logit_divisor = dk;
    out.heads.push_back(std::move(hd));
  }
  out.bo = Eigen::Map<const Vector>(bo.v.data(), d);

  // Post-LN BERT: the input of layer l is the output of the LayerNorm before it.
  const std::string ln = opt.layer == 0 ? prefix + "embeddings.LayerNorm."
                                        : prefix + "encoder.layer." + std::to_string(opt.layer - 1) + ".output.LayerNorm.";
  // Old TF-converted checkpoints name the parameters gamma/beta.
  const bool old_names = !L.has(ln + "weight") && L.has(ln + "gamma");
  const std::string g = ln + (old_names ? "gamma" : "weight"), be = ln + (old_names ? "beta" : "bias");
  if (opt.need_norm || L.has(g) || L.has(be)) {
    const char* why = "LayerNorm in front of the layer";
    out.norm.kind = Norm::Kind::layernorm;
    out.norm.gamma = Eigen::Map<const Vector>(L.get(g, {u(d)}, why).v.data(), d);
    out.norm.beta = Eigen::Map<const Vector>(L.get(be, {u(d)}, why).v.data(), d);
    out.norm.eps = 1e-12;
  }
  out.source = src.label() + " [bert layer " + std::to_string(opt.layer) + ", " + std::to_string(H) + " heads]";
  return out;
}

}  // namespace

AttentionLayer hf_layer(const TensorSource& src, const LoadOptions& opt) {
  std::string arch = opt.arch;
  if (arch.empty()) {
    bool gpt2 = false, bert = false;
    for (const auto& n : src.names()) {
      const auto ends = [&](const std::string& s) { return n.size() >= s.size() && n.compare(n.size() - s.size(), s.size(), s) == 0; };
      gpt2 = gpt2 || ends(".attn.c_attn.weight");
      bert = bert || ends(".attention.self.query.weight");
    }
    if (gpt2 == bert)
      throw ModelError(src.label() + ": cannot infer the architecture from the tensor names" +
                       (gpt2 ? " (both GPT-2 and BERT names)" : " (no GPT-2 or BERT attention tensors)") +
                       "; pass --arch gpt2|bert");
    arch = gpt2 ? "gpt2" : "bert";
  }
  AttentionLayer out;
  if (arch == "gpt2") {
    out = gpt2_layer(src, opt);
  } else if (arch == "bert") {
    out = bert_layer(src, opt);
  } else {
    throw ModelError(src.label() + ": unknown --arch \"" + arch + "\" (expected gpt2 or bert)");
  }
  try {
    out.validate();
  } catch (const ModelError& e) {
    throw ModelError(src.label() + ": layer " + std::to_string(opt.layer) + ": " + e.what());
  }
  return out;
}

}  // namespace attnbound::model_detail
