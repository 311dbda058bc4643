// safetensors: exact dtype conversions, writer/reader round trips, and a validating reader that
// turns every malformed header into one ModelError line (never a crash or a huge allocation).
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <limits>
#include <random>

#include "model/model.hpp"
#include "model_support.hpp"
#include "support.hpp"

using namespace attnbound;
using attnbound::testing::model_error;
using attnbound::testing::same_bits;
using attnbound::testing::ScratchDir;
using ::testing::HasSubstr;

namespace {

/// A raw file image: 8-byte little-endian header length, header text, data bytes.
std::string image(const std::string& header, const std::string& data, std::uint64_t claimed_len = UINT64_MAX) {
  std::string out;
  const std::uint64_t n = claimed_len == UINT64_MAX ? header.size() : claimed_len;
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((n >> (8 * i)) & 0xff));
  return out + header + data;
}

std::string open_error(const std::string& bytes) {
  return model_error([&] { SafetensorsFile::from_bytes(bytes, "x.safetensors"); });
}

SafeTensor tensor(std::string name, std::string dtype, std::vector<std::uint64_t> shape, std::vector<double> v) {
  SafeTensor t;
  t.name = std::move(name);
  t.dtype = std::move(dtype);
  t.shape = std::move(shape);
  t.values = std::move(v);
  return t;
}

/// Independent binary16 decoding: (-1)^s (e ? 1 + m/1024 : m/1024) 2^(max(e,1) - 15), every step exact.
double f16_reference(std::uint16_t h) {
  const int s = h >> 15, e = (h >> 10) & 31, m = h & 1023;
  if (e == 31) return m ? std::numeric_limits<double>::quiet_NaN() : (s ? -INFINITY : INFINITY);
  const double frac = (e ? 1024.0 + m : static_cast<double>(m)) / 1024.0;
  const double v = frac * std::pow(2.0, (e ? e : 1) - 15);
  return s ? -v : v;
}

}  // namespace

TEST(Safetensors, F16ConversionIsExact) {
  struct Case {
    std::uint16_t bits;
    double value;
  };
  const Case cases[] = {
      {0x0000, 0.0},          {0x3c00, 1.0},          {0xc000, -2.0},
      {0x7bff, 65504.0},      {0x0001, 0x1p-24},      {0x03ff, 1023 * 0x1p-24},
      {0x0400, 0x1p-14},      {0x3555, 0.333251953125}, {0x3bff, 0.99951171875},
      {0x8001, -0x1p-24},     {0x3e00, 1.5},          {0x5640, 100.0},
  };
  for (const auto& c : cases) EXPECT_TRUE(same_bits(f16_to_double(c.bits), c.value)) << std::hex << c.bits;
  EXPECT_TRUE(same_bits(f16_to_double(0x8000), -0.0));
  EXPECT_EQ(f16_to_double(0x7c00), INFINITY);
  EXPECT_EQ(f16_to_double(0xfc00), -INFINITY);
  EXPECT_TRUE(std::isnan(f16_to_double(0x7e00)));
  EXPECT_TRUE(std::isnan(f16_to_double(0x7c01)));
  EXPECT_TRUE(std::isnan(f16_to_double(0xffff)));
  // All 65536 patterns against the independent formula (and the compiler's _Float16 if it has one).
  for (std::uint32_t h = 0; h < 65536; ++h) {
    const double a = f16_to_double(static_cast<std::uint16_t>(h)), b = f16_reference(static_cast<std::uint16_t>(h));
    ASSERT_TRUE(std::isnan(b) ? std::isnan(a) : same_bits(a, b)) << std::hex << h;
#ifdef __FLT16_MAX__
    const auto f = std::bit_cast<_Float16>(static_cast<std::uint16_t>(h));
    ASSERT_TRUE(std::isnan(b) ? std::isnan(static_cast<double>(f)) : same_bits(a, static_cast<double>(f)));
#endif
  }
}

TEST(Safetensors, BF16ConversionIsExact) {
  EXPECT_EQ(bf16_to_double(0x3f80), 1.0);
  EXPECT_EQ(bf16_to_double(0xc000), -2.0);
  EXPECT_EQ(bf16_to_double(0x3e80), 0.25);
  EXPECT_EQ(bf16_to_double(0x4049), 3.140625);
  EXPECT_EQ(bf16_to_double(0x0001), 0x1p-133);  // smallest bfloat16 subnormal
  EXPECT_EQ(bf16_to_double(0x7f7f), 0x1.fep127);  // largest finite
  EXPECT_TRUE(same_bits(bf16_to_double(0x8000), -0.0));
  EXPECT_EQ(bf16_to_double(0x7f80), INFINITY);
  EXPECT_EQ(bf16_to_double(0xff80), -INFINITY);
  EXPECT_TRUE(std::isnan(bf16_to_double(0x7fc0)));
  for (std::uint32_t h = 0; h < 65536; ++h) {
    // bfloat16 = the upper half of a binary32: sign, 8-bit exponent, 7-bit mantissa.
    const int s = h >> 15, e = (h >> 7) & 255, m = h & 127;
    if (e == 255) continue;
    const double v = (e ? 128.0 + m : static_cast<double>(m)) / 128.0 * std::pow(2.0, (e ? e : 1) - 127);
    ASSERT_TRUE(same_bits(bf16_to_double(static_cast<std::uint16_t>(h)), s ? -v : v)) << std::hex << h;
  }
}

