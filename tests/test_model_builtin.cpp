// Builtin models, their deterministic generator, and the model digest.
#include <gtest/gtest.h>
#include <mpfr.h>
#include <openssl/sha.h>

#include <bit>
#include <cmath>
#include <random>

#include "model/model.hpp"
#include "model/normal_rng.hpp"
#include "model_support.hpp"
#include "support.hpp"

using namespace attnbound;
using attnbound::testing::model_error;
using attnbound::testing::ScratchDir;
using ::testing::HasSubstr;

namespace {
template <class F>
LoadOptions options(F set) {
  LoadOptions o;
  set(o);
  return o;
}
}  // namespace

// ---- the generator -----------------------------------------------------------------------------

TEST(NormalRng, MatchesTheReferenceAlgorithms) {
  // splitmix64 from state 0: the published reference outputs.
  std::uint64_t s = 0;
  EXPECT_EQ(model_detail::splitmix64(s), 0xe220a8397b1dcdafull);
  EXPECT_EQ(model_detail::splitmix64(s), 0x6e789e6aa1b965f4ull);
  EXPECT_EQ(model_detail::splitmix64(s), 0x06c45d188009454full);
  // Pinned outputs: any platform or compiler that differs breaks the builtins' reproducibility.
  model_detail::NormalRng r(0);
  EXPECT_EQ(r.next_u64(), 0x99ec5f36cb75f2b4ull);
  EXPECT_EQ(r.next_u64(), 0xbf6e1f784956452aull);
  model_detail::NormalRng z(0);
  EXPECT_EQ(z.normal(), 0x1.69f95a12bf814p-1);
  EXPECT_EQ(z.normal(), -0x1.6398b1612085ap+0);
  EXPECT_EQ(z.normal(), 0x1.28b63414ceabfp-3);
}

TEST(NormalRng, AcceptanceIsExactNearTheBoundary) {
  // Points on (a double next to) the curve v = 2u sqrt(-ln u): the decision must be the exact one,
  // evaluated here independently with MPFR at 400 bits.
  std::mt19937_64 rng(attnbound::testing::seed(401));
  std::uniform_real_distribution<double> U(1e-6, 1.0);
  int near = 0;
  for (int i = 0; i < 20000; ++i) {
    const double u = U(rng);
    double v = 2 * u * std::sqrt(-std::log(u));
    for (int k = 0, steps = static_cast<int>(rng() % 5); k < steps; ++k)
      v = rng() % 2 ? std::nextafter(v, 1.0) : std::nextafter(v, 0.0);
    if (rng() % 2) v = -v;
    mpfr_t a, b, l;
    mpfr_inits2(400, a, b, l, static_cast<mpfr_ptr>(nullptr));
    mpfr_set_d(a, v, MPFR_RNDN);
    mpfr_sqr(a, a, MPFR_RNDN);
    mpfr_set_d(b, u, MPFR_RNDN);
    mpfr_log(l, b, MPFR_RNDN);
    mpfr_sqr(b, b, MPFR_RNDN);
    mpfr_mul(b, b, l, MPFR_RNDN);
    mpfr_mul_2ui(b, b, 2, MPFR_RNDN);
    mpfr_add(a, a, b, MPFR_RNDN);
    const bool exact = mpfr_sgn(a) <= 0;
    near += mpfr_cmpabs_ui(a, 1) < 0 && std::fabs(mpfr_get_d(a, MPFR_RNDN)) < 1e-12;
    mpfr_clears(a, b, l, static_cast<mpfr_ptr>(nullptr));
    ASSERT_EQ(model_detail::ratio_of_uniforms_accept(u, v), exact) << std::hexfloat << u << " " << v;
  }
  EXPECT_GT(near, 1000);  // the slow path was exercised
}

TEST(NormalRng, IsStandardNormal) {
  model_detail::NormalRng r(attnbound::testing::seed(402));
  const int n = 400000;
  std::vector<double> x(n);
  double m1 = 0, m2 = 0, m3 = 0, m4 = 0;
  for (double& v : x) {
    v = r.normal();
    m1 += v;
    m2 += v * v;
    m3 += v * v * v;
    m4 += v * v * v * v;
  }
  m1 /= n, m2 /= n, m3 /= n, m4 /= n;
  EXPECT_NEAR(m1, 0.0, 5 * std::sqrt(1.0 / n));
  EXPECT_NEAR(m2, 1.0, 5 * std::sqrt(2.0 / n));
  EXPECT_NEAR(m3, 0.0, 5 * std::sqrt(15.0 / n));
  EXPECT_NEAR(m4, 3.0, 5 * std::sqrt(96.0 / n));
  // Kolmogorov-Smirnov against Φ: D < 1.95 / sqrt(n) is the 0.1% level.
  std::sort(x.begin(), x.end());
  double D = 0;
  for (int i = 0; i < n; ++i) {
    const double F = 0.5 * std::erfc(-x[i] / std::sqrt(2.0));
    D = std::max({D, F - static_cast<double>(i) / n, static_cast<double>(i + 1) / n - F});
  }
  EXPECT_LT(D, 1.95 / std::sqrt(n));
}

