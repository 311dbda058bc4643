// Property: every certificate the engine would write checks valid (issue 15).
//
// Random small layers (paper and full form, biases, 1–2 heads, masked and unmasked, d 1…3) and
// random regions (points, ε-boxes, boxes with pinned coordinates, ball products with n = 1…4) are
// certified by the engine's own entry points under a short time limit, so that branch-and-bound
// stops at arbitrary partitions, and the certificate text goes to the independent checker. A
// rejection is an engine/checker disagreement (the CLI would refuse to write the file and exit 4).
//
// 10 shards × 50 cases run in CI. ATTNBOUND_PROPERTY_SECONDS=S makes every shard draw cases
// for S seconds instead (the long run outside CI: e.g. S = 300 on two shards for 10 minutes).
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <iostream>
#include <optional>
#include <random>
#include <sstream>

#include "bound/bound.hpp"
#include "certificate/certificate.hpp"
#include "checker.hpp"
#include "internal.hpp"
#include "model/model.hpp"
#include "model_support.hpp"
#include "random_layers.hpp"
#include "support.hpp"

using namespace attnbound;

namespace {

struct Case {
  AttentionLayer layer;
  Region region;
  std::optional<Matrix> centre;  // regions given around a centre (--center): the first-order tier runs too
  std::string label;
};

Case draw(std::mt19937_64& rng) {
  // d up to 8 (then n = 1): a ball's bisected boxes touch the sphere exactly when R² is a sum of
  // dyadic squares, which the radii 0.5, 1, 2 below make common (the case: d = 8, R = 0.5).
  attnbound::testing::LayerSpec sp = attnbound::testing::random_spec(rng, rng() % 4 ? 3 : 8, 2);
  Case c;
  c.layer = attnbound::testing::random_layer(sp, rng);
  const long d = sp.d;
  const long n = std::uniform_int_distribution<long>(1, std::max<long>(1, std::min<long>(4, 12 / d)))(rng);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  std::ostringstream label;
  label << "d=" << d << " H=" << sp.heads << " mask=" << (sp.mask == Mask::causal ? "causal" : "none")
        << " biases=" << sp.biases << " paper=" << sp.paper << " n=" << n;
  switch (rng() % 5) {
    case 0: {  // a point
      c.region = Box::point(attnbound::testing::random_tokens(n, d, 1.0, rng));
      label << " point";
      break;
    }
    case 1: {  // an ε-box around a centre, ε from 1e-4 to 0.5 (the older box tiers and the first-order tier)
      const double eps = std::pow(10.0, -4.0 + 3.7 * u(rng));
      c.centre = attnbound::testing::random_tokens(n, d, 1.0, rng);
      c.region = Box::around(*c.centre, eps);
      label << " box eps=" << eps;
      break;
    }
    case 4: {  // per-token ℓ2 balls around a centre, ρ from 1e-4 to 0.5 (the first-order tier)
      const double rho = std::pow(10.0, -4.0 + 3.7 * u(rng));
      c.centre = attnbound::testing::random_tokens(n, d, 1.0, rng);
      c.region = TokenBalls{*c.centre, rho};
      label << " l2 rho=" << rho;
      break;
    }
    case 2: {  // a box with some coordinates pinned (zero width)
      Box b = Box::around(attnbound::testing::random_tokens(n, d, 1.0, rng), std::pow(10.0, -2.0 + 1.7 * u(rng)));
      for (long i = 0; i < n; ++i)
        for (long a = 0; a < d; ++a)
          if (rng() % 3 == 0) b.hi(i, a) = b.lo(i, a);
      c.region = b;
      label << " pinned box";
      break;
    }
    default: {  // the ball product
      const double R = rng() % 2 ? std::pow(10.0, -1.0 + 1.3 * u(rng)) : std::ldexp(1.0, static_cast<int>(rng() % 3) - 1);
      c.region = BallProduct{n, d, R};
      label << " ball R=" << R;
      break;
    }
  }
  c.label = label.str();
  return c;
}

Bracket certify(const Case& c, const CertifyOptions& opt) {
  if (const auto* ball = std::get_if<BallProduct>(&c.region)) return certify_ball(c.layer, *ball, opt);
  if (const auto* balls = std::get_if<TokenBalls>(&c.region)) return certify_first_order(c.layer, *balls, *c.centre, opt);
  const Box& box = std::get<Box>(c.region);
  if (c.centre) return certify_box_around(c.layer, box, *c.centre, opt);
  return box.is_point() ? certify_point(c.layer, box.lo, opt) : certify_box(c.layer, box, opt);
}

class CertifyCheckProperty : public ::testing::TestWithParam<int> {};

TEST_P(CertifyCheckProperty, EveryCertificateChecksValid) {
  std::mt19937_64 rng(attnbound::testing::seed(7100 + static_cast<std::uint64_t>(GetParam())));
  attnbound::testing::ScratchDir dir;
  const char* env = std::getenv("ATTNBOUND_PROPERTY_SECONDS");
  const double budget = env ? std::atof(env) : 0.0;
  const auto t0 = std::chrono::steady_clock::now();
  auto more = [&](int done) {
    if (budget <= 0) return done < 50;
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() < budget;
  };
  int cases = 0, finite_upper = 0, partitions = 0;
  for (; more(cases); ++cases) {
    const Case c = draw(rng);
    const std::string spec = dir.file("model-" + std::to_string(cases) + ".json");
    save_model_json(c.layer, spec);
    CertifyOptions opt;
    opt.tol = std::uniform_int_distribution<int>(0, 1)(rng) ? 1e-2 : 1e-6;
    opt.time_limit = std::uniform_real_distribution<double>(0.01, 0.15)(rng);
    opt.threads = 1;
    const Bracket b = certify(c, opt);
    ASSERT_LE(b.lower.value(), b.upper.value()) << c.label;
    CertifyRecord rec;
    rec.model_spec = spec;
    rec.layer = &c.layer;
    rec.region = c.region;
    rec.bracket = b;
    rec.tol = opt.tol;
    rec.status = b.meets(opt.tol) ? "ok" : "budget";
    check::CheckOptions co;
    co.threads = 1;
    const check::CheckResult r = check::check_text(certificate_text(rec), dir.file(""), co);
    ASSERT_EQ(r.verdict, check::Verdict::valid) << "case " << cases << " (" << c.label << "), tol " << opt.tol
                                                << ", time limit " << opt.time_limit << ": " << r.reason;
    finite_upper += b.upper.is_finite();
    partitions += b.partition.size() > 1;
  }
  // The property is only worth something if most cases carry real claims on both sides.
  EXPECT_GE(finite_upper, cases * 9 / 10);
  EXPECT_GT(partitions, 0);
  RecordProperty("cases", cases);
  std::cout << "[ property ] " << cases << " cases, " << finite_upper << " with a finite upper bound, " << partitions
            << " with a partition: every certificate checked valid\n";
}

INSTANTIATE_TEST_SUITE_P(Shards, CertifyCheckProperty, ::testing::Range(0, 10));

TEST(CertifyCheckProperty, OneVisibleKeyIsExact) {
  // n = 1, or any ball at n = 1 under either mask: the softmax is the constant 1, J = Σ_h W_O W_V,
  // so the bracket closes at the root box to the default tolerance 1e-6 (the verified norm's own
  // relative gap is far below it), with one leaf and no time spent searching.
  std::mt19937_64 rng(attnbound::testing::seed(7200));
  for (int t = 0; t < 40; ++t) {
    attnbound::testing::LayerSpec sp = attnbound::testing::random_spec(rng, 8, 3);
    const AttentionLayer L = attnbound::testing::random_layer(sp, rng);
    const double R = std::uniform_real_distribution<double>(0.1, 5.0)(rng);
    CertifyOptions opt;
    opt.threads = 1;
    opt.time_limit = 30;
    const Bracket b = certify_ball(L, BallProduct{1, sp.d, R}, opt);
    EXPECT_TRUE(b.meets(1e-6)) << "trial " << t << ": [" << b.lower.value() << ", " << b.upper.value() << "]";
    EXPECT_LE(b.partition.size(), 1u) << "trial " << t;
    const Box box = Box::around(attnbound::testing::random_tokens(1, sp.d, 2.0, rng), 0.5);
    const Bracket bb = certify_box(L, box, opt);
    EXPECT_TRUE(bb.meets(1e-6)) << "box trial " << t << ": [" << bb.lower.value() << ", " << bb.upper.value() << "]";
  }
}

TEST(CertifyCheckProperty, BallContractionRulesAgree) {
  // The engine proves a box ∩ ball leaf over BallProduct::contract(box); the checker replays it
  // over its own contract_to_ball. The checker's box must never be the larger one (it was, for rows
  // whose box touches the sphere: room = R² − Σ min x_b² = 0 exactly). Boxes from the bisection
  // grid of [−R, R]^d, R ∈ {0.5, 1, 2}, make exact touching common.
  std::mt19937_64 rng(attnbound::testing::seed(7300));
  int touching = 0;
  for (int t = 0; t < 4000; ++t) {
    const long d = std::uniform_int_distribution<long>(1, 8)(rng), n = 1 + static_cast<long>(rng() % 2);
    const double R = std::ldexp(1.0, static_cast<int>(rng() % 3) - 1);
    Box b{Matrix(n, d), Matrix(n, d)};
    for (long i = 0; i < n; ++i)
      for (long a = 0; a < d; ++a) {
        const int k = static_cast<int>(rng() % 8);  // cells of width R/4
        b.lo(i, a) = -R + k * R / 4;
        b.hi(i, a) = b.lo(i, a) + R / 4 * static_cast<double>(1 + rng() % 2);
        if (b.hi(i, a) > R) b.hi(i, a) = R;
      }
    const BallProduct ball{n, d, R};
    if (ball.certainly_disjoint(b)) continue;
    const Box e = ball.contract(b);
    const check::CBox c = check::contract_to_ball(check::CBox{b.lo, b.hi}, R);
    for (long i = 0; i < n; ++i)
      for (long a = 0; a < d; ++a) {
        ASSERT_GE(c.lo(i, a), e.lo(i, a)) << "trial " << t;
        ASSERT_LE(c.hi(i, a), e.hi(i, a)) << "trial " << t;
        touching += e.lo(i, a) == e.hi(i, a) && b.lo(i, a) < b.hi(i, a);
      }
  }
  EXPECT_GT(touching, 0);  // the case that used to differ was drawn
}

}  // namespace
