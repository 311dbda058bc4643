// The first-order tier (docs/box.md): the excess contains the true Jacobian change, computed in
// 128-bit MPFI at random points of small regions (boxes and per-token ℓ2 balls); ascent from many
// starts never exceeds the certified upper bound; broken variants are caught; certificates of the
// tier check valid and tampered ones are rejected.
#include <gtest/gtest.h>

#include <cmath>
#include <iomanip>
#include <random>
#include <fstream>
#include <sstream>

#include "bound/bound.hpp"
#include "certificate/certificate.hpp"
#include "certificate_support.hpp"
#include "checker.hpp"
#include "cli/cli.hpp"
#include "internal.hpp"
#include "linalg/linalg.hpp"
#include "random_layers.hpp"
#include "support.hpp"

using namespace attnbound;
using namespace attnbound::testing;

namespace {

/// A random point of the region (exactly inside).
Matrix sample(const Region& region, const Matrix& c, std::mt19937_64& rng) {
  std::uniform_real_distribution<double> u(-1.0, 1.0);
  if (const Box* b = std::get_if<Box>(&region)) return random_point_in(*b, rng);
  const TokenBalls& t = std::get<TokenBalls>(region);
  Matrix X = c;
  for (long i = 0; i < c.rows(); ++i) {
    Vector dlt(c.cols());
    for (long a = 0; a < c.cols(); ++a) dlt(a) = u(rng);
    // Mostly on the sphere (where the change is largest), sometimes inside.
    const double radius = rng() % 4 ? t.rho : t.rho * std::abs(u(rng));
    dlt *= radius / std::max(1e-300, dlt.norm());
    X.row(i) += dlt.transpose();
  }
  return t.project(X);
}

/// A proved lower bound of ‖J(X) − J(c)‖₂: both Jacobians in 128-bit MPFI, the difference times
/// the float top right singular vector of the float difference.
double change_lower(const AttentionLayer& L, const Matrix& X, const Matrix& c, double* value_lower = nullptr) {
  MpPrecision p(128);
  const MpMatrix JX = jacobian<MpInterval>(L, forward<MpInterval>(L, cast_tokens<MpInterval>(X)));
  const MpMatrix Jc = jacobian<MpInterval>(L, forward<MpInterval>(L, cast_tokens<MpInterval>(c)));
  const MpMatrix D = JX - Jc;
  Matrix Df(D.rows(), D.cols());
  for (Eigen::Index k = 0; k < D.size(); ++k) Df(k) = D(k).mid_approx();
  const Vector v = approx::top_singular(Df).v;
  if (value_lower) {
    Matrix Jf(JX.rows(), JX.cols());
    for (Eigen::Index k = 0; k < JX.size(); ++k) Jf(k) = JX(k).mid_approx();
    *value_lower = norm2_lower(JX, Vector(approx::top_singular(Jf).v)).value();
  }
  return norm2_lower(D, v).value();
}

struct Case {
  AttentionLayer L;
  Matrix c;
  Region region;
};

/// Small random layers with logits of order one (so that the softmax moves), boxes and balls.
Case random_case(std::mt19937_64& rng, int k) {
  LayerSpec sp = random_spec(rng, 4, 2);
  Case cs;
  cs.L = random_layer(sp, rng);
  const long n = std::uniform_int_distribution<long>(1, 4)(rng);
  cs.c = random_tokens(n, sp.d, 1.5, rng);
  const double size = std::pow(10.0, std::uniform_real_distribution<double>(-3, -1)(rng));
  if (k % 2) cs.region = TokenBalls{cs.c, size};
  else cs.region = Box::around(cs.c, size);
  return cs;
}

FirstOrderRegion region_of(const Case& cs) {
  if (const Box* b = std::get_if<Box>(&cs.region)) return FirstOrderRegion::box(*b, cs.c);
  return FirstOrderRegion::balls(std::get<TokenBalls>(cs.region));
}

}  // namespace