// ---- builtin models ----------------------------------------------------------------------------

namespace {
struct Stats {
  double mean = 0, sd = 0;
};
template <class F>
Stats stats_of(const AttentionLayer& L, F field) {
  double s = 0, s2 = 0, n = 0;
  for (const Head& h : L.heads) {
    const Matrix& m = field(h);
    s += m.sum();
    s2 += m.squaredNorm();
    n += static_cast<double>(m.size());
  }
  return {s / n, std::sqrt(s2 / n - (s / n) * (s / n))};
}
}  // namespace

TEST(Builtin, Gpt2InitHasTheSeedExperimentsShapeAndStatistics) {
  const AttentionLayer L = builtin_model("gpt2-init", 0);
  EXPECT_EQ(L.d, 768);
  ASSERT_EQ(L.n_heads(), 12);
  EXPECT_EQ(L.mask, Mask::causal);
  EXPECT_FALSE(L.paper_form);
  for (const Head& h : L.heads) {
    EXPECT_EQ(h.dk(), 64);
    EXPECT_EQ(h.Wv.rows(), 64);
    EXPECT_EQ(h.logit_divisor, 64);
    EXPECT_TRUE((h.bq.array() == 0).all() && (h.bk.array() == 0).all() && (h.bv.array() == 0).all());
  }
  EXPECT_TRUE((L.bo.array() == 0).all());
  EXPECT_EQ(L.norm.kind, Norm::Kind::layernorm);
  EXPECT_TRUE((L.norm.gamma.array() == 1).all() && (L.norm.beta.array() == 0).all());
  EXPECT_EQ(L.norm.eps, 1e-5);
  EXPECT_EQ(L.source, "builtin:gpt2-init seed=0");
  for (auto f : {+[](const Head& h) -> const Matrix& { return h.Wq; }, +[](const Head& h) -> const Matrix& { return h.Wk; },
                 +[](const Head& h) -> const Matrix& { return h.Wv; }}) {
    const Stats s = stats_of(L, f);
    EXPECT_NEAR(s.sd, 0.02, 0.02 * 0.02);
    EXPECT_NEAR(s.mean, 0.0, 1e-4);
  }
  const Stats o = stats_of(L, [](const Head& h) -> const Matrix& { return h.Wo; });
  EXPECT_NEAR(o.sd, 0.02 / std::sqrt(24.0), 0.02 * 0.02 / std::sqrt(24.0));
}

TEST(Builtin, BertInitShapeAndStatistics) {
  const AttentionLayer L = builtin_model("bert-init", 3);
  EXPECT_EQ(L.d, 768);
  ASSERT_EQ(L.n_heads(), 12);
  EXPECT_EQ(L.mask, Mask::none);
  EXPECT_EQ(L.heads[5].logit_divisor, 64);
  EXPECT_EQ(L.norm.eps, 1e-12);
  EXPECT_EQ(L.source, "builtin:bert-init seed=3");
  for (auto f : {+[](const Head& h) -> const Matrix& { return h.Wq; }, +[](const Head& h) -> const Matrix& { return h.Wo; }})
    EXPECT_NEAR(stats_of(L, f).sd, 0.02, 0.02 * 0.02);
}

TEST(Builtin, SameSeedSameDigestOtherSeedOtherDigest) {
  const std::string g0 = model_digest(builtin_model("gpt2-init", 0));
  EXPECT_EQ(g0, model_digest(builtin_model("gpt2-init", 0)));
  EXPECT_NE(g0, model_digest(builtin_model("gpt2-init", 1)));
  // Pinned: the builtins are the same on every machine and compiler (docs/models.md).
  EXPECT_EQ(g0, "a628cd19fe9bc8cd7855f703b3ce25a32d26074d291fcb99d1165e647e8aca43");
  EXPECT_EQ(model_digest(builtin_model("bert-init", 0)), "b94d751eb9e1a30c9061a91cb6ad69ffba1436733ad6ee8d54acbe8872bf9d7b");
  EXPECT_NE(model_digest(builtin_model("bert-init", 0)), model_digest(builtin_model("bert-init", 1)));
  // The fixed builtins ignore the seed.
  EXPECT_EQ(model_digest(builtin_model("tiny", 0)), model_digest(builtin_model("tiny", 99)));
}

