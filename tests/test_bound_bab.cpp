// Branch-and-bound over B_R^n and boxes.
#include <gtest/gtest.h>

#include <set>

#include "bound/bab.hpp"
#include "random_layers.hpp"
#include "support.hpp"

using namespace attnbound;
using namespace attnbound::testing;

namespace {
AttentionLayer paper1(double a, double v, Mask mask) {
  return make_paper_layer({Matrix::Constant(1, 1, a)}, {Matrix::Constant(1, 1, v)}, mask);
}
// A random unmasked paper-form layer with d = 2, from test seed `s`.
AttentionLayer random_paper2(std::uint64_t s, long heads = 1) {
  std::mt19937_64 rng(seed(s));
  LayerSpec sp;
  sp.d = 2;
  sp.heads = heads;
  sp.paper = true;
  return random_layer(sp, rng);
}
// Every leaf path's sibling is present, or its parent was not split: a complete binary tree.
bool complete_tree(const std::vector<PartitionLeaf>& leaves) {
  std::set<std::string> paths;
  for (const auto& l : leaves) paths.insert(l.path);
  if (paths.size() != leaves.size()) return false;
  for (const auto& p : paths) {
    if (p.empty()) continue;
    std::string sib = p;
    sib.back() = p.back() == 'L' ? 'R' : 'L';
    bool found = paths.count(sib) > 0;
    if (!found)  // the sibling may have been split further
      for (const auto& q : paths)
        if (q.rfind(sib + "/", 0) == 0) found = true;
    if (!found) return false;
  }
  return true;
}
}  // namespace

TEST(BoundBab, ReachesOnePercentOnATinyBall) {
  AttentionLayer L = paper1(1.0, 1.0, Mask::none);
  BabOptions o;
  o.tol = 1e-2;
  BabStats st;
  Bracket b = branch_and_bound(L, Region(BallProduct{2, 1, 1.0}), o, nullptr, &st);
  EXPECT_TRUE(b.meets(1e-2)) << "lower " << b.lower.value() << " upper " << b.upper.value();
  ASSERT_TRUE(b.witness.has_value());
  EXPECT_TRUE((BallProduct{2, 1, 1.0}).certainly_contains(b.witness->X));
  EXPECT_TRUE(complete_tree(b.partition));
  EXPECT_GT(st.pruned_symmetry, 0u);
  // Boxes under lower (1 + tol) become leaves when bounded, not queue entries.
  EXPECT_GT(st.pruned_bound + st.closed_within_tol, 0u);
  EXPECT_LT(st.peak_open, st.boxes);
  RecordProperty("boxes", std::to_string(st.boxes));
}

TEST(BoundBab, TwoThreadsGiveAValidBracket) {
  AttentionLayer L = paper1(1.5, 0.7, Mask::causal);
  BabOptions o;
  o.tol = 2e-2;
  o.threads = 2;
  Bracket b = branch_and_bound(L, Region(BallProduct{2, 1, 1.0}), o);
  EXPECT_TRUE(b.meets(2e-2));
  EXPECT_TRUE(complete_tree(b.partition));
  // Cross-check with one thread: the brackets must overlap.
  o.threads = 1;
  Bracket c = branch_and_bound(L, Region(BallProduct{2, 1, 1.0}), o);
  EXPECT_LE(b.lower.value(), c.upper.value());
  EXPECT_LE(c.lower.value(), b.upper.value());
}

TEST(BoundBab, TimeLimitGivesAValidWiderBracket) {
  AttentionLayer L = random_paper2(6001, 2);
  BabOptions o;
  o.tol = 1e-9;  // unreachable
  o.time_limit = 0.5;
  BabStats st;
  Bracket b = branch_and_bound(L, Region(BallProduct{3, 2, 2.0}), o, nullptr, &st);
  EXPECT_TRUE(st.budget);
  EXPECT_TRUE(b.budget_exhausted);
  EXPECT_TRUE(std::isfinite(b.upper.value()));
  EXPECT_LE(b.lower.value(), b.upper.value());
  EXPECT_TRUE(complete_tree(b.partition));
}