TEST(FirstOrder, ExcessAndDirectBoundContainTheTruthAtRandomPoints) {
  std::mt19937_64 rng(seed(7101));
  double worst = 0.0;  // largest sampled change / excess (must stay <= 1)
  int points = 0;
  for (int trial = 0; trial < 24; ++trial) {
    const Case cs = random_case(rng, trial);
    const FirstOrderExcess ex = first_order_excess(cs.L, region_of(cs));
    ASSERT_TRUE(ex.excess.is_finite()) << "trial " << trial;
    for (int p = 0; p < 12; ++p, ++points) {
      const Matrix X = sample(cs.region, cs.c, rng);
      double value = 0.0;
      const double lo = change_lower(cs.L, X, cs.c, &value);
      worst = std::max(worst, lo / ex.excess.value());
      ASSERT_LE(lo, ex.excess.value()) << "trial " << trial << " point " << p << ": " << describe(cs.region);
      ASSERT_LE(value, ex.direct.value()) << "trial " << trial << " point " << p << ": " << describe(cs.region);
    }
  }
  std::cout << points << " points, largest sampled ‖J(X) − J(c)‖ / excess = " << worst << "\n";
}

TEST(FirstOrder, ExcessIsFirstOrder) {
  // Halving the region roughly halves the excess (ratio in [1.6, 2.4] once the second-order
  // pieces are small): neither zeroth order (a constant) nor worse than first order.
  std::mt19937_64 rng(seed(7102));
  for (int trial = 0; trial < 6; ++trial) {
    LayerSpec sp = random_spec(rng, 4, 2);
    const AttentionLayer L = random_layer(sp, rng);
    const Matrix c = random_tokens(3, sp.d, 1.0, rng);
    for (const bool l2 : {false, true}) {
      auto excess = [&](double e) {
        const FirstOrderRegion reg = l2 ? FirstOrderRegion::balls(TokenBalls{c, e})
                                        : FirstOrderRegion::box(Box::around(c, e), c);
        return first_order_excess(L, reg).excess.value();
      };
      const double ratio = excess(2e-5) / excess(1e-5);
      EXPECT_GT(ratio, 1.6) << "trial " << trial << (l2 ? " l2" : " box");
      EXPECT_LT(ratio, 2.4) << "trial " << trial << (l2 ? " l2" : " box");
    }
  }
}

TEST(FirstOrder, MutantsAreCaught) {
  // The broken variants must fall below a sampled ‖J(X) − J(c)‖ somewhere: the containment test
  // above would then fail. Softmax-dominated cases: logits of order 3, regions of 0.05–0.2.
  std::mt19937_64 rng(seed(7103));
  auto caught = [&](FirstOrderOptions mut) {
    for (int trial = 0; trial < 300; ++trial) {
      Case cs;
      if (trial % 3 == 0) {
        cs = random_case(rng, trial);
      } else {
        LayerSpec sp;
        sp.d = 2;
        sp.heads = 1;
        sp.paper = true;
        sp.scale = 1.0;
        sp.mask = trial % 2 ? Mask::causal : Mask::none;
        cs.L = random_layer(sp, rng);
        cs.c = random_tokens(std::uniform_int_distribution<long>(1, 3)(rng), 2, 1.5, rng);
        const double e = std::pow(10.0, std::uniform_real_distribution<double>(-3, -0.7)(rng));
        cs.region = trial % 2 ? Region(TokenBalls{cs.c, e}) : Region(Box::around(cs.c, e));
      }
      const double E = first_order_excess(cs.L, region_of(cs), mut).excess.value();
      for (int p = 0; p < 12; ++p)
        if (change_lower(cs.L, sample(cs.region, cs.c, rng), cs.c) > E) return true;
    }
    return false;
  };
  FirstOrderOptions ignore_softmax;
  ignore_softmax.mutation_ignore_softmax = true;
  EXPECT_TRUE(caught(ignore_softmax)) << "treating P as constant was not caught";
  FirstOrderOptions halve;
  halve.mutation_halve = true;
  EXPECT_TRUE(caught(halve)) << "halving the excess was not caught";
}