TEST(Safetensors, WriterAndReaderRoundTripEveryDtype) {
  std::mt19937_64 rng(attnbound::testing::seed(201));
  std::vector<double> f64(30), f32(12), f16, bf16;
  for (double& x : f64) x = std::bit_cast<double>(rng() & 0xbfffffffffffffffull);  // finite
  for (double& x : f32) x = static_cast<float>(std::normal_distribution<double>()(rng));
  for (std::uint32_t h = 0; h < 65536; h += 97) {
    if (((h >> 10) & 31) != 31) f16.push_back(f16_to_double(static_cast<std::uint16_t>(h)));
    if (((h >> 7) & 255) != 255) bf16.push_back(bf16_to_double(static_cast<std::uint16_t>(h)));
  }
  f64[0] = -0.0;
  f64.push_back(std::numeric_limits<double>::quiet_NaN());  // NaN is data to the format
  const std::vector<SafeTensor> ts = {
      tensor("b.f64", "F64", {31}, f64),
      tensor("a.f32", "F32", {3, 4}, f32),
      tensor("c.f16", "F16", {f16.size()}, f16),
      tensor("d.bf16", "BF16", {1, bf16.size()}, bf16),
      tensor("e.scalar", "F64", {}, {2.5}),
      tensor("f.empty", "F32", {0, 7}, {}),
  };
  const std::map<std::string, std::string> meta = {{"n_head", "2"}, {"note", "ünïcode"}};
  ScratchDir dir;
  const std::string path = dir.file("t.safetensors");
  write_safetensors(path, ts, meta);
  const std::string bytes = encode_safetensors(ts, meta);
  std::uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | static_cast<unsigned char>(bytes[i]);
  EXPECT_EQ((8 + n) % 8, 0u) << "data buffer not aligned";
  for (const SafetensorsFile& f : {SafetensorsFile::open(path), SafetensorsFile::from_bytes(bytes)}) {
    EXPECT_EQ(f.metadata(), meta);
    ASSERT_EQ(f.entries().size(), ts.size());
    EXPECT_EQ(f.entries()[0].name, "a.f32");  // sorted by name
    for (const SafeTensor& t : ts) {
      const SafetensorsEntry* e = f.find(t.name);
      ASSERT_NE(e, nullptr) << t.name;
      EXPECT_EQ(e->dtype, t.dtype);
      EXPECT_EQ(e->shape, t.shape);
      const std::vector<double> v = f.read(t.name);
      ASSERT_EQ(v.size(), t.values.size());
      for (std::size_t i = 0; i < v.size(); ++i)
        ASSERT_TRUE(std::isnan(t.values[i]) ? std::isnan(v[i]) : same_bits(v[i], t.values[i])) << t.name << " " << i;
    }
    EXPECT_EQ(f.find("zzz"), nullptr);
    EXPECT_THAT(model_error([&] { f.read("zzz"); }), HasSubstr("missing tensor zzz"));
  }
}

TEST(Safetensors, WriterNeverRounds) {
  EXPECT_THAT(model_error([] { encode_safetensors({tensor("w", "F32", {1}, {0.1})}); }),
              HasSubstr("tensor \"w\": value 0 (0.1) is not exactly representable as F32"));
  EXPECT_THAT(model_error([] { encode_safetensors({tensor("w", "F16", {2}, {1.0, 1e-9})}); }),
              HasSubstr("value 1 (1e-09) is not exactly representable as F16"));
  EXPECT_THAT(model_error([] { encode_safetensors({tensor("w", "F16", {1}, {65520.0})}); }), HasSubstr("as F16"));
  EXPECT_THAT(model_error([] { encode_safetensors({tensor("w", "BF16", {1}, {1.0 + 0x1p-10})}); }), HasSubstr("as BF16"));
  EXPECT_THAT(model_error([] { encode_safetensors({tensor("w", "F32", {1}, {1e300})}); }), HasSubstr("as F32"));
  EXPECT_THAT(model_error([] { encode_safetensors({tensor("w", "F64", {2, 2}, {1, 2, 3})}); }),
              HasSubstr("shape [2, 2] has 4 elements, values has 3"));
  EXPECT_THAT(model_error([] { encode_safetensors({tensor("w", "I32", {1}, {1})}); }), HasSubstr("dtype \"I32\""));
  EXPECT_THAT(model_error([] { encode_safetensors({tensor("w", "F64", {1}, {1}), tensor("w", "F64", {1}, {2})}); }),
              HasSubstr("duplicate"));
  EXPECT_EQ(model_error([] { encode_safetensors({tensor("w", "F16", {3}, {-0.0, 0x1p-24, 65504.0})}); }), "");
}