TEST(BoundBab, SymmetryTests) {
  Box sorted{Matrix((Eigen::MatrixXd(2, 1) << -1, 0).finished()), Matrix((Eigen::MatrixXd(2, 1) << 0, 1).finished())};
  EXPECT_FALSE(certainly_unsorted(sorted));
  Box unsorted{Matrix((Eigen::MatrixXd(2, 1) << 0.5, -1).finished()), Matrix((Eigen::MatrixXd(2, 1) << 1, 0.25).finished())};
  EXPECT_TRUE(certainly_unsorted(unsorted));
  Box neg{Matrix::Constant(2, 1, -1.0), Matrix::Constant(2, 1, -0.1)};
  EXPECT_TRUE(certainly_negative_sum(neg));
  EXPECT_FALSE(certainly_negative_sum(sorted));
  AttentionLayer causal = paper1(1, 1, Mask::causal);
  EXPECT_FALSE(permutation_symmetric(causal, Region(BallProduct{2, 1, 1.0})));
  EXPECT_TRUE(sign_symmetric(causal, Region(BallProduct{2, 1, 1.0})));
}

TEST(BoundBab, AscentFromAThousandStartsNeverExceedsTheCertifiedUpper) {
  // The acceptance test: a certified Lip(f|S) upper bound must dominate the rigorous value
  // ‖J(X)v‖/‖v‖ at the end of projected ascent from 1000 random starts inside S. One ball product
  // (unmasked, so the permutation and sign symmetries prune boxes) and one box (causal).
  std::mt19937_64 rng(seed(6002));
  LayerSpec sp;
  sp.d = 2;
  sp.heads = 1;
  sp.paper = true;
  for (const Mask mask : {Mask::none, Mask::causal}) {
    sp.mask = mask;
    AttentionLayer L = random_layer(sp, rng);
    const long n = 2;
    const Region region = mask == Mask::none ? Region(BallProduct{n, 2, 1.0})
                                             : Region(Box::around(random_tokens(n, 2, 0.5, rng), 0.4));
    BabOptions o;
    o.tol = 5e-2;
    o.time_limit = 20;
    o.threads = 2;
    const Bracket b = branch_and_bound(L, region, o);
    ASSERT_TRUE(std::isfinite(b.upper.value()));
    approx::AscentOptions ao;
    ao.steps = 12;
    ao.power_iterations = 30;
    std::uniform_real_distribution<double> u(-1.0, 1.0);
    double worst = 0;
    for (int s = 0; s < 1000; ++s) {
      Matrix X0(n, 2);
      if (const BallProduct* ball = std::get_if<BallProduct>(&region)) {
        X0 = ball->project(Matrix::NullaryExpr(n, 2, [&] { return u(rng); }));
      } else {
        X0 = random_point_in(std::get<Box>(region), rng);
      }
      const Witness w = approx::ascend(L, region, X0, ao);
      const double l = evaluate_witness(L, w.X, w.dir).value();
      worst = std::max(worst, l);
      ASSERT_LE(l, b.upper.value()) << "mask " << static_cast<int>(mask) << " start " << s;
    }
    // The ascents reach the bracket: the test compares against values that matter.
    EXPECT_GT(worst, b.lower.value() * (1 - 5e-2)) << "mask " << static_cast<int>(mask);
    RecordProperty(mask == Mask::none ? "ball_upper_over_best_ascent" : "box_upper_over_best_ascent",
                   std::to_string(b.upper.value() / worst));
  }
}