TEST(FirstOrder, AscentFromHundredStartsNeverExceedsTheCertifiedUpper) {
  std::mt19937_64 rng(seed(7104));
  int starts = 0;
  for (int k = 0; k < 4; ++k) {
    LayerSpec sp = random_spec(rng, 3, 2);
    const AttentionLayer L = random_layer(sp, rng);
    const Matrix c = random_tokens(3, sp.d, 1.5, rng);
    const Region region = k % 2 ? Region(TokenBalls{c, 0.1}) : Region(Box::around(c, 0.05));
    CertifyOptions opt;
    opt.threads = 1;
    const Bracket b = certify_first_order(L, region, c, opt);
    ASSERT_TRUE(b.upper.is_finite());
    ASSERT_LE(b.lower.value(), b.upper.value());
    approx::AscentOptions ao;
    ao.steps = 12;
    for (int s = 0; s < 25; ++s, ++starts) {
      const Witness w = approx::ascend(L, region, sample(region, c, rng), ao);
      const bool inside = k % 2 ? std::get<TokenBalls>(region).certainly_contains(w.X)
                                : std::get<Box>(region).certainly_contains(w.X);
      ASSERT_TRUE(inside);
      ASSERT_LE(evaluate_witness(L, w.X, w.dir).value(), b.upper.value()) << "case " << k << " start " << s;
    }
  }
  EXPECT_EQ(starts, 100);
}

namespace {

/// A proved lower bound of ‖J(X) − J(c) − DJ(c)[X − c]‖₂: J(X), J(c) in 128-bit MPFI, the
/// linearisation DJ(c)[δ] enclosed by one Dual<Interval> Jacobian at c with tangent δ = X − c
/// (itself enclosed), times the float top right singular vector of the float difference.
double remainder_lower(const AttentionLayer& L, const Matrix& X, const Matrix& c) {
  const long n = c.rows(), d = c.cols();
  IMatrix lin;
  {
    UpwardScope up;
    Mat<Dual<Interval>> XD(n, d);
    for (long i = 0; i < n; ++i)
      for (long a = 0; a < d; ++a) XD(i, a) = Dual<Interval>(point(c(i, a)), point(X(i, a)) - point(c(i, a)));
    const Mat<Dual<Interval>> JD = jacobian<Dual<Interval>>(L, forward<Dual<Interval>>(L, XD));
    lin.resize(JD.rows(), JD.cols());
    for (Eigen::Index k = 0; k < JD.size(); ++k) lin(k) = JD(k).d;
  }
  MpPrecision p(128);
  const MpMatrix JX = jacobian<MpInterval>(L, forward<MpInterval>(L, cast_tokens<MpInterval>(X)));
  const MpMatrix Jc = jacobian<MpInterval>(L, forward<MpInterval>(L, cast_tokens<MpInterval>(c)));
  MpMatrix D = JX - Jc;
  for (Eigen::Index k = 0; k < D.size(); ++k) D(k) = D(k) - MpInterval(lin(k));
  Matrix Df(D.rows(), D.cols());
  for (Eigen::Index k = 0; k < D.size(); ++k) Df(k) = D(k).mid_approx();
  return norm2_lower(D, Vector(approx::top_singular(Df).v)).value();
}

}  // namespace

