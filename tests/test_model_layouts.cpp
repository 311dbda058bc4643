// The HF GPT-2 and BERT layouts. Each checkpoint's attention is computed twice, independently:
//  (1) exactly as HF does, from the raw checkpoint tensors (Conv1D / nn.Linear, split heads, merge);
//  (2) from the loaded AttentionLayer's fields by the plain-loop formula of THEORY.md §1.
// They must agree to 1e-12 relative. A loader that slices heads along the wrong axis (the seed
// code's bug) fails this test; the last tests show that it would.
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <random>

#include "model/model.hpp"
#include "model_support.hpp"
#include "support.hpp"

using namespace attnbound;
using attnbound::testing::model_error;
using attnbound::testing::relative_error;
using attnbound::testing::ScratchDir;
using attnbound::testing::theory_forward;
using ::testing::HasSubstr;

namespace {

using Rows = std::vector<std::vector<double>>;

struct Checkpoint {
  std::vector<SafeTensor> tensors;
  std::map<std::string, std::string> metadata;
  const SafeTensor& get(const std::string& name) const {
    for (const auto& t : tensors)
      if (t.name == name) return t;
    throw std::runtime_error("test checkpoint has no " + name);
  }
  void erase(const std::string& name) {
    std::erase_if(tensors, [&](const SafeTensor& t) { return t.name == name; });
  }
};

/// Random values, rounded to the dtype when it is F32 (so the file holds them exactly).
SafeTensor random_tensor(std::mt19937_64& rng, std::string name, std::vector<std::uint64_t> shape,
                         const std::string& dtype, double sigma) {
  SafeTensor t;
  t.name = std::move(name);
  t.dtype = dtype;
  t.shape = shape;
  std::uint64_t n = 1;
  for (auto s : shape) n *= s;
  std::normal_distribution<double> N(0.0, sigma);
  for (std::uint64_t i = 0; i < n; ++i) {
    double x = N(rng);
    t.values.push_back(dtype == "F32" ? static_cast<double>(static_cast<float>(x)) : x);
  }
  return t;
}

Checkpoint gpt2_checkpoint(std::mt19937_64& rng, std::uint64_t d, int layers, const std::string& dtype,
                           const std::string& prefix = "") {
  Checkpoint c;
  c.tensors.push_back(random_tensor(rng, prefix + "wte.weight", {5, d}, dtype, 1.0));  // ignored
  for (int l = 0; l < layers; ++l) {
    const std::string p = prefix + "h." + std::to_string(l) + ".";
    c.tensors.push_back(random_tensor(rng, p + "ln_1.weight", {d}, dtype, 1.0));
    c.tensors.push_back(random_tensor(rng, p + "ln_1.bias", {d}, dtype, 1.0));
    c.tensors.push_back(random_tensor(rng, p + "attn.c_attn.weight", {d, 3 * d}, dtype, 0.4));
    c.tensors.push_back(random_tensor(rng, p + "attn.c_attn.bias", {3 * d}, dtype, 0.4));
    c.tensors.push_back(random_tensor(rng, p + "attn.c_proj.weight", {d, d}, dtype, 0.4));
    c.tensors.push_back(random_tensor(rng, p + "attn.c_proj.bias", {d}, dtype, 0.4));
    c.tensors.push_back(random_tensor(rng, p + "mlp.c_fc.weight", {d, 4 * d}, dtype, 0.4));  // ignored
  }
  return c;
}

Checkpoint bert_checkpoint(std::mt19937_64& rng, std::uint64_t d, int layers, const std::string& dtype,
                           const std::string& prefix = "") {
  Checkpoint c;
  c.tensors.push_back(random_tensor(rng, prefix + "embeddings.LayerNorm.weight", {d}, dtype, 1.0));
  c.tensors.push_back(random_tensor(rng, prefix + "embeddings.LayerNorm.bias", {d}, dtype, 1.0));
  for (int l = 0; l < layers; ++l) {
    const std::string p = prefix + "encoder.layer." + std::to_string(l) + ".";
    for (const char* w : {"attention.self.query", "attention.self.key", "attention.self.value", "attention.output.dense"}) {
      c.tensors.push_back(random_tensor(rng, p + w + ".weight", {d, d}, dtype, 0.4));
      c.tensors.push_back(random_tensor(rng, p + w + ".bias", {d}, dtype, 0.4));
    }
    c.tensors.push_back(random_tensor(rng, p + "output.LayerNorm.weight", {d}, dtype, 1.0));
    c.tensors.push_back(random_tensor(rng, p + "output.LayerNorm.bias", {d}, dtype, 1.0));
  }
  return c;
}

Rows random_tokens(std::mt19937_64& rng, std::size_t n, std::size_t d) {
  std::normal_distribution<double> N(0.0, 1.0);
  Rows X(n, std::vector<double>(d));
  for (auto& x : X)
    for (auto& v : x) v = N(rng);
  return X;
}

/// softmax(scores) · values over the visible keys, per query (plain loops).
Rows attend(const Rows& q, const Rows& k, const Rows& v, double scale, bool causal) {
  const std::size_t n = q.size();
  Rows out(n, std::vector<double>(v[0].size(), 0.0));
  for (std::size_t i = 0; i < n; ++i) {
    std::vector<double> s(n);
    double mx = -INFINITY;
    for (std::size_t j = 0; j < n; ++j) {
      if (causal && j > i) continue;  // HF adds a very negative bias: weight exactly 0 after exp
      double t = 0;
      for (std::size_t r = 0; r < q[i].size(); ++r) t += q[i][r] * k[j][r];
      s[j] = t / scale;
      mx = std::max(mx, s[j]);
    }
    double z = 0;
    for (std::size_t j = 0; j < n; ++j) z += (causal && j > i) ? (s[j] = 0) : (s[j] = std::exp(s[j] - mx));
    for (std::size_t j = 0; j < n; ++j)
      for (std::size_t r = 0; r < v[j].size(); ++r) out[i][r] += s[j] / z * v[j][r];
  }
  return out;
}

/// Columns [from, from + len) of M.
Rows columns(const Rows& M, std::size_t from, std::size_t len) {
  Rows out;
  for (const auto& row : M) out.emplace_back(row.begin() + from, row.begin() + from + len);
  return out;
}

/// HF GPT2Attention: qkv = x · c_attn.weight + c_attn.bias; q, k, v = split(qkv, d, dim=2);
/// heads = split(·, d_k); a = softmax(q kᵀ / sqrt(d_k) + causal mask) v; merge; · c_proj.weight + bias.
/// Heads not in `keep` contribute zero to the merged tensor.
Rows gpt2_reference(const Checkpoint& c, int layer, std::size_t H, const Rows& X, const std::vector<int>& keep) {
  const std::string p = "h." + std::to_string(layer) + ".attn.";
  const SafeTensor &W = c.get(p + "c_attn.weight"), &b = c.get(p + "c_attn.bias");
  const SafeTensor &P = c.get(p + "c_proj.weight"), &pb = c.get(p + "c_proj.bias");
  const std::size_t d = W.shape[0], n = X.size(), dk = d / H;
  Rows qkv(n, std::vector<double>(3 * d));
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t o = 0; o < 3 * d; ++o) {
      double s = b.values[o];
      for (std::size_t m = 0; m < d; ++m) s += X[i][m] * W.values[m * 3 * d + o];
      qkv[i][o] = s;
    }
  const Rows q = columns(qkv, 0, d), k = columns(qkv, d, d), v = columns(qkv, 2 * d, d);
  Rows merged(n, std::vector<double>(d, 0.0));
  for (int h : keep) {
    const Rows a = attend(columns(q, h * dk, dk), columns(k, h * dk, dk), columns(v, h * dk, dk),
                          std::sqrt(static_cast<double>(dk)), true);
    for (std::size_t i = 0; i < n; ++i)
      for (std::size_t r = 0; r < dk; ++r) merged[i][h * dk + r] = a[i][r];
  }
  Rows out(n, std::vector<double>(d));
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t o = 0; o < d; ++o) {
      double s = pb.values[o];
      for (std::size_t m = 0; m < d; ++m) s += merged[i][m] * P.values[m * d + o];
      out[i][o] = s;
    }
  return out;
}