TEST(BoundBabProgress, EtaFollowsAPowerLawHistory) {
  // gap = 10 t^(-1/2): reaching 0.01 takes t* = (10 / 0.01)^2 = 1e6 s.
  std::vector<std::pair<double, double>> h;
  for (double t = 1; t <= 64; t *= 2) h.emplace_back(t, 10 / std::sqrt(t));
  const auto eta = approx::eta_seconds(h, 0.01);
  ASSERT_TRUE(eta.has_value());
  EXPECT_NEAR(*eta, 1e6 - 64, 1e-6 * 1e6);
  // Only the recent half counts: a fast start followed by a slower decline gives the slow rate.
  std::vector<std::pair<double, double>> bent = {{1, 1000}, {2, 10}};
  for (double t = 4; t <= 64; t *= 2) bent.emplace_back(t, 10 * std::pow(t / 2, -0.25));
  const auto slow = approx::eta_seconds(bent, 0.01);
  ASSERT_TRUE(slow.has_value());
  EXPECT_GT(*slow, 1e9);
}

TEST(BoundBabProgress, NoEtaWhileTheGapDoesNotShrink) {
  EXPECT_FALSE(approx::eta_seconds({}, 0.01).has_value());
  EXPECT_FALSE(approx::eta_seconds({{1.0, 0.5}}, 0.01).has_value());
  EXPECT_FALSE(approx::eta_seconds({{1.0, 0.5}, {2.0, 0.5}}, 0.01).has_value());
  EXPECT_FALSE(approx::eta_seconds({{1.0, 0.5}, {2.0, 0.7}}, 0.01).has_value());
  const auto done = approx::eta_seconds({{1.0, 0.5}, {2.0, 0.005}}, 0.01);
  ASSERT_TRUE(done.has_value());
  EXPECT_EQ(*done, 0.0);
}

TEST(BoundBabProgress, ProgressLineShowsBoxesQueueBracketElapsedAndEta) {
  AttentionLayer L = random_paper2(6002);
  BabOptions o;
  o.tol = 1e-9;  // unreachable: the run lasts until the limit
  o.time_limit = 0.7;
  o.progress = true;
  ::testing::internal::CaptureStderr();
  Bracket b = branch_and_bound(L, Region(BallProduct{3, 2, 2.0}), o);
  const std::string err = ::testing::internal::GetCapturedStderr();
  EXPECT_TRUE(b.budget_exhausted);
  for (const char* field : {"boxes ", "queue ", "bracket [", "gap ", "ETA "}) EXPECT_NE(err.find(field), std::string::npos) << field << " in: " << err;
  EXPECT_NE(err.find("(limit in "), std::string::npos) << err;  // the time limit comes before an unreachable --tol
  o.progress = false;
  ::testing::internal::CaptureStderr();
  branch_and_bound(L, Region(BallProduct{3, 2, 2.0}), o);
  EXPECT_EQ(::testing::internal::GetCapturedStderr(), "");
}

TEST(BoundBab, ATimeLimitUsedUpBeforeTheSearchStillStopsIt) {
  // certify_ball spends time on witnesses before the search starts; a limit shorter than that must
  // still stop the search at once (it used to become 0, "no limit", and run on towards --tol).
  AttentionLayer L = random_paper2(6003);
  CertifyOptions o;
  o.tol = 1e-9;  // unreachable
  o.time_limit = 1e-6;
  o.threads = 1;
  o.analytic = false;  // this test is about the branch-and-bound's own bracket
  const Bracket b = certify_ball(L, BallProduct{3, 2, 2.0}, o);
  EXPECT_TRUE(b.budget_exhausted);
  EXPECT_TRUE(std::isfinite(b.upper.value()));
  EXPECT_LE(b.lower.value(), b.upper.value());
  EXPECT_FALSE(b.partition.empty());
  EXPECT_LT(b.seconds, 60.0);  // liveness, not speed: without the fix this runs until ctest's timeout
  EXPECT_EQ(bab_options_for(o, 5.0).time_limit, 1e-9);
  o.time_limit = 0;
  EXPECT_EQ(bab_options_for(o, 5.0).time_limit, 0.0);  // no limit stays no limit
}