TEST(FirstOrder, RemainderContainsTheTruthAtRandomPoints) {
  // (E12): R2 >= ‖J(X) − J(c) − DJ(c)[δ]‖ at random points; and R2 is second order (a quarter
  // when the region halves, up to the third-order pieces).
  std::mt19937_64 rng(seed(7111));
  double worst = 0.0;
  int points = 0;
  for (int trial = 0; trial < 20; ++trial) {
    const Case cs = random_case(rng, trial);
    const FirstOrderExcess ex = first_order_excess(cs.L, region_of(cs));
    ASSERT_TRUE(ex.remainder.is_finite()) << "trial " << trial;
    for (int p = 0; p < 10; ++p, ++points) {
      const Matrix X = sample(cs.region, cs.c, rng);
      const double lo = remainder_lower(cs.L, X, cs.c);
      worst = std::max(worst, lo / ex.remainder.value());
      ASSERT_LE(lo, ex.remainder.value()) << "trial " << trial << " point " << p << ": " << describe(cs.region);
    }
  }
  std::cout << points << " points, largest sampled remainder / R2 = " << worst << "\n";
  for (int trial = 0; trial < 4; ++trial) {
    LayerSpec sp = random_spec(rng, 4, 2);
    const AttentionLayer L = random_layer(sp, rng);
    const Matrix c = random_tokens(3, sp.d, 1.0, rng);
    auto r2 = [&](double e) { return first_order_excess(L, FirstOrderRegion::box(Box::around(c, e), c)).remainder.value(); };
    const double ratio = r2(2e-4) / r2(1e-4);
    EXPECT_GT(ratio, 3.2) << "trial " << trial;
    EXPECT_LT(ratio, 4.8) << "trial " << trial;
  }
}

TEST(FirstOrder, RemainderMutantIsCaught) {
  // Dropping the softmax's second-order part ρ' from N2 must fall below a sampled remainder.
  std::mt19937_64 rng(seed(7112));
  FirstOrderOptions mut;
  mut.mutation_drop_softmax_curvature = true;
  bool caught = false;
  for (int trial = 0; trial < 200 && !caught; ++trial) {
    LayerSpec sp;
    sp.d = 2;
    sp.heads = 1;
    sp.paper = true;
    sp.scale = 1.0;
    sp.mask = trial % 2 ? Mask::causal : Mask::none;
    const AttentionLayer L = random_layer(sp, rng);
    const Matrix c = random_tokens(std::uniform_int_distribution<long>(2, 3)(rng), 2, 1.5, rng);
    const double e = std::pow(10.0, std::uniform_real_distribution<double>(-2.5, -1)(rng));
    const Region region = trial % 4 < 2 ? Region(TokenBalls{c, e}) : Region(Box::around(c, e));
    const FirstOrderRegion reg = std::holds_alternative<Box>(region)
                                     ? FirstOrderRegion::box(std::get<Box>(region), c)
                                     : FirstOrderRegion::balls(std::get<TokenBalls>(region));
    const double R2 = first_order_excess(L, reg, mut).remainder.value();
    for (int p = 0; p < 8 && !caught; ++p) caught = remainder_lower(L, sample(region, c, rng), c) > R2;
  }
  EXPECT_TRUE(caught) << "dropping ρ' from the remainder was not caught";
}