/// HF BertSelfAttention + BertSelfOutput.dense (before dropout, residual and LayerNorm):
/// Q = x Wqᵀ + bq (nn.Linear), heads = split(·, d_k), softmax(Q Kᵀ / sqrt(d_k)) V, merge, dense.
Rows bert_reference(const Checkpoint& c, int layer, std::size_t H, const Rows& X, const std::vector<int>& keep,
                    const std::string& prefix = "") {
  const std::string p = prefix + "encoder.layer." + std::to_string(layer) + ".attention.";
  auto linear = [&](const std::string& name, const Rows& in) {
    const SafeTensor &W = c.get(p + name + ".weight"), &b = c.get(p + name + ".bias");
    const std::size_t out_dim = W.shape[0], in_dim = W.shape[1];
    Rows y(in.size(), std::vector<double>(out_dim));
    for (std::size_t i = 0; i < in.size(); ++i)
      for (std::size_t o = 0; o < out_dim; ++o) {
        double s = b.values[o];
        for (std::size_t m = 0; m < in_dim; ++m) s += W.values[o * in_dim + m] * in[i][m];
        y[i][o] = s;
      }
    return y;
  };
  const Rows Q = linear("self.query", X), K = linear("self.key", X), V = linear("self.value", X);
  const std::size_t d = X[0].size(), n = X.size(), dk = d / H;
  Rows merged(n, std::vector<double>(d, 0.0));
  for (int h : keep) {
    const Rows a = attend(columns(Q, h * dk, dk), columns(K, h * dk, dk), columns(V, h * dk, dk),
                          std::sqrt(static_cast<double>(dk)), false);
    for (std::size_t i = 0; i < n; ++i)
      for (std::size_t r = 0; r < dk; ++r) merged[i][h * dk + r] = a[i][r];
  }
  return linear("output.dense", merged);
}