TEST(Builtin, CheckpointFileLoadsToTheSameLayer) {
  ScratchDir dir;
  for (const std::string name : {"gpt2-init", "bert-init"}) {
    const std::string path = dir.file(name + ".safetensors");
    write_safetensors(path, builtin_checkpoint(name, 7));  // no metadata: 768 / 64 = 12 heads
    const AttentionLayer F = load_model(path);             // arch inferred
    const AttentionLayer B = load_model("builtin:" + name, options([](LoadOptions& o) { o.seed = 7; }));
    EXPECT_EQ(model_digest(F), model_digest(B)) << name;
  }
}

TEST(Builtin, PaperFormBuiltins) {
  const AttentionLayer toy = builtin_model("paper-toy");
  EXPECT_TRUE(toy.paper_form);
  EXPECT_EQ(toy.d, 2);
  EXPECT_EQ(toy.mask, Mask::none);
  EXPECT_EQ(toy.heads[0].Wk(0, 0), 4.0);  // A
  EXPECT_EQ(toy.heads[0].Wv(0, 1), 0.25);  // V
  const AttentionLayer t = builtin_model("tiny"), tc = builtin_model("tiny-causal");
  EXPECT_EQ(t.mask, Mask::none);
  EXPECT_EQ(tc.mask, Mask::causal);
  EXPECT_TRUE(attnbound::testing::same_bits(t.heads[0].Wk, tc.heads[0].Wk));
  EXPECT_EQ(t.source, "builtin:tiny");
}

TEST(Builtin, Errors) {
  EXPECT_THAT(model_error([] { load_model("builtin:gpt3"); }),
              HasSubstr("builtin:gpt3: unknown builtin model (known: gpt2-init, bert-init, paper-toy, tiny, tiny-causal)"));
  EXPECT_THAT(model_error([] { load_model("builtin:tiny", options([](LoadOptions& o) { o.layer = 1; })); }), HasSubstr("single layer"));
  EXPECT_THAT(model_error([] { load_model("builtin:gpt2-init", options([](LoadOptions& o) { o.arch = "bert"; })); }),
              HasSubstr("its architecture is gpt2"));
  EXPECT_EQ(load_model("builtin:gpt2-init", options([](LoadOptions& o) { o.arch = "gpt2"; })).n_heads(), 12);
  EXPECT_THAT(model_error([] { load_model("builtin:tiny", options([](LoadOptions& o) { o.need_norm = true; })); }),
              HasSubstr("builtin:tiny: the model has no LayerNorm"));
  EXPECT_THAT(model_error([] { builtin_checkpoint("tiny"); }), HasSubstr("not a random checkpoint builtin"));
}

// ---- digest ------------------------------------------------------------------------------------