TEST(FirstOrder, SubspaceFormContainsTheTruthForAnyVectors) {
  // (E14) holds for any vectors: the float top singular vectors, random ones, and a single one;
  // every sampled ‖J(X)‖ (128-bit MPFI lower bound) stays below. The top-1 form is first-order
  // tight at a simple top singular value: halving its first-order block (the mutant) falls below
  // the gradient corner c + r ⊙ sign ∇σ(c) somewhere.
  std::mt19937_64 rng(seed(7113));
  double worst = 0.0;
  for (int trial = 0; trial < 12; ++trial) {
    const Case cs = random_case(rng, trial);
    const FirstOrderRegion reg = region_of(cs);
    const FirstOrderExcess ex = first_order_excess(cs.L, reg);
    std::vector<Matrix> top = approx::top_right_singular_vectors(cs.L, cs.c, 4, 0.75, 60);
    std::vector<Matrix> rnd;
    for (int b = 0; b < 2; ++b) rnd.push_back(Matrix::Random(cs.c.rows(), cs.c.cols()) * 0.7);
    for (const auto* V : {&top, &rnd}) {
      const SubspaceBound sb = subspace_upper(cs.L, reg, ex.excess.value(), ex.remainder.value(), *V);
      if (!sb.upper.is_finite()) continue;  // random vectors far from orthonormal: +inf, also valid
      for (int p = 0; p < 6; ++p) {
        double value = 0.0;
        change_lower(cs.L, sample(cs.region, cs.c, rng), cs.c, &value);
        worst = std::max(worst, value / sb.upper.value());
        ASSERT_LE(value, sb.upper.value()) << "trial " << trial << ": " << describe(cs.region);
      }
    }
  }
  std::cout << std::setprecision(17) << "largest sampled ‖J(X)‖ / subspace bound = " << worst << "\n";
  FirstOrderOptions halve;
  halve.mutation_halve_subspace = true;
  bool caught = false;
  for (int trial = 0; trial < 60 && !caught; ++trial) {
    LayerSpec sp = random_spec(rng, 3, 1);
    const AttentionLayer L = random_layer(sp, rng);
    const Matrix c = random_tokens(2, sp.d, 1.5, rng);
    const Box box = Box::around(c, 1e-4);
    const FirstOrderRegion reg = FirstOrderRegion::box(box, c);
    const FirstOrderExcess ex = first_order_excess(L, reg);
    const std::vector<Matrix> V = approx::top_right_singular_vectors(L, c, 1, 0.0, 80);
    const double U = subspace_upper(L, reg, ex.excess.value(), ex.remainder.value(), V, halve).upper.value();
    Matrix X, dir;
    {
      RoundingGuard nearest(Rounding::nearest);
      const approx::JacobianNormEstimate est = approx::jacobian_norm(L, c, 300, 1e-13);
      const Matrix g = approx::sigma_gradient(L, c, est.left, est.right);
      X = c;
      for (Eigen::Index q = 0; q < X.size(); ++q) X(q) += g(q) >= 0 ? reg.r(q % c.cols()) : -reg.r(q % c.cols());
      X = box.project(X);
      dir = approx::jacobian_norm(L, X, 300, 1e-13, &est.right).right;
    }
    caught = evaluate_witness(L, X, dir).value() > U;
  }
  EXPECT_TRUE(caught) << "halving the subspace form's first-order block was not caught";
}

TEST(FirstOrder, DirectBoundContainsTheTruthOnWideRegions) {
  // (E11''): on regions where logits move by several units the direct bound (spreads of values
  // and keys under every admissible weight vector) is what counts; it must stay above every
  // sampled ‖J(X)‖ (128-bit MPFI lower bound). Dividing the spreads by 4 must fall below somewhere.
  std::mt19937_64 rng(seed(7114));
  auto wide_case = [&](int trial) {
    LayerSpec sp = random_spec(rng, 4, 2);
    sp.scale = std::uniform_real_distribution<double>(1.0, 2.0)(rng);
    Case cs;
    cs.L = random_layer(sp, rng);
    cs.c = random_tokens(std::uniform_int_distribution<long>(2, 4)(rng), sp.d, 2.0, rng);
    const double size = std::uniform_real_distribution<double>(0.2, 1.0)(rng);
    cs.region = trial % 2 ? Region(TokenBalls{cs.c, size}) : Region(Box::around(cs.c, size));
    return cs;
  };
  double worst = 0.0;
  for (int trial = 0; trial < 24; ++trial) {
    const Case cs = wide_case(trial);
    const double Dd = first_order_excess(cs.L, region_of(cs)).direct.value();
    for (int p = 0; p < 8; ++p) {
      double value = 0.0;
      change_lower(cs.L, sample(cs.region, cs.c, rng), cs.c, &value);
      worst = std::max(worst, value / Dd);
      ASSERT_LE(value, Dd) << "trial " << trial << ": " << describe(cs.region);
    }
  }
  std::cout << std::setprecision(17) << "largest sampled ‖J(X)‖ / direct bound = " << worst << "\n";
  FirstOrderOptions mut;
  mut.mutation_shrink_spreads = true;
  bool caught = false;
  for (int trial = 0; trial < 200 && !caught; ++trial) {
    const Case cs = wide_case(trial);
    const double Dd = first_order_excess(cs.L, region_of(cs), mut).direct.value();
    for (int p = 0; p < 8 && !caught; ++p) {
      double value = 0.0;
      change_lower(cs.L, sample(cs.region, cs.c, rng), cs.c, &value);
      caught = value > Dd;
    }
  }
  EXPECT_TRUE(caught) << "dividing the spreads by 4 was not caught";
}