std::vector<int> all_heads(int H) {
  std::vector<int> v(static_cast<std::size_t>(H));
  for (int h = 0; h < H; ++h) v[static_cast<std::size_t>(h)] = h;
  return v;
}

std::string write(const ScratchDir& dir, const std::string& name, const Checkpoint& c) {
  const std::string p = dir.file(name);
  write_safetensors(p, c.tensors, c.metadata);
  return p;
}

}  // namespace

TEST(ModelLayouts, Gpt2MatchesHfReferenceForward) {
  std::mt19937_64 rng(attnbound::testing::seed(301));
  ScratchDir dir;
  for (const std::string dtype : {"F64", "F32"}) {
    for (const std::string prefix : {"", "transformer."}) {
      Checkpoint c = gpt2_checkpoint(rng, 12, 3, dtype, prefix);
      c.metadata["n_head"] = "3";
      const std::string path = write(dir, "gpt2.safetensors", c);
      // The reference reads unprefixed names.
      Checkpoint plain = c;
      for (auto& t : plain.tensors)
        if (!prefix.empty() && t.name.rfind(prefix, 0) == 0) t.name = t.name.substr(prefix.size());
      for (int layer : {0, 2}) {
        LoadOptions o;
        o.layer = layer;  // arch inferred from the names
        const AttentionLayer L = load_model(path, o);
        ASSERT_EQ(L.d, 12);
        ASSERT_EQ(L.n_heads(), 3);
        EXPECT_EQ(L.mask, Mask::causal);
        EXPECT_EQ(L.heads[0].logit_divisor, 4);
        EXPECT_EQ(L.norm.kind, Norm::Kind::layernorm);
        EXPECT_EQ(L.norm.eps, 1e-5);
        EXPECT_EQ(L.norm.gamma(5), plain.get("h." + std::to_string(layer) + ".ln_1.weight").values[5]);
        for (std::size_t n : {1u, 2u, 7u}) {
          const Rows X = random_tokens(rng, n, 12);
          const double err = relative_error(theory_forward(L, X), gpt2_reference(plain, layer, 3, X, all_heads(3)));
          EXPECT_LE(err, 1e-12) << dtype << " prefix '" << prefix << "' layer " << layer << " n " << n;
        }
      }
    }
  }
}