namespace {

/// The canonical serialisation exactly as docs/models.md documents it, written independently.
std::string documented_serialisation(const AttentionLayer& L) {
  std::string s = "attnbound-model-v1";
  auto u64 = [&](std::uint64_t v) {
    for (int i = 0; i < 8; ++i) s.push_back(static_cast<char>(v >> (8 * i)));
  };
  auto f64 = [&](double x) { u64(std::bit_cast<std::uint64_t>(x)); };
  auto mat = [&](const Matrix& m) {
    for (long i = 0; i < m.rows(); ++i)
      for (long j = 0; j < m.cols(); ++j) f64(m(i, j));
  };
  auto vec = [&](const Vector& v) {
    for (long i = 0; i < v.size(); ++i) f64(v(i));
  };
  u64(static_cast<std::uint64_t>(L.d));
  u64(L.mask == Mask::causal);
  u64(L.heads.size());
  for (const Head& h : L.heads) {
    u64(h.Wq.rows());
    u64(h.Wv.rows());
    u64(h.logit_divisor);
    mat(h.Wq), mat(h.Wk), mat(h.Wv), mat(h.Wo), vec(h.bq), vec(h.bk), vec(h.bv);
  }
  vec(L.bo);
  u64(static_cast<std::uint64_t>(L.norm.kind == Norm::Kind::none ? 0 : L.norm.kind == Norm::Kind::layernorm ? 1 : 2));
  if (L.norm.kind != Norm::Kind::none) {
    f64(L.norm.eps);
    vec(L.norm.gamma);
    if (L.norm.kind == Norm::Kind::layernorm) vec(L.norm.beta);
  }
  return s;
}

std::string sha256_hex(const std::string& s) {
  unsigned char md[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(s.data()), s.size(), md);
  char hex[2 * SHA256_DIGEST_LENGTH + 1];
  for (int i = 0; i < SHA256_DIGEST_LENGTH; ++i) std::snprintf(hex + 2 * i, 3, "%02x", md[i]);
  return hex;
}

AttentionLayer small_full_layer() {
  std::mt19937_64 rng(77);
  std::normal_distribution<double> N;
  AttentionLayer L;
  L.d = 3;
  L.mask = Mask::none;
  for (int h = 0; h < 2; ++h) {
    Head H;
    H.Wq = Matrix::NullaryExpr(2, 3, [&] { return N(rng); });
    H.Wk = Matrix::NullaryExpr(2, 3, [&] { return N(rng); });
    H.Wv = Matrix::NullaryExpr(3, 3, [&] { return N(rng); });
    H.Wo = Matrix::NullaryExpr(3, 3, [&] { return N(rng); });
    H.bq = Vector::NullaryExpr(2, [&] { return N(rng); });
    H.bk = Vector::NullaryExpr(2, [&] { return N(rng); });
    H.bv = Vector::NullaryExpr(3, [&] { return N(rng); });
    H.logit_divisor = 2;
    L.heads.push_back(H);
  }
  L.bo = Vector::NullaryExpr(3, [&] { return N(rng); });
  L.norm.kind = Norm::Kind::layernorm;
  L.norm.gamma = Vector::NullaryExpr(3, [&] { return N(rng); });
  L.norm.beta = Vector::NullaryExpr(3, [&] { return N(rng); });
  L.norm.eps = 1e-5;
  return L;
}

/// Every double of the layer, by address, for one-ulp perturbations.
std::vector<double*> all_weights(AttentionLayer& L) {
  std::vector<double*> w;
  auto add = [&](auto& m) {
    for (Eigen::Index i = 0; i < m.size(); ++i) w.push_back(m.data() + i);
  };
  for (Head& h : L.heads) add(h.Wq), add(h.Wk), add(h.Wv), add(h.Wo), add(h.bq), add(h.bk), add(h.bv);
  add(L.bo), add(L.norm.gamma), add(L.norm.beta);
  w.push_back(&L.norm.eps);
  return w;
}

}  // namespace

TEST(ModelDigest, FollowsTheDocumentedSerialisation) {
  for (const AttentionLayer& L : {builtin_model("tiny"), builtin_model("paper-toy"), small_full_layer()})
    EXPECT_EQ(model_digest(L), sha256_hex(documented_serialisation(L)));
  AttentionLayer r = small_full_layer();
  r.norm.kind = Norm::Kind::rmsnorm;
  r.norm.beta.resize(0);
  EXPECT_EQ(model_digest(r), sha256_hex(documented_serialisation(r)));
  EXPECT_EQ(model_digest(builtin_model("tiny")), "7491539e92e0f1f1f65d7278aae2e890dbb9af4f983b86972df9db66a40ebb0c");
  const std::string d = model_digest(builtin_model("tiny"));
  EXPECT_EQ(d.size(), 64u);
  EXPECT_EQ(d.find_first_not_of("0123456789abcdef"), std::string::npos);
}

TEST(ModelDigest, ChangesWhenAnySingleWeightMovesOneUlp) {
  const AttentionLayer base = small_full_layer();
  const std::string d0 = model_digest(base);
  AttentionLayer L = base;
  const auto w = all_weights(L);
  ASSERT_EQ(w.size(), 2u * (6 + 6 + 9 + 9 + 2 + 2 + 3) + 3 + 3 + 3 + 1);
  for (std::size_t i = 0; i < w.size(); ++i) {
    const double old = *w[i];
    *w[i] = std::nextafter(old, INFINITY);
    EXPECT_NE(model_digest(L), d0) << "weight " << i;
    *w[i] = old;
  }
  EXPECT_EQ(model_digest(L), d0);
  L.heads[1].logit_divisor = 3;
  EXPECT_NE(model_digest(L), d0);
  L = base;
  L.mask = Mask::causal;
  EXPECT_NE(model_digest(L), d0);
  L = base;
  L.norm.kind = Norm::Kind::none;
  EXPECT_NE(model_digest(L), d0);
  L = base;
  std::swap(L.heads[0], L.heads[1]);
  EXPECT_NE(model_digest(L), d0);
  L = base;
  L.heads[0].bq(0) = 0.0;
  const std::string pz = model_digest(L);
  L.heads[0].bq(0) = -0.0;
  EXPECT_NE(model_digest(L), pz) << "the digest sees the sign of zero";
  L = base;
  L.source = "elsewhere";
  EXPECT_EQ(model_digest(L), d0) << "the source is not part of the digest";
}