TEST(FirstOrder, CheckerReDerivesTheSameExcess) {
  // Independent code (checks/first_order.cpp), same inequalities: agreement to rounding.
  std::mt19937_64 rng(seed(7105));
  for (int trial = 0; trial < 10; ++trial) {
    const Case cs = random_case(rng, trial);
    const FirstOrderRegion reg = region_of(cs);
    const FirstOrderExcess ex = first_order_excess(cs.L, reg);
    const check::FirstOrderCheck ck = check::first_order_excess_check(cs.L, reg.c, reg.r, reg.rho, reg.l2());
    // Relative agreement, up to the absolute rounding noise of near-coincident tokens (√u‖U‖ in the
    // distances), which the engine's recorded margin (1e-6 relative + 1e-6‖J(c)‖) covers.
    EXPECT_NEAR(ck.excess, ex.excess.value(), 1e-7 * ex.excess.value() + 1e-7) << "trial " << trial;
    EXPECT_NEAR(ck.direct, ex.direct.value(), 1e-7 * ex.direct.value() + 1e-7) << "trial " << trial;
  }
}

TEST(FirstOrder, CheckerAgreesBeyondTheExactPairLimit) {
  // n > 256: the logit spread goes through one common centre (both sides), and the containment
  // still holds at random points (a cheap d = 2 layer).
  std::mt19937_64 rng(seed(7107));
  LayerSpec sp;
  sp.d = 2;
  sp.heads = 2;
  sp.dk = 2;
  sp.dv = 2;
  sp.mask = Mask::causal;
  const AttentionLayer L = random_layer(sp, rng);
  const Matrix c = random_tokens(300, 2, 1.0, rng);
  const Box box = Box::around(c, 1e-3);
  const FirstOrderRegion reg = FirstOrderRegion::box(box, c);
  const FirstOrderExcess ex = first_order_excess(L, reg);
  const check::FirstOrderCheck ck = check::first_order_excess_check(L, c, reg.r, 0.0, false);
  EXPECT_NEAR(ck.excess / ex.excess.value(), 1.0, 1e-7);
  EXPECT_NEAR(ck.direct / ex.direct.value(), 1.0, 1e-7);
  for (int p = 0; p < 3; ++p) {
    const Matrix X = random_point_in(box, rng);
    RoundingGuard nearest(Rounding::nearest);
    const auto sx = forward<double>(L, X), sc = forward<double>(L, c);
    const long N = X.size();
    auto mv = [&](const Vector& v) {
      const Matrix V = unflatten<double>(v, 300, 2);
      return Vector(flatten<double>(jvp<double>(L, sx, V)) - flatten<double>(jvp<double>(L, sc, V)));
    };
    auto mtv = [&](const Vector& u) {
      const Matrix U = unflatten<double>(u, 300, 2);
      return Vector(flatten<double>(vjp<double>(L, sx, U)) - flatten<double>(vjp<double>(L, sc, U)));
    };
    // A float estimate only (no MPFI at this size): a sanity check that the bound is not below it.
    EXPECT_LE(approx::top_singular(mv, mtv, N, 100, 1e-10).sigma.value(), ex.excess.value());
  }
}

// ---- certificates ------------------------------------------------------------------------------


