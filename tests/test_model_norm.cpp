// layernorm_radius (THEORY.md §3) against LayerNorm/RMSNorm evaluated in MPFR, describe(), and the
// options load_model applies to every kind of SPEC.
#include <gtest/gtest.h>
#include <mpfr.h>

#include <cmath>
#include <random>

#include "core/core.hpp"
#include "model/model.hpp"
#include "model_support.hpp"
#include "support.hpp"

using namespace attnbound;
using attnbound::testing::model_error;
using attnbound::testing::ScratchDir;
using ::testing::HasSubstr;

namespace {

/// An enclosure of ‖N(x)‖₂ computed in MPFI at 256 bits (exact inputs: x, γ, β, ε are doubles).
MpInterval norm_of_normalised(const Norm& n, const Vector& x) {
  MpPrecision prec(256);
  const long d = x.size();
  MpInterval mean(0.0), var(0.0), ms(0.0);
  for (long i = 0; i < d; ++i) mean += MpInterval(x(i));
  mean /= MpInterval(static_cast<double>(d));
  for (long i = 0; i < d; ++i) {
    var += square(MpInterval(x(i)) - mean);
    ms += square(MpInterval(x(i)));
  }
  var /= MpInterval(static_cast<double>(d));
  ms /= MpInterval(static_cast<double>(d));
  const bool ln = n.kind == Norm::Kind::layernorm;
  const MpInterval denom = sqrt((ln ? var : ms) + MpInterval(n.eps));
  MpInterval s(0.0);
  for (long i = 0; i < d; ++i) {
    MpInterval y = MpInterval(n.gamma(i)) * ((ln ? MpInterval(x(i)) - mean : MpInterval(x(i))) / denom);
    if (ln) y += MpInterval(n.beta(i));
    s += square(y);
  }
  return sqrt(s);
}

/// The right endpoint of `v` compared exactly with the double `b`: true if every point of v is <= b.
bool certainly_at_most(const MpInterval& v, double b) {
  mpfr_t r;
  mpfr_init2(r, mpfi_get_prec(v.raw()));
  mpfi_get_right(r, v.raw());
  const bool ok = mpfr_cmp_d(r, b) <= 0;
  mpfr_clear(r);
  return ok;
}

/// ‖γ‖_∞ √d + ‖β‖₂ in MPFR (round to nearest at 256 bits): the exact formula, to check rounding.
double exact_formula_upper(const Norm& n, mpfr_t out) {
  MpPrecision prec(256);
  MpInterval g(0.0), b(0.0);
  double gmax = 0;
  for (long i = 0; i < n.gamma.size(); ++i) gmax = std::max(gmax, std::abs(n.gamma(i)));
  g = MpInterval(gmax) * sqrt(MpInterval(static_cast<double>(n.gamma.size())));
  if (n.kind == Norm::Kind::layernorm) {
    for (long i = 0; i < n.beta.size(); ++i) b += square(MpInterval(n.beta(i)));
    g += sqrt(b);
  }
  mpfi_get_right(out, g.raw());
  return mpfr_get_d(out, MPFR_RNDU);
}

Norm random_norm(std::mt19937_64& rng, long d, Norm::Kind kind) {
  std::normal_distribution<double> N;
  Norm n;
  n.kind = kind;
  n.gamma = Vector::NullaryExpr(d, [&] { return N(rng); });
  if (kind == Norm::Kind::layernorm) n.beta = Vector::NullaryExpr(d, [&] { return 0.3 * N(rng); });
  n.eps = (rng() % 2) ? 1e-5 : 1e-12;
  return n;
}

Vector random_input(std::mt19937_64& rng, long d) {
  std::normal_distribution<double> N;
  const double scale = std::pow(10.0, static_cast<double>(rng() % 9) - 4.0);  // 1e-4 .. 1e4
  Vector x = Vector::NullaryExpr(d, [&] { return scale * N(rng); });
  if (rng() % 5 == 0) x.setConstant(x(0));            // zero variance: N(x) = β
  if (rng() % 5 == 0) x(static_cast<long>(rng() % d)) += 1e3 * scale;  // one spike
  return x;
}

}  // namespace

