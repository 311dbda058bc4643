// The attnbound-model JSON format: the DESIGN.md paper form, the full form, exact round trips and
// one clear error line per malformed input.
#include <gtest/gtest.h>

#include <cfloat>
#include <filesystem>
#include <limits>
#include <random>

#include "model/json_util.hpp"
#include "model/model.hpp"
#include "model_support.hpp"
#include "support.hpp"

using namespace attnbound;
using attnbound::testing::expect_same_layer;
using attnbound::testing::model_error;
using attnbound::testing::same_bits;
using attnbound::testing::ScratchDir;

namespace {

/// A double from a random bit pattern (finite), biased to include subnormals and extremes.
double random_double(std::mt19937_64& rng) {
  for (;;) {
    const double x = std::bit_cast<double>(rng());
    if (std::isfinite(x)) return x;
  }
}

Matrix random_matrix(std::mt19937_64& rng, long r, long c) {
  Matrix m(r, c);
  for (long i = 0; i < r; ++i)
    for (long j = 0; j < c; ++j) m(i, j) = random_double(rng);
  return m;
}

Vector random_vector(std::mt19937_64& rng, long n) {
  Vector v(n);
  for (long i = 0; i < n; ++i) v(i) = random_double(rng);
  return v;
}

/// A full-form layer with every kind of field populated (d_v != d_k, biases, norm, causal).
AttentionLayer full_layer(std::mt19937_64& rng) {
  AttentionLayer L;
  L.d = 3;
  L.mask = Mask::causal;
  for (int h = 0; h < 2; ++h) {
    Head H;
    H.Wq = random_matrix(rng, 2, 3);
    H.Wk = random_matrix(rng, 2, 3);
    H.Wv = random_matrix(rng, 4, 3);
    H.Wo = random_matrix(rng, 3, 4);
    H.bq = random_vector(rng, 2);
    H.bk = random_vector(rng, 2);
    H.bv = random_vector(rng, 4);
    H.logit_divisor = 2 + h;
    L.heads.push_back(H);
  }
  L.bo = random_vector(rng, 3);
  L.norm.kind = Norm::Kind::layernorm;
  L.norm.gamma = random_vector(rng, 3);
  L.norm.beta = random_vector(rng, 3);
  L.norm.eps = 1e-5;
  L.source = "test \"full\" layer";
  L.validate();
  return L;
}

/// The message model_from_json gives for `text` (labelled model.json); "" if it loads.
std::string json_error(const std::string& text) {
  return model_error([&] { model_from_json(text, "model.json"); });
}

}  // namespace

TEST(ModelJson, DesignFixtureLoads) {
  const std::string path = std::string(ATTNBOUND_TEST_DATA) + "/model_paper_d2.json";
  AttentionLayer L = load_model(path);
  EXPECT_EQ(L.d, 2);
  EXPECT_EQ(L.mask, Mask::none);
  ASSERT_EQ(L.n_heads(), 2);
  EXPECT_TRUE(L.paper_form);
  EXPECT_EQ(L.heads[0].Wk(0, 1), -0.25);  // A
  EXPECT_EQ(L.heads[0].Wv(1, 0), 0.1);    // V, nearest double to 0.1
  EXPECT_EQ(L.heads[1].Wk(1, 0), -1.0);
  EXPECT_TRUE(L.heads[0].Wq.isIdentity(0) && L.heads[0].Wo.isIdentity(0));
  EXPECT_EQ(L.heads[0].logit_divisor, 1);
  EXPECT_EQ(L.source, path);
  EXPECT_EQ(L.norm.kind, Norm::Kind::none);
}