TEST(ModelLayouts, BertMatchesHfReferenceForward) {
  std::mt19937_64 rng(attnbound::testing::seed(302));
  ScratchDir dir;
  for (const std::string dtype : {"F64", "F32"}) {
    for (const std::string prefix : {"", "bert."}) {
      Checkpoint c = bert_checkpoint(rng, 8, 2, dtype, prefix);
      const std::string path = write(dir, "bert.safetensors", c);
      for (int layer : {0, 1}) {
        LoadOptions o;
        o.arch = "bert";
        o.layer = layer;
        o.n_heads = 2;  // no metadata: from the option
        const AttentionLayer L = load_model(path, o);
        ASSERT_EQ(L.n_heads(), 2);
        EXPECT_EQ(L.mask, Mask::none);
        EXPECT_EQ(L.heads[1].logit_divisor, 4);
        EXPECT_EQ(L.norm.eps, 1e-12);
        const std::string ln = layer == 0 ? prefix + "embeddings.LayerNorm.weight"
                                          : prefix + "encoder.layer.0.output.LayerNorm.weight";
        EXPECT_EQ(L.norm.gamma(3), c.get(ln).values[3]) << "LayerNorm in front of layer " << layer;
        const Rows X = random_tokens(rng, 6, 8);
        EXPECT_LE(relative_error(theory_forward(L, X), bert_reference(c, layer, 2, X, all_heads(2), prefix)), 1e-12)
            << dtype << " prefix '" << prefix << "' layer " << layer;
      }
    }
  }
}

TEST(ModelLayouts, HeadSelectionKeepsExactlyThoseHeads) {
  std::mt19937_64 rng(attnbound::testing::seed(303));
  ScratchDir dir;
  Checkpoint g = gpt2_checkpoint(rng, 12, 1, "F64");
  g.metadata["n_head"] = "3";
  const std::string gp = write(dir, "g.safetensors", g);
  Checkpoint b = bert_checkpoint(rng, 12, 1, "F64");
  b.metadata["num_attention_heads"] = "3";
  const std::string bp = write(dir, "b.safetensors", b);
  const Rows X = random_tokens(rng, 5, 12);
  for (const std::vector<int>& keep : {std::vector<int>{1}, std::vector<int>{2, 0}, std::vector<int>{0, 1, 2}}) {
    LoadOptions o;
    o.heads = keep;
    const AttentionLayer G = load_model(gp, o), B = load_model(bp, o);
    ASSERT_EQ(G.n_heads(), static_cast<long>(keep.size()));
    EXPECT_LE(relative_error(theory_forward(G, X), gpt2_reference(g, 0, 3, X, keep)), 1e-12);
    EXPECT_LE(relative_error(theory_forward(B, X), bert_reference(b, 0, 3, X, keep)), 1e-12);
  }
  const AttentionLayer full = load_model(gp);
  LoadOptions o;
  o.heads = std::vector<int>{2, 0};
  const AttentionLayer sel = load_model(gp, o);
  EXPECT_TRUE(attnbound::testing::same_bits(sel.heads[0].Wq, full.heads[2].Wq));
  EXPECT_THAT(sel.source, HasSubstr("heads=2,0"));
}

TEST(ModelLayouts, F16AndBF16CheckpointsLoadExactly) {
  // Values on a coarse dyadic grid are exact in every dtype: all four files give the same layer.
  std::mt19937_64 rng(attnbound::testing::seed(304));
  Checkpoint c = gpt2_checkpoint(rng, 4, 1, "F64");
  for (auto& t : c.tensors)
    for (auto& v : t.values) v = std::round(v * 64) / 64;
  c.metadata["n_head"] = "2";
  ScratchDir dir;
  std::string digest;
  for (const std::string dtype : {"F64", "F32", "F16", "BF16"}) {
    Checkpoint t = c;
    for (auto& x : t.tensors) x.dtype = dtype;
    const AttentionLayer L = load_model(write(dir, "c.safetensors", t));
    const std::string dg = model_digest(L);
    if (digest.empty()) digest = dg;
    EXPECT_EQ(dg, digest) << dtype;
  }
}