TEST(LayerNormRadius, BoundsEveryNormalisedVector) {
  std::mt19937_64 rng(attnbound::testing::seed(501));
  for (int t = 0; t < 300; ++t) {
    const long d = 1 + static_cast<long>(rng() % 64);
    const Norm n = random_norm(rng, d, t % 3 ? Norm::Kind::layernorm : Norm::Kind::rmsnorm);
    const double bound = layernorm_radius(n).value();
    for (int k = 0; k < 10; ++k) {
      const Vector x = random_input(rng, d);
      ASSERT_TRUE(certainly_at_most(norm_of_normalised(n, x), bound)) << "d " << d << " trial " << t;
    }
    mpfr_t exact;
    mpfr_init2(exact, 256);
    exact_formula_upper(n, exact);
    EXPECT_LE(mpfr_cmp_d(exact, bound), 0) << "the bound must not be below the exact formula";
    mpfr_clear(exact);
  }
}

TEST(LayerNormRadius, IsTightAndTheTestCanFail) {
  // |γ| constant and β aligned with γ ⊙ z: ‖LN(x)‖ = ‖γ‖_∞ √d + ‖β‖ up to ε/var.
  std::mt19937_64 rng(attnbound::testing::seed(502));
  const long d = 48;
  Norm n;
  n.kind = Norm::Kind::layernorm;
  n.eps = 1e-12;
  n.gamma = Vector::Constant(d, 2.0);
  for (long i = 0; i < d; i += 3) n.gamma(i) = -2.0;
  const Vector x = Vector::NullaryExpr(d, [&] { return std::normal_distribution<double>(0, 10)(rng); });
  const Vector z = (x.array() - x.mean()) / std::sqrt((x.array() - x.mean()).square().mean());
  n.beta = 0.5 * n.gamma.cwiseProduct(z);
  const double bound = layernorm_radius(n).value();
  const MpInterval v = norm_of_normalised(n, x);
  EXPECT_TRUE(certainly_at_most(v, bound));
  EXPECT_GT(v.lower_down(), bound * (1 - 1e-9)) << "tightness";
  // Dropping ‖β‖ (a plausible bug) gives a "bound" this sample exceeds: the containment check bites.
  const double broken = 2.0 * std::sqrt(static_cast<double>(d));
  EXPECT_FALSE(certainly_at_most(v, broken));
  // RMSNorm: ‖γ‖_∞ √d, approached when mean(x²) >> ε.
  Norm r = n;
  r.kind = Norm::Kind::rmsnorm;
  r.beta.resize(0);
  const MpInterval w = norm_of_normalised(r, x);
  EXPECT_TRUE(certainly_at_most(w, layernorm_radius(r).value()));
  EXPECT_GT(w.lower_down(), layernorm_radius(r).value() * (1 - 1e-9));
}

TEST(LayerNormRadius, ExactValuesAndErrors) {
  Norm n;
  n.kind = Norm::Kind::layernorm;
  n.gamma = Vector::Constant(4, 1.0);
  n.gamma(2) = -3.0;
  n.beta = Vector::Zero(4);
  n.beta(0) = 3.0, n.beta(1) = 4.0;
  EXPECT_EQ(layernorm_radius(n).value(), 3.0 * 2.0 + 5.0);  // every step exact
  EXPECT_THAT(model_error([] { layernorm_radius(Norm{}); }), HasSubstr("no LayerNorm"));
  // The builtins read R from their norm: GPT-2 init, γ = 1, β = 0, d = 768: √768 rounded up.
  const double r = layernorm_radius(builtin_model("gpt2-init").norm).value();
  EXPECT_GE(r * r, 768.0);
  EXPECT_GE(r, std::sqrt(768.0));
  EXPECT_LE(r, std::nextafter(std::sqrt(768.0), INFINITY));  // at most one ulp above nearest
}