TEST(ModelJson, ExactDecimalRoundTripsEveryDouble) {
  std::mt19937_64 rng(attnbound::testing::seed(101));
  std::vector<double> xs = {0.0, -0.0, 0.1, 1.0 / 3, DBL_MAX, -DBL_MAX, DBL_MIN, DBL_TRUE_MIN, -DBL_TRUE_MIN,
                            9007199254740993.0, 1e22, 1e23, 123456789012345680000.0, 5e-324, 2.2250738585072009e-308};
  for (int i = 0; i < 200000; ++i) xs.push_back(random_double(rng));
  std::string text = "[";
  for (std::size_t i = 0; i < xs.size(); ++i) text += (i ? "," : "") + model_detail::exact_decimal(xs[i]);
  text += "]";
  const auto j = model_detail::parse_json_strict(text, "t", 4);
  ASSERT_EQ(j.size(), xs.size());
  for (std::size_t i = 0; i < xs.size(); ++i) {
    ASSERT_TRUE(j[i].is_number_float()) << model_detail::exact_decimal(xs[i]);
    ASSERT_TRUE(same_bits(j[i].get<double>(), xs[i])) << model_detail::exact_decimal(xs[i]);
  }
  // Shortest: the classic examples need no more digits than they have.
  EXPECT_EQ(model_detail::exact_decimal(0.1), "0.1");
  EXPECT_EQ(model_detail::exact_decimal(-0.0), "-0.0");
  EXPECT_EQ(model_detail::exact_decimal(1.0), "1.0");
  EXPECT_EQ(model_detail::exact_decimal(5e-324), "5e-324");
}

TEST(ModelJson, PaperFormRoundTripIsBitExact) {
  std::mt19937_64 rng(attnbound::testing::seed(102));
  ScratchDir dir;
  for (int trial = 0; trial < 20; ++trial) {
    const long d = 1 + trial % 5;
    std::vector<Matrix> A, V;
    for (int h = 0; h < 1 + trial % 3; ++h) {
      A.push_back(random_matrix(rng, d, d));
      V.push_back(random_matrix(rng, d, d));
    }
    A[0](0, 0) = -0.0;
    AttentionLayer L = make_paper_layer(A, V, trial % 2 ? Mask::causal : Mask::none);
    if (trial % 4 == 0) {
      L.norm.kind = Norm::Kind::rmsnorm;
      L.norm.gamma = random_vector(rng, d);
      L.norm.eps = 1e-6;
    }
    const std::string path = dir.file("paper.json");
    save_model_json(L, path);
    AttentionLayer R = load_model(path);
    expect_same_layer(L, R);
    EXPECT_EQ(model_digest(L), model_digest(R));
    EXPECT_NE(model_to_json(L).find("\"form\": \"paper\""), std::string::npos);
  }
}

TEST(ModelJson, FullFormRoundTripIsBitExact) {
  std::mt19937_64 rng(attnbound::testing::seed(103));
  ScratchDir dir;
  for (int trial = 0; trial < 20; ++trial) {
    AttentionLayer L = full_layer(rng);
    const std::string path = dir.file("full.json");
    save_model_json(L, path);
    AttentionLayer R = load_model(path);
    expect_same_layer(L, R);
    EXPECT_EQ(model_digest(L), model_digest(R));
    EXPECT_EQ(R.source, path + " (test \"full\" layer)");
  }
}

TEST(ModelJson, PaperLayerThatIsNoLongerPaperIsWrittenInFullForm) {
  AttentionLayer L = builtin_model("tiny");
  L.heads[0].bq(1) = -0.0;  // invisible to ==, visible to the digest: must survive
  const std::string text = model_to_json(L);
  EXPECT_NE(text.find("\"form\": \"full\""), std::string::npos);
  AttentionLayer R = model_from_json(text, "x.json");
  EXPECT_EQ(model_digest(L), model_digest(R));
  EXPECT_FALSE(R.paper_form);
}