TEST(ModelLayouts, CheckpointErrorsNameTheTensor) {
  std::mt19937_64 rng(attnbound::testing::seed(305));
  ScratchDir dir;
  Checkpoint g = gpt2_checkpoint(rng, 8, 2, "F64");
  auto err = [&](Checkpoint c, LoadOptions o) {
    const std::string p = write(dir, "e.safetensors", c);
    const std::string msg = model_error([&] { load_model(p, o); });
    EXPECT_THAT(msg, ::testing::StartsWith(p + ": ")) << msg;
    EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
    return msg;
  };
  LoadOptions two;
  two.n_heads = 2;
  {
    Checkpoint c = g;
    c.erase("h.1.attn.c_proj.bias");
    LoadOptions o = two;
    o.layer = 1;
    EXPECT_THAT(err(c, o), HasSubstr("missing tensor h.1.attn.c_proj.bias"));
  }
  {
    LoadOptions o = two;
    o.layer = 5;
    EXPECT_THAT(err(g, o), HasSubstr("layer 5 not found (the file has layers 0..1)"));
    o.layer = -1;
    EXPECT_THAT(err(g, o), HasSubstr("layer -1 is negative"));
  }
  {
    LoadOptions o = two;
    o.arch = "llama";
    EXPECT_THAT(err(g, o), HasSubstr("unknown --arch \"llama\""));
    o.arch = "bert";
    EXPECT_THAT(err(g, o), HasSubstr("layer 0 not found: no tensors named encoder.layer.N.*"));
  }
  {
    Checkpoint c;
    c.tensors.push_back(random_tensor(rng, "foo", {2}, "F64", 1));
    EXPECT_THAT(err(c, two), HasSubstr("cannot infer the architecture from the tensor names"));
  }
  {
    Checkpoint c = g;
    for (auto& t : c.tensors)
      if (t.name == "h.0.attn.c_attn.bias") t = random_tensor(rng, t.name, {23}, "F64", 1);
    EXPECT_THAT(err(c, two), HasSubstr("tensor h.0.attn.c_attn.bias has shape [23], expected [24]"));
  }
  {
    Checkpoint c = g;
    for (auto& t : c.tensors)
      if (t.name == "h.0.attn.c_attn.weight") t = random_tensor(rng, t.name, {8, 8}, "F64", 1);
    EXPECT_THAT(err(c, two), HasSubstr("tensor h.0.attn.c_attn.weight has shape [8, 8], expected [d, 3d]"));
  }
  {
    LoadOptions o;
    EXPECT_THAT(err(g, o), HasSubstr("cannot infer the number of heads: no n_head metadata and d = 8"));
    o.n_heads = 3;
    EXPECT_THAT(err(g, o), HasSubstr("3 heads do not divide d = 8"));
    Checkpoint c = g;
    c.metadata["n_head"] = "4";
    EXPECT_THAT(err(c, o), HasSubstr("--n-heads 3 contradicts metadata n_head = 4"));
    c.metadata["n_head"] = "four";
    EXPECT_THAT(err(c, LoadOptions{}), HasSubstr("metadata n_head = \"four\" is not a positive integer"));
  }
  {
    Checkpoint c = g;
    for (auto& t : c.tensors)
      if (t.name == "h.0.attn.c_proj.weight") t.values[8 * 3 + 5] = std::numeric_limits<double>::quiet_NaN();
    EXPECT_THAT(err(c, two), HasSubstr("tensor h.0.attn.c_proj.weight has a non-finite value (nan) at [3, 5]"));
    for (auto& t : c.tensors)
      if (t.name == "h.0.attn.c_proj.weight") t.values[8 * 3 + 5] = -INFINITY;
    EXPECT_THAT(err(c, two), HasSubstr("non-finite value (-inf) at [3, 5]"));
  }
  {
    Checkpoint c = g;
    c.erase("h.0.ln_1.weight");
    c.erase("h.0.ln_1.bias");
    const std::string p = write(dir, "noln.safetensors", c);
    EXPECT_EQ(load_model(p, two).norm.kind, Norm::Kind::none);  // not needed: fine
    LoadOptions o = two;
    o.need_norm = true;
    EXPECT_THAT(model_error([&] { load_model(p, o); }),
                HasSubstr("missing tensor h.0.ln_1.weight (LayerNorm ln_1 in front of the layer)"));
  }
  {
    Checkpoint b = bert_checkpoint(rng, 8, 2, "F64");
    b.erase("encoder.layer.0.output.LayerNorm.bias");
    LoadOptions o = two;
    o.layer = 1;
    EXPECT_THAT(err(b, o), HasSubstr("missing tensor encoder.layer.0.output.LayerNorm.bias"));
  }
}