TEST(Safetensors, HeaderAttacksAreRejectedWithOneLine) {
  const std::string ok_entry = R"("w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]})";
  const std::string data8(8, '\0');
  struct Case {
    std::string bytes;
    std::string expect;
  };
  const std::vector<Case> cases = {
      {"", "truncated file: 0 bytes"},
      {std::string("\x10\0\0", 3), "truncated file: 3 bytes"},
      {image("{}", "", 0xffffffffffffffffull - 1), "exceeds the limit"},
      {image("{}", "", 200'000'000), "exceeds the limit"},
      {image("{}", "", 1000), "runs past the end of the file"},
      {image("{}", "", 1), "too small"},
      {image(" {}", ""), "does not start with '{'"},
      {image("[1,2]", ""), "does not start with '{'"},
      {image("{abc}", ""), "header: not valid JSON"},
      {image("{\"w\": {\"dtype\": \"F32\"}, }", ""), "header: not valid JSON"},
      {image("{\"\xff\xfe\": 1}", ""), "header: not valid JSON"},
      {image("{" + ok_entry + "}", ""), "past the end of the data buffer (0 bytes): truncated file?"},
      {image("{" + ok_entry + "}", data8.substr(0, 5)), "past the end of the data buffer (5 bytes)"},
      {image(R"({"w": {"dtype": "F32", "shape": [2], "data_offsets": [8, 0]}})", data8), "has begin > end"},
      {image(R"({"w": {"dtype": "F32", "shape": [3], "data_offsets": [0, 8]}})", data8),
       "shape [3] of F32 needs 12 bytes, data_offsets give 8"},
      {image(R"({"w": {"dtype": "F128", "shape": [1], "data_offsets": [0, 8]}})", data8), "unknown dtype \"F128\""},
      {image(R"({"w": {"shape": [1], "data_offsets": [0, 8]}})", data8), "missing or non-string \"dtype\""},
      {image(R"({"w": {"dtype": "F64", "data_offsets": [0, 8]}})", data8), "missing or non-array \"shape\""},
      {image(R"({"w": {"dtype": "F64", "shape": [-1], "data_offsets": [0, 8]}})", data8), "shape entry -1 is not a non-negative integer"},
      {image(R"({"w": {"dtype": "F64", "shape": [1.0], "data_offsets": [0, 8]}})", data8), "shape entry 1.0 is not"},
      {image(R"({"w": {"dtype": "F64", "shape": [4294967296, 4294967296, 4294967296], "data_offsets": [0, 8]}})", data8),
       "is too large"},
      {image(R"({"w": {"dtype": "F64", "shape": [2305843009213693952], "data_offsets": [0, 8]}})", data8), "is too large"},
      {image(R"({"w": {"dtype": "F64", "shape": [1], "data_offsets": [0]}})", data8), "\"data_offsets\" must be [begin, end]"},
      {image(R"({"w": {"dtype": "F64", "shape": [1], "data_offsets": [0, -8]}})", data8), "\"data_offsets\" must be"},
      {image(R"({"w": {"dtype": "F64", "shape": [1], "data_offsets": [0, 1e30]}})", data8), "\"data_offsets\" must be"},
      {image(R"({"w": [1, 2]})", data8), "tensor \"w\" is an array, expected an object"},
      {image(R"({"w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}, "v": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}})",
             data8),
       "overlap"},
      {image(R"({"w": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}, "w": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}})",
             data8),
       "duplicate key \"w\""},
      {image(R"({"w": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}})", data8), "bytes 0 to 4 belong to no tensor"},
      {image(R"({"w": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}})", data8), "trailing data"},
      {image("{}", "xyz"), "bytes 0 to 3 (end of file) belong to no tensor"},
      {image(R"({"__metadata__": {"n_head": 12}})", ""), "__metadata__.n_head is a number, expected a string"},
      {image(R"({"__metadata__": [1]})", ""), "__metadata__ is an array, expected an object"},
      {image("{\"a\":" + std::string(20, '[') + std::string(20, ']') + "}", ""), "nested deeper than"},
  };
  for (const auto& c : cases) {
    const std::string msg = open_error(c.bytes);
    EXPECT_THAT(msg, ::testing::StartsWith("x.safetensors: ")) << c.expect;
    EXPECT_THAT(msg, HasSubstr(c.expect));
    EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
  }
  // A well-formed but non-float tensor opens; reading it as weights is refused.
  const SafetensorsFile f = SafetensorsFile::from_bytes(
      image(R"({"i": {"dtype": "I64", "shape": [1], "data_offsets": [0, 8]}})", data8), "x.safetensors");
  EXPECT_THAT(model_error([&] { f.read("i"); }), HasSubstr("tensor \"i\" has dtype I64, expected F64, F32, F16 or BF16"));
  // Zero-size tensors and padding spaces are fine.
  EXPECT_EQ(open_error(image(R"({"z": {"dtype": "F32", "shape": [0], "data_offsets": [0, 0]}}   )", "")), "");
}