TEST(ModelJson, SaveIsAtomicAndReportsFailures) {
  ScratchDir dir;
  const std::string path = dir.file("m.json");
  save_model_json(builtin_model("tiny"), path);
  save_model_json(builtin_model("paper-toy"), path);  // replaces
  EXPECT_EQ(model_digest(load_model(path)), model_digest(builtin_model("paper-toy")));
  int files = 0;
  for (const auto& e : std::filesystem::directory_iterator(std::filesystem::path(path).parent_path())) {
    (void)e;
    ++files;
  }
  EXPECT_EQ(files, 1) << "temporary files left behind";
  const std::string bad = dir.file("no/such/dir/m.json");
  EXPECT_THAT(model_error([&] { save_model_json(builtin_model("tiny"), bad); }), ::testing::HasSubstr(bad));
  AttentionLayer nan = builtin_model("tiny");
  nan.heads[0].Wk(0, 0) = std::numeric_limits<double>::quiet_NaN();
  EXPECT_THAT(model_error([&] { save_model_json(nan, dir.file("nan.json")); }),
              ::testing::HasSubstr("head 0: W_K"));
}

TEST(ModelJson, FileErrorsNameTheFile) {
  ScratchDir dir;
  const std::string missing = dir.file("missing.json");
  EXPECT_THAT(model_error([&] { load_model(missing); }), ::testing::HasSubstr(missing + ": cannot open"));
  std::filesystem::create_directory(dir.file("dir.json"));
  EXPECT_THAT(model_error([&] { load_model(dir.file("dir.json")); }), ::testing::HasSubstr("not a regular file"));
  EXPECT_THAT(model_error([&] { load_model(dir.file("model.txt")); }), ::testing::HasSubstr("expected a .json file"));
}

struct BadCase {
  const char* text;
  const char* expect;
};

