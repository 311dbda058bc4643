// The certificate writer (src/certificate): exact numbers, the claim's slack, the contract keys,
// atomic files.
#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <fstream>
#include <random>
#include <sstream>

#include "certificate/certificate.hpp"
#include "model/model.hpp"
#include "support.hpp"

namespace attnbound {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

/// Random doubles biased toward nasty cases: subnormals, extremes, signed zeros, integers,
/// values with 17 significant digits, random bit patterns.
double nasty(std::mt19937_64& rng) {
  std::uniform_int_distribution<int> kind(0, 7);
  switch (kind(rng)) {
    case 0: return std::bit_cast<double>(rng() & 0x000fffffffffffffULL);  // subnormal
    case 1: return (rng() & 1 ? -1 : 1) * std::numeric_limits<double>::max() / static_cast<double>(1 + rng() % 7);
    case 2: return rng() & 1 ? -0.0 : 0.0;
    case 3: return static_cast<double>(static_cast<std::int64_t>(rng() % 2000001) - 1000000);
    case 4: return std::nextafter(0.1 * static_cast<double>(rng() % 100), 1e300);
    default: {
      double x;
      do x = std::bit_cast<double>(rng());
      while (!std::isfinite(x));
      return x;
    }
  }
}

Matrix nasty_matrix(std::mt19937_64& rng, long n, long d) {
  Matrix M(n, d);
  for (long k = 0; k < M.size(); ++k) M.data()[k] = nasty(rng);
  return M;
}

bool same_bits(double a, double b) { return std::bit_cast<std::uint64_t>(a) == std::bit_cast<std::uint64_t>(b); }

void expect_matrix_bits(const json& j, const Matrix& M, const std::string& what) {
  ASSERT_EQ(j.size(), static_cast<std::size_t>(M.rows())) << what;
  for (long i = 0; i < M.rows(); ++i)
    for (long a = 0; a < M.cols(); ++a)
      ASSERT_TRUE(same_bits(j[i][a].get<double>(), M(i, a)))
          << what << "(" << i << "," << a << "): wrote " << M(i, a) << ", read " << j[i][a].get<double>();
}

struct Fixture {
  AttentionLayer layer = builtin_model("tiny");
  CertifyRecord rec;
};

Fixture point_record(std::mt19937_64& rng, long n) {
  Fixture f;
  const Matrix X = nasty_matrix(rng, n, 2);
  f.rec.model_spec = "builtin:tiny";
  f.rec.region = Box::point(X);
  f.rec.bracket.lower = LowerBound::proved(std::abs(nasty(rng)));
  f.rec.bracket.upper = UpperBound::proved(std::abs(nasty(rng)));
  f.rec.bracket.estimate = Estimate(nasty(rng));
  f.rec.bracket.witness = Witness{"w", X, nasty_matrix(rng, n, 2)};
  f.rec.bracket.upper_evidence = UpperEvidence{"dense", nasty_matrix(rng, n, 2)};
  f.rec.status = "ok";
  f.rec.layer = &f.layer;
  return f;
}

TEST(CertificateFormat, EveryNumberRoundTripsBitForBit) {
  std::mt19937_64 rng(testing::seed(20240611));
  for (int trial = 0; trial < 200; ++trial) {
    Fixture f = point_record(rng, 1 + trial % 5);
    f.rec.layer = &f.layer;
    const std::string text = certificate_text(f.rec);
    const json j = json::parse(text);
    const Bracket& b = f.rec.bracket;
    expect_matrix_bits(j["region"]["X"], std::get<Box>(f.rec.region).lo, "region.X");
    expect_matrix_bits(j["evidence"]["lower"]["X"], b.witness->X, "evidence.lower.X");
    expect_matrix_bits(j["evidence"]["lower"]["direction"], b.witness->dir, "evidence.lower.direction");
    expect_matrix_bits(j["evidence"]["upper"]["hint"], b.upper_evidence.direction, "evidence.upper.hint");
    const CertificateClaim claim = certificate_claim(b);
    EXPECT_TRUE(same_bits(j["claim"]["lower"].get<double>(), claim.lower.value()));
    if (claim.upper.is_finite()) {
      EXPECT_TRUE(same_bits(j["claim"]["upper"].get<double>(), claim.upper.value()));
    }
    EXPECT_TRUE(same_bits(j["run"]["estimate"].get<double>(), b.estimate.value()));
    // Every matrix entry is written as a floating-point literal (never read back as an integer).
    std::function<void(const json&)> walk = [&](const json& x) {
      if (x.is_array()) {
        for (const auto& e : x) {
          if (e.is_number()) {
            EXPECT_TRUE(e.is_number_float()) << e.dump();
          }
          walk(e);
        }
      } else if (x.is_object()) {
        for (const auto& e : x) walk(e);
      }
    };
    walk(j["region"]);
    walk(j["evidence"]);
    // The layout is a fixed point: re-laying out the parsed JSON gives the same text.
    EXPECT_EQ(certificate_layout(j) + "\n", text);
  }
}

TEST(CertificateFormat, ShortestRoundTripDecimals) {
  // std::to_chars gives the shortest text that reads back; spot-check known cases.
  const json j = {{"a", 0.1}, {"b", 1.0}, {"c", -0.0}, {"d", 5e-324}, {"e", 1.7976931348623157e308}, {"f", 2.0 / 3.0}};
  const std::string t = certificate_layout(j);
  EXPECT_NE(t.find("\"a\": 0.1,"), std::string::npos) << t;
  EXPECT_NE(t.find("\"b\": 1.0,"), std::string::npos) << t;
  EXPECT_NE(t.find("\"c\": -0.0,"), std::string::npos) << t;
  EXPECT_NE(t.find("\"d\": 5e-324,"), std::string::npos) << t;
  EXPECT_NE(t.find("\"e\": 1.7976931348623157e+308,"), std::string::npos) << t;
  EXPECT_NE(t.find("\"f\": 0.6666666666666666"), std::string::npos) << t;
  EXPECT_TRUE(same_bits(json::parse(t)["c"].get<double>(), -0.0));
  EXPECT_THROW(certificate_layout(json{{"x", std::nan("")}}), std::invalid_argument);
}

TEST(CertificateFormat, ClaimIsTheBracketWidenedBySlack) {
  Bracket b;
  b.lower = LowerBound::proved(1.25);
  b.upper = UpperBound::proved(1.5);
  const CertificateClaim c = certificate_claim(b);
  EXPECT_LT(c.lower.value(), 1.25);
  EXPECT_GT(c.upper.value(), 1.5);
  EXPECT_LE(1.25 - c.lower.value(), 1.25 * 2 * kClaimSlack);
  EXPECT_LE(c.upper.value() - 1.5, 1.5 * 2 * kClaimSlack);
  EXPECT_GE(1.25 - c.lower.value(), 1.25 * 0.5 * kClaimSlack);
  // Non-positive lower bounds become the trivial claim 0; an infinite upper stays infinite.
  b.lower = LowerBound::minus_infinity();
  b.upper = UpperBound::infinity();
  const CertificateClaim t = certificate_claim(b);
  EXPECT_EQ(t.lower.value(), 0.0);
  EXPECT_FALSE(t.upper.is_finite());
}

TEST(CertificateFormat, ContractKeys) {
  std::mt19937_64 rng(testing::seed(7));
  Fixture f = point_record(rng, 3);
  f.rec.layer = &f.layer;
  f.rec.tool_version = "9.9.9";
  f.rec.git_revision = "abcdef123456";
  const json j = json::parse(certificate_text(f.rec));
  EXPECT_EQ(j["format"], "attnbound-certificate");
  EXPECT_EQ(j["version"], 1);
  EXPECT_EQ(j["model"]["sha256"], model_digest(f.layer));
  EXPECT_EQ(j["model"]["spec"], "builtin:tiny");
  EXPECT_EQ(j["region"]["kind"], "point");
  EXPECT_TRUE(j["claim"]["lower"].is_number());
  EXPECT_TRUE(j["claim"]["upper"].is_number());
  EXPECT_EQ(j["evidence"]["lower"]["X"].size(), 3u);
  EXPECT_EQ(j["evidence"]["lower"]["direction"].size(), 3u);
  EXPECT_EQ(j["evidence"]["upper"]["tier"], "dense");
  EXPECT_EQ(j["tool"]["version"], "9.9.9");
  EXPECT_EQ(j["tool"]["git_revision"], "abcdef123456");
  EXPECT_EQ(j["arithmetic"]["tier"], "double-interval");
  EXPECT_EQ(j["arithmetic"]["precision"], 53);
  EXPECT_EQ(j["arithmetic"]["claim_slack"].get<double>(), kClaimSlack);
}

TEST(CertificateFormat, InfiniteUpperAndPartition) {
  std::mt19937_64 rng(testing::seed(11));
  Fixture f = point_record(rng, 2);
  f.rec.layer = &f.layer;
  f.rec.region = BallProduct{2, 2, 1.5};
  f.rec.bracket.upper = UpperBound::infinity();
  json j = json::parse(certificate_text(f.rec));
  EXPECT_EQ(j["claim"]["upper"], "inf");
  EXPECT_EQ(j["evidence"]["upper"]["tier"], "none");

  f.rec.bracket.upper = UpperBound::proved(3.0);
  const Box root = std::get<BallProduct>(f.rec.region).bounding_box();
  const auto halves = root.split(0, 1);
  ASSERT_TRUE(halves);
  f.rec.bracket.partition = {PartitionLeaf{"0.1.L", halves->first, UpperBound::proved(2.5), "box-centred", Matrix()},
                             PartitionLeaf{"0.1.R", halves->second, UpperBound::proved(3.0), "box-centred", Matrix()}};
  j = json::parse(certificate_text(f.rec));
  EXPECT_EQ(j["region"]["kind"], "ball");
  EXPECT_EQ(j["evidence"]["upper"]["tier"], "partition");
  EXPECT_EQ(j["evidence"]["upper"]["root"], "ball-bounding-box");
  ASSERT_EQ(j["evidence"]["upper"]["leaves"].size(), 2u);
  EXPECT_EQ(j["evidence"]["upper"]["leaves"][1]["path"], "0.1.R");
  expect_matrix_bits(j["evidence"]["upper"]["leaves"][0]["hi"], halves->first.hi, "leaf hi");
}

TEST(CertificateFormat, AtomicWrite) {
  std::mt19937_64 rng(testing::seed(5));
  Fixture f = point_record(rng, 2);
  f.rec.layer = &f.layer;
  const fs::path dir = fs::temp_directory_path() / ("attnbound-cert-" + std::to_string(rng()));
  fs::create_directories(dir);
  const fs::path target = dir / "c.json";
  {
    std::ofstream(target) << "old content";
  }
  write_certificate(target.string(), f.rec);
  std::ifstream in(target);
  std::stringstream ss;
  ss << in.rdbuf();
  EXPECT_EQ(ss.str(), certificate_text(f.rec));
  // Only the certificate is left in the directory (no temporary files).
  int files = 0;
  for (const auto& e : fs::directory_iterator(dir)) {
    (void)e;
    ++files;
  }
  EXPECT_EQ(files, 1);
  // A failed write leaves no file behind and says where.
  try {
    write_certificate((dir / "missing-dir" / "c.json").string(), f.rec);
    FAIL() << "expected an error";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("missing-dir"), std::string::npos);
  }
  // A record the format cannot express fails before any file is touched.
  f.rec.bracket.witness->X(0, 0) = std::nan("");
  EXPECT_THROW(write_certificate(target.string(), f.rec), std::invalid_argument);
  std::ifstream again(target);
  std::stringstream ss2;
  ss2 << again.rdbuf();
  EXPECT_EQ(ss2.str(), ss.str());
  fs::remove_all(dir);
}

}  // namespace
}  // namespace attnbound