TEST(Safetensors, TruncatedAndMissingFiles) {
  ScratchDir dir;
  const std::string bytes = encode_safetensors({tensor("a", "F64", {4}, {1, 2, 3, 4}), tensor("b", "F64", {2}, {5, 6})});
  for (std::size_t cut : {bytes.size() - 1, bytes.size() - 16, std::size_t{40}, std::size_t{8}, std::size_t{3}}) {
    const std::string p = dir.write("cut.safetensors", bytes.substr(0, cut));
    const std::string msg = model_error([&] { SafetensorsFile::open(p); });
    EXPECT_THAT(msg, HasSubstr(p + ": ")) << cut;
    EXPECT_THAT(msg, HasSubstr("truncated")) << cut << ": " << msg;
  }
  EXPECT_THAT(model_error([&] { SafetensorsFile::open(dir.file("none.safetensors")); }), HasSubstr("cannot open"));
  std::filesystem::create_directory(dir.file("d.safetensors"));
  EXPECT_THAT(model_error([&] { SafetensorsFile::open(dir.file("d.safetensors")); }), HasSubstr("not a regular file"));
}

TEST(Safetensors, ReadsOnlyTheRequestedTensors) {
  // Open, then cut the file so that tensor b's bytes vanish: a reads fine (b was never touched),
  // b reports the short read. Shows the reader seeks to tensors lazily instead of loading the file.
  ScratchDir dir;
  const std::string bytes = encode_safetensors({tensor("a", "F64", {4}, {1, 2, 3, 4}), tensor("b", "F64", {1000}, std::vector<double>(1000, 7.0))});
  const std::string p = dir.write("lazy.safetensors", bytes);
  const SafetensorsFile f = SafetensorsFile::open(p);
  std::filesystem::resize_file(p, bytes.size() - 4000);
  EXPECT_EQ(f.read("a"), (std::vector<double>{1, 2, 3, 4}));
  EXPECT_THAT(model_error([&] { f.read("b"); }), HasSubstr("unexpected end of file"));
}

TEST(Safetensors, RandomCorruptionNeverCrashes) {
  std::mt19937_64 rng(attnbound::testing::seed(202));
  const std::string base = encode_safetensors(
      {tensor("h.0.attn.c_attn.weight", "F32", {2, 6}, std::vector<double>(12, 0.5)),
       tensor("h.0.attn.c_attn.bias", "F16", {6}, std::vector<double>(6, 0.25)),
       tensor("h.0.attn.c_proj.weight", "BF16", {2, 2}, {1, 2, 3, 4}),
       tensor("h.0.attn.c_proj.bias", "F64", {2}, {0, 1})},
      {{"n_head", "1"}});
  int opened = 0;
  for (int i = 0; i < 4000; ++i) {
    std::string t = base;
    for (int k = 0; k < 1 + i % 3; ++k) {
      const std::size_t p = i % 5 == 0 ? rng() % 8 : rng() % t.size();  // often the length field
      switch (rng() % 3) {
        case 0: t[p] = static_cast<char>(rng() % 256); break;
        case 1: t.erase(p, 1 + rng() % 4); break;
        default: t.insert(p, 1, static_cast<char>(rng() % 256)); break;
      }
      if (t.empty()) t = "x";
    }
    try {
      const SafetensorsFile f = SafetensorsFile::from_bytes(t, "fuzz.safetensors");
      ++opened;
      for (const auto& e : f.entries()) {
        try {
          f.read(e);
        } catch (const ModelError&) {
        }
      }
      LoadOptions o;
      o.n_heads = 1;
      layer_from_safetensors(f, o);
    } catch (const ModelError&) {
    }
  }
  EXPECT_GT(opened, 10);  // some mutations leave a valid file (e.g. in weight bytes)
}