TEST(ModelJson, EveryMalformedInputGivesOneLineNamingTheField) {
  const std::string ok_heads = R"("heads": [{"A": [[1, 0], [0, 1]], "V": [[1, 0], [0, 1]]}])";
  const std::string pre = R"({"format": "attnbound-model", "d": 2, )";
  const std::string full_pre = R"({"format": "attnbound-model", "form": "full", "d": 2, "heads": [{"d_k": 2, "logit_divisor": 2, )";
  const std::string I = "[[1, 0], [0, 1]]";
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"", "not valid JSON"},
      {"{", "not valid JSON"},
      {"[]", "the document is an array, expected an object"},
      {R"({"d": 2, )" + ok_heads + "}", "missing field \"format\""},
      {R"({"format": "attnbound-certificate", "d": 2, )" + ok_heads + "}", "format: must be \"attnbound-model\""},
      {R"({"format": "attnbound-model", )" + ok_heads + "}", "missing field \"d\""},
      {R"({"format": "attnbound-model", "d": 0, )" + ok_heads + "}", "d: must be between 1"},
      {R"({"format": "attnbound-model", "d": -2, )" + ok_heads + "}", "d: must be >= 1"},
      {R"({"format": "attnbound-model", "d": 2.5, )" + ok_heads + "}", "d: must be an integer"},
      {R"({"format": "attnbound-model", "d": "2", )" + ok_heads + "}", "d: is a string, expected a positive integer"},
      {R"({"format": "attnbound-model", "d": 3, )" + ok_heads + "}", "heads[0].A: has 2 rows, expected d = 3"},
      {pre + R"("mask": "none"})", "missing field \"heads\""},
      {pre + R"("heads": []})", "heads: is empty"},
      {pre + R"("heads": {}})", "heads: is an object, expected an array"},
      {pre + R"("heads": [7]})", "heads[0]: is a number, expected an object"},
      {pre + R"("heads": [{"V": [[1, 0], [0, 1]]}]})", "heads[0]: missing field \"A\""},
      {pre + R"("heads": [{"A": [[1, 0], [0, 1]]}]})", "heads[0]: missing field \"V\""},
      {pre + R"("heads": [{"A": [[1, 0], [0, 1], [0, 0]], "V": [[1, 0], [0, 1]]}]})", "heads[0].A: has 3 rows, expected d = 2"},
      {pre + R"("heads": [{"A": )" + I + R"(, "V": )" + I + R"(}, {"A": )" + I + R"(, "V": [[1, 0], [0, 1, 2]]}]})",
       "heads[1].V: row 1 has 3 entries, expected 2"},
      {pre + R"("heads": [{"A": [3, [0, 1]], "V": )" + I + "}]}", "heads[0].A: row 0 is a number, expected an array"},
      {pre + R"("heads": [{"A": "eye", "V": )" + I + "}]}", "heads[0].A: is a string, expected an array of rows"},
      {pre + R"("heads": [{"A": [[1, "NaN"], [0, 1]], "V": )" + I + "}]}", "heads[0].A[0][1]: non-finite value \"NaN\""},
      {pre + R"("heads": [{"A": [[1, 0], [0, "Infinity"]], "V": )" + I + "}]}", "heads[0].A[1][1]: non-finite value \"Infinity\""},
      {pre + R"("heads": [{"A": )" + I + R"(, "V": [[1, 0], ["-inf", 1]]}]})", "heads[0].V[1][0]: non-finite value \"-inf\""},
      {pre + R"("heads": [{"A": )" + I + R"(, "V": [[1, 0], ["0.5", 1]]}]})", "heads[0].V[1][0]: is a string (\"0.5\"), expected a number"},
      {pre + R"("heads": [{"A": )" + I + R"(, "V": [[1, null], [0, 1]]}]})", "heads[0].V[0][1]: is null, expected a number"},
      {pre + R"("heads": [{"A": )" + I + R"(, "V": [[1, true], [0, 1]]}]})", "heads[0].V[0][1]: is a boolean, expected a number"},
      {pre + R"("heads": [{"A": [[NaN, 0], [0, 1]], "V": )" + I + "}]}", "not valid JSON"},
      {pre + R"("heads": [{"A": [[1e400, 0], [0, 1]], "V": )" + I + "}]}", "number overflow"},
      {pre + R"("mask": "sideways", )" + ok_heads + "}", "mask: must be \"none\" or \"causal\""},
      {pre + R"("hedas": 1, )" + ok_heads + "}", "unknown field \"hedas\""},
      {pre + R"("d": 2, )" + ok_heads + "}", "duplicate key \"d\""},
      {pre + R"("heads": [{"A": )" + I + R"(, "V": )" + I + R"(, "W_Q": )" + I + "}]}", "heads[0]: unknown field \"W_Q\""},
      {pre + R"("version": 2, )" + ok_heads + "}", "version: unsupported version 2"},
      {pre + R"("form": "half", )" + ok_heads + "}", "form: must be \"paper\" or \"full\""},
      {pre + R"("b_O": [0, 0], )" + ok_heads + "}", "b_O: a paper-form model has no output bias"},
      {pre + R"("source": 5, )" + ok_heads + "}", "source: is a number, expected a string"},
      {pre + R"("norm": {"kind": "batchnorm", "gamma": [1, 1]}, )" + ok_heads + "}", "norm.kind: must be"},
      {pre + R"("norm": {"kind": "layernorm", "beta": [1, 1]}, )" + ok_heads + "}", "norm: missing field \"gamma\""},
      {pre + R"("norm": {"kind": "layernorm", "gamma": [1, 1]}, )" + ok_heads + "}", "norm: missing field \"beta\""},
      {pre + R"("norm": {"kind": "rmsnorm", "gamma": [1, 1], "beta": [0, 0]}, )" + ok_heads + "}", "norm.beta: an RMSNorm has no beta"},
      {pre + R"("norm": {"kind": "rmsnorm", "gamma": [1, 1, 1]}, )" + ok_heads + "}", "norm.gamma: has 3 entries, expected d = 2"},
      {pre + R"("norm": {"kind": "rmsnorm", "gamma": [1, 1], "eps": -1}, )" + ok_heads + "}", "norm.eps: must be >= 0"},
      {pre + "\"heads\": " + std::string(20, '[') + "1" + std::string(20, ']') + "}", "nested deeper than"},
      {full_pre + R"("W_Q": )" + I + R"(, "W_K": )" + I + R"(, "W_V": )" + I + R"(, "W_O": )" + I + "}]}",
       ""},  // the valid full form, for reference
      {R"({"format": "attnbound-model", "form": "full", "d": 2, "heads": [{"logit_divisor": 2, "W_Q": )" + I + "}]}",
       "heads[0]: missing field \"d_k\""},
      {full_pre + R"("W_K": )" + I + R"(, "W_V": )" + I + R"(, "W_O": )" + I + "}]}", "heads[0]: missing field \"W_Q\""},
      {full_pre + R"("W_Q": [[1, 0]], "W_K": )" + I + R"(, "W_V": )" + I + R"(, "W_O": )" + I + "}]}",
       "heads[0].W_Q: has 1 rows, expected d_k = 2"},
      {full_pre + R"("W_Q": )" + I + R"(, "W_K": )" + I + R"(, "W_V": [[1, 0]], "W_O": )" + I + "}]}",
       "heads[0].W_O: row 0 has 2 entries, expected 1"},
      {full_pre + R"("W_Q": )" + I + R"(, "W_K": )" + I + R"(, "W_V": [], "W_O": )" + I + "}]}", "heads[0].W_V: has no rows"},
      {full_pre + R"("W_Q": )" + I + R"(, "W_K": )" + I + R"(, "W_V": )" + I + R"(, "W_O": )" + I + R"(, "b_Q": [1, 2, 3]}]})",
       "heads[0].b_Q: has 3 entries, expected d_k = 2"},
      {full_pre + R"("W_Q": )" + I + R"(, "W_K": )" + I + R"(, "W_V": )" + I + R"(, "W_O": )" + I + R"(, "A": 1}]})",
       "heads[0]: unknown field \"A\""},
      {full_pre + R"("W_Q": )" + I + R"(, "W_K": )" + I + R"(, "W_V": )" + I + R"(, "W_O": )" + I + R"(}], "b_O": [1]})",
       "b_O: has 1 entries, expected d = 2"},
      {R"({"format": "attnbound-model", "form": "full", "d": 2, "heads": [{"d_k": 2, "logit_divisor": 0, "W_Q": )" + I + "}]}",
       "heads[0].logit_divisor: must be between 1"},
  };
  for (const auto& [text, expect] : cases) {
    const std::string msg = json_error(text);
    if (expect.empty()) {
      EXPECT_EQ(msg, "") << text;
      continue;
    }
    EXPECT_THAT(msg, ::testing::StartsWith("model.json: ")) << text;
    EXPECT_THAT(msg, ::testing::HasSubstr(expect)) << text;
    EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
  }
}

TEST(ModelJson, ArbitraryBytesNeverCrash) {
  // A cheap stand-in for the fuzzer: random mutations of a valid document must load or throw
  // ModelError, nothing else.
  std::mt19937_64 rng(attnbound::testing::seed(104));
  const std::string base = model_to_json(builtin_model("paper-toy"));
  for (int i = 0; i < 3000; ++i) {
    std::string t = base;
    for (int k = 0; k < 1 + i % 4; ++k) {
      std::size_t p = rng() % t.size();
      switch (rng() % 3) {
        case 0: t[p] = static_cast<char>(rng() % 256); break;
        case 1: t.erase(p, 1 + rng() % 8); break;
        default: t.insert(p, 1, "{}[],:\"0-e.9"[rng() % 12]); break;
      }
      if (t.empty()) t = "x";
    }
    try {
      model_from_json(t, "fuzz.json");
    } catch (const ModelError&) {
    }
  }
}