TEST(Describe, SummarisesShapes) {
  const std::string g = describe(builtin_model("gpt2-init"));
  EXPECT_THAT(g, HasSubstr("source:  builtin:gpt2-init seed=0"));
  EXPECT_THAT(g, HasSubstr("d = 768, 12 heads, mask causal"));
  EXPECT_THAT(g, HasSubstr("heads 0-11: d_k = 64, d_v = 64, logits / sqrt(64)"));
  EXPECT_THAT(g, HasSubstr("LayerNorm, eps 1e-05, radius <= "));
  EXPECT_THAT(g, HasSubstr("sha256:  " + model_digest(builtin_model("gpt2-init"))));
  const std::string t = describe(builtin_model("tiny-causal"));
  EXPECT_THAT(t, HasSubstr("form:    paper (A_h, V_h)"));
  EXPECT_THAT(t, HasSubstr("d = 2, 1 head, mask causal"));
  EXPECT_THAT(t, HasSubstr("norm:    none"));
}

TEST(LoadOptions, HeadsMaskAndNormApplyToEverySpec) {
  ScratchDir dir;
  const std::string json = dir.file("toy.json");
  save_model_json(builtin_model("paper-toy"), json);
  for (const std::string& spec : {std::string("builtin:gpt2-init"), json}) {
    LoadOptions o;
    o.heads = std::vector<int>{0};
    o.mask_override = Mask::causal;
    const AttentionLayer L = load_model(spec, o);
    EXPECT_EQ(L.n_heads(), 1);
    EXPECT_EQ(L.mask, Mask::causal);
    o.heads = std::vector<int>{};
    EXPECT_THAT(model_error([&] { load_model(spec, o); }), HasSubstr("--heads: empty head list"));
    o.heads = std::vector<int>{0, 0};
    EXPECT_THAT(model_error([&] { load_model(spec, o); }), HasSubstr("--heads: head 0 listed twice"));
    o.heads = std::vector<int>{12};
    EXPECT_THAT(model_error([&] { load_model(spec, o); }), HasSubstr("--heads: head 12 out of range"));
  }
  LoadOptions m;
  m.mask_override = Mask::causal;
  EXPECT_THAT(load_model("builtin:tiny", m).source, HasSubstr("mask=causal"));
  m.mask_override = Mask::none;
  EXPECT_EQ(load_model("builtin:tiny", m).source, "builtin:tiny");  // no change, no note
  LoadOptions nn;
  nn.need_norm = true;
  EXPECT_THAT(model_error([&] { load_model(json, nn); }), HasSubstr(json + ": the model has no LayerNorm"));
  LoadOptions a;
  a.arch = "gpt2";
  EXPECT_THAT(model_error([&] { load_model(json, a); }), HasSubstr("--arch applies to .safetensors files only"));
  LoadOptions h;
  h.n_heads = 3;
  EXPECT_THAT(model_error([&] { load_model(json, h); }), HasSubstr("--n-heads 3 contradicts its 1 heads"));
  EXPECT_EQ(parse_mask("causal"), Mask::causal);
  EXPECT_EQ(parse_mask("none"), Mask::none);
  EXPECT_THAT(model_error([] { parse_mask("Causal"); }), HasSubstr("\"Causal\" is not a mask"));
}

TEST(LoadOptions, LoadingIgnoresTheCallersRoundingMode) {
  // JSON decimals go through strtod, which follows the rounding mode: the loader pins nearest.
  const std::string text = R"({"format": "attnbound-model", "d": 1, "heads": [{"A": [[0.1]], "V": [[0.7]]}]})";
  AttentionLayer up_loaded;
  {
    UpwardScope up;
    up_loaded = model_from_json(text, "m.json");
  }
  const AttentionLayer near_loaded = model_from_json(text, "m.json");
  EXPECT_EQ(up_loaded.heads[0].Wk(0, 0), 0.1);
  EXPECT_EQ(model_digest(up_loaded), model_digest(near_loaded));
}
