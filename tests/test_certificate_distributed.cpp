// The pieces of the distributed tier that need no MPI (the MPI ones: tests/mpi/): the shared
// jacobian_rows template, the checker's block-wise assembly, and the single-machine checker's rule
// for "distributed" certificates (the dense rule up to n·d = 12288, else a pointer to
// attnbound-check-mpi).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <random>

#include "attention/attention.hpp"
#include "bound/bound.hpp"
#include "certificate/certificate.hpp"
#include "checker.hpp"
#include "internal.hpp"
#include "model/model.hpp"
#include "support.hpp"

namespace attnbound {
namespace {

Matrix random_point(long n, long d, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> nd;
  Matrix X(n, d);
  for (Eigen::Index k = 0; k < X.size(); ++k) X.data()[k] = nd(rng);
  return X;
}

std::string distributed_certificate(const AttentionLayer& layer, const std::string& spec, const Matrix& X,
                                    const Bracket& b) {
  CertifyRecord rec;
  rec.model_spec = spec;
  rec.layer = &layer;
  rec.region = Box::point(X);
  rec.bracket = b;
  rec.bracket.upper_evidence.tier = "distributed";  // what attnbound-mpi writes
  rec.status = "ok";
  return certificate_text(rec);
}

TEST(JacobianRows, AnySubsetOfRowsEnclosesTheJacobian) {
  const std::uint64_t s = testing::seed(1811);
  for (const char* spec : {"builtin:tiny", "builtin:tiny-causal"}) {
    const AttentionLayer layer = load_model(spec);
    const Matrix X = random_point(5, layer.d, s);
    const long d = layer.d, N = X.size();
    UpwardScope up;
    IMatrix Xi(X.rows(), X.cols());
    for (Eigen::Index k = 0; k < X.size(); ++k) Xi.data()[k] = point(X.data()[k]);
    const auto st = forward<Interval>(layer, Xi);
    const IMatrix J = jacobian<Interval>(layer, st);
    const auto f = jacobian_factors(layer, st);
    const Matrix Jd = jacobian<double>(layer, forward<double>(layer, X));
    for (long i = 0; i < X.rows(); ++i) {
      const std::vector<long> rows = {d - 1, 0};  // reversed order, a subset
      const IMatrix R = jacobian_rows<Interval>(layer, st, f, i, rows);
      ASSERT_EQ(R.rows(), 2);
      ASSERT_EQ(R.cols(), N);
      for (std::size_t r = 0; r < rows.size(); ++r)
        for (long c = 0; c < N; ++c) {
          const Interval& a = R(static_cast<Eigen::Index>(r), c);
          const Interval& b = J(i * d + rows[r], c);
          // Both enclose the same exact entry, and the float Jacobian lies within rounding of it.
          EXPECT_LE(a.lower(), b.upper());
          EXPECT_LE(b.lower(), a.upper());
          EXPECT_LE(a.upper() - a.lower(), 1e-12);
          EXPECT_NEAR(Jd(i * d + rows[r], c), 0.5 * (a.lower() + a.upper()), 1e-12) << spec;
        }
    }
  }
}

TEST(CheckerBlocks, BlockwiseAssemblyEqualsTheWholeOne) {
  const AttentionLayer layer = load_model("builtin:tiny-causal");
  const Matrix X = random_point(6, layer.d, testing::seed(1812));
  const auto s = check::forward_fast(layer, check::CBox{X, X});
  const MidRad J = check::assemble_jacobian_fast(layer, s);
  const long d = layer.d;
  int blocks = 0;
  check::assemble_jacobian_fast_blocks(
      layer, s, [](long i, long l) { return (i + l) % 2 == 0; },
      [&](long i, long l, const Matrix& mid, const Matrix& rad) {
        ++blocks;
        EXPECT_EQ((i + l) % 2, 0);
        EXPECT_LE(l, i);  // causal: blocks above the diagonal are exact zeros, never sent
        EXPECT_EQ(mid, J.mid.block(i * d, l * d, d, d));
        EXPECT_EQ(rad, J.rad.block(i * d, l * d, d, d));
      });
  EXPECT_EQ(blocks, 12);  // (i, l) with l <= i < 6 and i + l even
}

TEST(CheckerDistributed, SingleMachineRuleAcceptsAndRejects) {
  const AttentionLayer layer = load_model("builtin:tiny");
  const Matrix X = random_point(20, layer.d, testing::seed(1813));
  const Bracket b = certify_point(layer, X, CertifyOptions{});
  const std::string text = distributed_certificate(layer, "builtin:tiny", X, b);
  const check::CheckResult ok = check::check_text(text, ".");
  EXPECT_EQ(ok.verdict, check::Verdict::valid) << ok.reason;
  // Tampered: the upper claim becomes the lower one (below the witness value).
  nlohmann::json j = nlohmann::json::parse(text);
  j["claim"]["upper"] = j["claim"]["lower"];
  const check::CheckResult bad = check::check_text(certificate_layout(j), ".");
  EXPECT_EQ(bad.verdict, check::Verdict::invalid);
  EXPECT_NE(bad.reason.find("distributed"), std::string::npos) << bad.reason;
}

TEST(CheckerDistributed, BeyondTheDenseLimitAsksForTheMpiChecker) {
  // n·d = 12288 + 768 at GPT-2 width; the lower claim 0 is trivially true, so only the upper rule runs.
  const AttentionLayer layer = load_model("builtin:gpt2-init");
  const Matrix X = Matrix::Zero(17, layer.d);
  Bracket b;
  b.lower = LowerBound::zero();
  b.upper = UpperBound::proved(1.0);
  b.upper_method = "distributed";
  const check::CheckResult r = check::check_text(distributed_certificate(layer, "builtin:gpt2-init", X, b), ".");
  EXPECT_EQ(r.verdict, check::Verdict::invalid);
  EXPECT_NE(r.reason.find("attnbound-check-mpi"), std::string::npos) << r.reason;
}

}  // namespace
}  // namespace attnbound