TEST(FirstOrderCertificate, EngineCertificatesCheckAndTamperingIsRejected) {
  const AttentionLayer L = builtin_model("tiny-causal");
  std::mt19937_64 rng(seed(7106));
  const Matrix c = random_tokens(3, L.d, 1.0, rng);
  for (const bool l2 : {false, true}) {
    const Region region = l2 ? Region(TokenBalls{c, 0.02}) : Region(Box::around(c, 0.01));
    const Bracket b = l2 ? certify_first_order(L, region, c) : certify_box_around(L, std::get<Box>(region), c);
    // The box may be won by the older box tier on this tiny model; force the first-order evidence too.
    const Bracket f = certify_first_order(L, region, c);
    for (const Bracket* br : {&b, &f}) {
      const std::string text = cert_text(L, "builtin:tiny-causal", region, *br);
      const auto ok = run_check(text);
      EXPECT_EQ(ok.verdict, check::Verdict::valid) << ok.reason;
    }
    const std::string text = cert_text(L, "builtin:tiny-causal", region, f);
    ASSERT_NE(text.find("box-first-order"), std::string::npos);
    // The claim below ‖J(c)‖ bound + excess. (Without the subspace object: the subspace form proves
    // these claims on its own; its tampering is tests/test_check_subspace.cpp's.)
    auto r1 = run_check(edited(text, [](nlohmann::json& j) {
      j["evidence"]["upper"].erase("subspace");
      j["claim"]["upper"] = j["evidence"]["upper"]["centre_upper"].get<double>() +
                            0.5 * j["evidence"]["upper"]["excess"].get<double>();
    }));
    EXPECT_EQ(r1.verdict, check::Verdict::invalid);
    EXPECT_NE(r1.reason.find("box-first-order"), std::string::npos) << r1.reason;
    // A centre bound the point tier cannot prove.
    auto r2 = run_check(edited(text, [](nlohmann::json& j) {
      j["evidence"]["upper"].erase("subspace");
      j["evidence"]["upper"]["centre_upper"] = 0.5 * j["evidence"]["upper"]["centre_upper"].get<double>();
    }));
    EXPECT_EQ(r2.verdict, check::Verdict::invalid) << r2.reason;
    // A larger region than the one the excess was derived for.
    auto r3 = run_check(edited(text, [l2](nlohmann::json& j) {
      if (l2) {
        j["region"]["rho"] = 0.5;
      } else {
        auto& hi = j["region"]["hi"];
        for (auto& row : hi)
          for (auto& v : row) v = v.get<double>() + 0.5;
      }
    }));
    EXPECT_EQ(r3.verdict, check::Verdict::invalid) << r3.reason;
    // A witness outside the region.
    auto r4 = run_check(edited(text, [](nlohmann::json& j) {
      j["evidence"]["lower"]["X"][0][0] = j["evidence"]["lower"]["X"][0][0].get<double>() + 1.0;
    }));
    EXPECT_EQ(r4.verdict, check::Verdict::invalid) << r4.reason;
    // A centre outside the box / not the ball's centre.
    auto r5 = run_check(edited(text, [](nlohmann::json& j) {
      j["evidence"]["upper"]["centre"][0][0] = j["evidence"]["upper"]["centre"][0][0].get<double>() + 1.0;
    }));
    EXPECT_EQ(r5.verdict, check::Verdict::invalid) << r5.reason;
  }
}

TEST(FirstOrderCli, L2RegionAndBadInput) {
  const std::string dir = ::testing::TempDir();
  const std::string x = dir + "/fo_centre.txt", cert = dir + "/fo_l2.cert.json";
  {
    std::ofstream f(x);
    f << "0.3 -0.2\n0.1 0.4\n-0.5 0.2\n";
  }
  std::ostringstream out, err;
  const int rc = cli::run({"certify", "--model", "builtin:tiny", "--center", x, "--l2", "0.01", "--tol", "0.5",
                           "--json", "--cert", cert},
                          out, err);
  EXPECT_EQ(rc, 0) << err.str();
  const auto j = nlohmann::json::parse(out.str());
  EXPECT_LE(j["lower"].get<double>(), j["upper"].get<double>());
  EXPECT_EQ(check::check_file(cert).verdict, check::Verdict::valid);
  std::ostringstream o2, e2;
  EXPECT_EQ(cli::run({"certify", "--model", "builtin:tiny", "--center", x, "--l2", "-1"}, o2, e2), 2);
  std::ostringstream o3, e3;
  EXPECT_EQ(cli::run({"certify", "--model", "builtin:tiny", "--center", x}, o3, e3), 2);
  std::ostringstream o4, e4;
  EXPECT_EQ(cli::run({"certify", "--model", "builtin:tiny", "--center", x, "--l2", "0.1", "--eps", "0.1"}, o4, e4), 2);
}