TEST(ModelLayouts, BertOldLayerNormNames) {
  std::mt19937_64 rng(attnbound::testing::seed(306));
  Checkpoint b = bert_checkpoint(rng, 8, 1, "F64");
  for (auto& t : b.tensors) {
    if (t.name == "embeddings.LayerNorm.weight") t.name = "embeddings.LayerNorm.gamma";
    if (t.name == "embeddings.LayerNorm.bias") t.name = "embeddings.LayerNorm.beta";
  }
  ScratchDir dir;
  LoadOptions o;
  o.n_heads = 2;
  o.need_norm = true;
  const AttentionLayer L = load_model(write(dir, "old.safetensors", b), o);
  EXPECT_EQ(L.norm.beta(2), b.get("embeddings.LayerNorm.beta").values[2]);
}

// ---- the tests above can fail: the seed code's slicing is caught ----------------------------------

TEST(ModelLayouts, WrongAxisSlicingIsDetected) {
  // Slice GPT-2's c_attn.weight as if it were [out, in] (rows = output features): the bug the
  // comparison with the HF reference exists to catch.
  std::mt19937_64 rng(attnbound::testing::seed(307));
  Checkpoint c = gpt2_checkpoint(rng, 12, 1, "F64");
  c.metadata["n_head"] = "3";
  ScratchDir dir;
  AttentionLayer L = load_model(write(dir, "g.safetensors", c));
  const SafeTensor& W = c.get("h.0.attn.c_attn.weight");
  const long d = 12, dk = 4;
  AttentionLayer bad = L;
  for (long h = 0; h < 3; ++h)
    for (long r = 0; r < dk; ++r)
      for (long col = 0; col < d; ++col) {
        bad.heads[h].Wq(r, col) = W.values[(h * dk + r) * 3 * d + col];
        bad.heads[h].Wk(r, col) = W.values[(h * dk + r) * 3 * d + d + col];
        bad.heads[h].Wv(r, col) = W.values[(h * dk + r) * 3 * d + 2 * d + col];
      }
  const Rows X = random_tokens(rng, 6, 12);
  const Rows ref = gpt2_reference(c, 0, 3, X, all_heads(3));
  EXPECT_LE(relative_error(theory_forward(L, X), ref), 1e-12);
  EXPECT_GT(relative_error(theory_forward(bad, X), ref), 1e-2);
  // So is a transposed output projection.
  AttentionLayer bad_o = L;
  for (auto& h : bad_o.heads) h.Wo = h.Wo.eval();
  const SafeTensor& P = c.get("h.0.attn.c_proj.weight");
  for (long h = 0; h < 3; ++h)
    for (long i = 0; i < d; ++i)
      for (long r = 0; r < dk; ++r) bad_o.heads[h].Wo(i, r) = P.values[i * d + h * dk + r];
  EXPECT_GT(relative_error(theory_forward(bad_o, X), ref), 1e-2);
}
