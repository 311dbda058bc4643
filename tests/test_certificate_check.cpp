// The independent checker (checks/), in-process: engine brackets written as certificates are
// accepted, and each kind of tampering is rejected with its specific reason. Also the checker's
// own Jacobian assembly and norm test against the shared MPFI templates.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <random>

#include "attention/cluster.hpp"
#include "bound/cluster.hpp"
#include "certificate/certificate.hpp"
#include "checker.hpp"
#include "internal.hpp"
#include "linalg/linalg.hpp"
#include "model/model.hpp"
#include "support.hpp"

namespace attnbound {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

struct Made {
  AttentionLayer layer;
  CertifyRecord rec;
  std::string text;
};

std::string text_of(Made& m, const std::string& spec, const Region& region, const Bracket& b) {
  m.rec.model_spec = spec;
  m.rec.layer = &m.layer;
  m.rec.region = region;
  m.rec.bracket = b;
  m.rec.status = "ok";
  m.text = certificate_text(m.rec);
  return m.text;
}

check::CheckResult run_check(const std::string& text, const std::string& model = "") {
  check::CheckOptions o;
  o.threads = 2;
  o.model_override = model;
  return check::check_text(text, ".", o);
}

void expect_invalid(const check::CheckResult& r, const std::string& reason_part) {
  EXPECT_EQ(r.verdict, check::Verdict::invalid) << r.reason;
  EXPECT_NE(r.reason.find(reason_part), std::string::npos) << "reason: " << r.reason;
}

std::string with(const std::string& text, const std::function<void(json&)>& edit) {
  json j = json::parse(text);
  edit(j);
  return certificate_layout(j);
}

Matrix point_in_ball(long n, long d, double R, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> g;
  Matrix X(n, d);
  for (long k = 0; k < X.size(); ++k) X.data()[k] = g(rng);
  for (long i = 0; i < n; ++i) X.row(i) *= 0.9 * R / std::max(X.row(i).norm(), 1.0);
  return X;
}

// ---- point certificates and the acceptance tamper list -------------------------------------------

class PointCertificate : public ::testing::Test {
 protected:
  void SetUp() override {
    m.layer = builtin_model("tiny");
    X = point_in_ball(4, 2, 2.0, testing::seed(41));
    text_of(m, "builtin:tiny", Box::point(X), certify_point(m.layer, X));
  }
  Made m;
  Matrix X;
};

TEST_F(PointCertificate, UntouchedIsValid) {
  const auto r = run_check(m.text);
  EXPECT_EQ(r.verdict, check::Verdict::valid) << r.reason;
  EXPECT_GE(r.notes.size(), 3u);
}

TEST_F(PointCertificate, UpperLoweredByOnePercent) {
  expect_invalid(run_check(with(m.text, [](json& j) { j["claim"]["upper"] = j["claim"]["upper"].get<double>() * 0.99; })),
                 "upper claim not re-derived");
}

TEST_F(PointCertificate, LowerRaisedByOnePercent) {
  expect_invalid(run_check(with(m.text, [](json& j) { j["claim"]["lower"] = j["claim"]["lower"].get<double>() * 1.01; })),
                 "lower claim not re-derived");
}

TEST_F(PointCertificate, WitnessMovedOutOfTheRegion) {
  expect_invalid(run_check(with(m.text, [](json& j) { j["evidence"]["lower"]["X"][1][0] = 0.125; })),
                 "witness is not the region's point");
}

TEST_F(PointCertificate, DigestChanged) {
  expect_invalid(run_check(with(m.text, [](json& j) {
                   std::string s = j["model"]["sha256"];
                   s[5] = s[5] == '0' ? '1' : '0';
                   j["model"]["sha256"] = s;
                 })),
                 "model digest mismatch: certificate says");
}

TEST_F(PointCertificate, TruncatedIsUnreadable) {
  for (std::size_t cut : {std::size_t{0}, m.text.size() / 3, m.text.size() - 3}) {
    const auto r = run_check(m.text.substr(0, cut));
    EXPECT_EQ(r.verdict, check::Verdict::unreadable) << cut;
    EXPECT_NE(r.reason.find("not valid JSON"), std::string::npos) << r.reason;
  }
}

TEST_F(PointCertificate, StructuralDamageIsUnreadable) {
  auto r = run_check(with(m.text, [](json& j) { j["claim"].erase("upper"); }));
  EXPECT_EQ(r.verdict, check::Verdict::unreadable);
  EXPECT_NE(r.reason.find("claim: missing key \"upper\""), std::string::npos) << r.reason;
  r = run_check(with(m.text, [](json& j) { j["evidence"]["lower"]["X"][2].erase(1); }));
  EXPECT_EQ(r.verdict, check::Verdict::unreadable);
  EXPECT_NE(r.reason.find("evidence.lower.X[2]: has 1 entries, expected 2"), std::string::npos) << r.reason;
  r = run_check(with(m.text, [](json& j) { j["version"] = 2; }));
  EXPECT_EQ(r.verdict, check::Verdict::unreadable);
}

TEST_F(PointCertificate, DirectionAndTierTampering) {
  expect_invalid(run_check(with(m.text, [](json& j) {
                   for (auto& row : j["evidence"]["lower"]["direction"])
                     for (auto& x : row) x = 0.0;
                 })),
                 "witness direction v is zero");
  expect_invalid(run_check(with(m.text, [](json& j) { j["evidence"]["upper"]["tier"] = "analytic:U1"; })),
                 "not supported by this checker");
  expect_invalid(run_check(with(m.text, [](json& j) { j["claim"]["lower"] = j["claim"]["upper"].get<double>() * 2; })),
                 "lower claim not re-derived");
}

TEST(CertificateCheck, WeightChangedInTheModelFile) {
  const fs::path dir = fs::temp_directory_path() / ("attnbound-check-" + std::to_string(testing::seed(3)));
  fs::create_directories(dir);
  const std::string model = (dir / "m.json").string();
  {
    std::ofstream(model) << R"({"format": "attnbound-model", "d": 2, "mask": "causal",
      "heads": [{"A": [[0.75, -0.5], [0.25, 1.0]], "V": [[1.0, 0.5], [0.0, -0.75]]}]})";
  }
  Made m;
  m.layer = load_model(model);
  const Matrix X = point_in_ball(3, 2, 1.0, 5);
  text_of(m, model, Box::point(X), certify_point(m.layer, X));
  EXPECT_EQ(run_check(m.text).verdict, check::Verdict::valid);
  {
    std::ofstream(model) << R"({"format": "attnbound-model", "d": 2, "mask": "causal",
      "heads": [{"A": [[0.75, -0.5], [0.25, 1.0]], "V": [[1.0, 0.5], [0.0, -0.7500001]]}]})";
  }
  expect_invalid(run_check(m.text), "model digest mismatch");
  // --model pointing at the original weights (as a builtin-free JSON copy) is accepted again.
  const std::string copy = (dir / "copy.json").string();
  {
    std::ofstream(copy) << R"({"format": "attnbound-model", "d": 2, "mask": "causal",
      "heads": [{"A": [[0.75, -0.5], [0.25, 1.0]], "V": [[1.0, 0.5], [0.0, -0.75]]}]})";
  }
  EXPECT_EQ(run_check(m.text, copy).verdict, check::Verdict::valid);
  const auto r = run_check(m.text, (dir / "nope.json").string());
  EXPECT_EQ(r.verdict, check::Verdict::unreadable);
  EXPECT_NE(r.reason.find("cannot load the model"), std::string::npos) << r.reason;
  fs::remove_all(dir);
}

// ---- boxes, partitions, clusters ------------------------------------------------------------------

TEST(CertificateCheck, BoxCertificateUsesTheCentredForm) {
  Made m;
  m.layer = builtin_model("tiny-causal");
  const Matrix c = point_in_ball(3, 2, 1.5, testing::seed(9));
  const Box box = Box::around(c, 1e-3);
  const Bracket b = certify_box(m.layer, box);
  text_of(m, "builtin:tiny-causal", box, b);
  const auto r = run_check(m.text);
  ASSERT_EQ(r.verdict, check::Verdict::valid) << r.reason;
  expect_invalid(run_check(with(m.text, [](json& j) { j["claim"]["upper"] = j["claim"]["upper"].get<double>() * 0.99; })),
                 "upper claim not re-derived");
  expect_invalid(run_check(with(m.text, [](json& j) { j["evidence"]["lower"]["X"][0][1] = 7.0; })),
                 "witness outside the box");
}

/// A ball certificate with a hand-made partition: row 0 split three times in each coordinate (64
/// leaves, the 4 corner leaves certainly outside the ball), every other leaf bounded by the engine.
Made ball_certificate(double R) {
  Made m;
  m.layer = builtin_model("tiny");
  const BallProduct ball{2, 2, R};
  std::vector<PartitionLeaf> leaves{PartitionLeaf{"", ball.bounding_box(), UpperBound::infinity(), "", Matrix()}};
  for (int round = 0; round < 3; ++round)
    for (long a = 0; a < 2; ++a) {
      std::vector<PartitionLeaf> next;
      for (const auto& l : leaves) {
        const auto h = l.box.split(0, a);
        const std::string pre = l.path.empty() ? "" : l.path + "/";
        next.push_back({pre + "0." + std::to_string(a) + ".L", h->first, UpperBound::infinity(), "", Matrix()});
        next.push_back({pre + "0." + std::to_string(a) + ".R", h->second, UpperBound::infinity(), "", Matrix()});
      }
      leaves = next;
    }
  Bracket b;
  double U = 0;
  for (auto& l : leaves) {
    if (ball.certainly_disjoint(l.box)) {
      l.tier = "outside";
      l.upper = UpperBound::proved(0.0);
      continue;
    }
    Matrix hint;
    l.upper = box_upper(m.layer, l.box, &hint);
    l.hint = hint;
    l.tier = "box-centred";
    U = std::max(U, l.upper.value());
  }
  b.upper = UpperBound::proved(U);
  b.partition = leaves;
  b.upper_evidence = UpperEvidence{"bab", Matrix()};
  const Matrix X = point_in_ball(2, 2, R, 77);
  const auto est = approx::jacobian_norm(m.layer, X);
  b.lower = evaluate_witness(m.layer, X, est.right);
  b.witness = Witness{"test", X, est.right};
  text_of(m, "builtin:tiny", ball, b);
  return m;
}

TEST(CertificateCheck, BallPartition) {
  const Made m = ball_certificate(1.0);
  const json j = json::parse(m.text);
  ASSERT_EQ(j["evidence"]["upper"]["leaves"].size(), 64u);
  int outside = 0;
  for (const auto& l : j["evidence"]["upper"]["leaves"]) outside += l["tier"] == "outside";
  ASSERT_EQ(outside, 4);
  const auto r = run_check(m.text);
  ASSERT_EQ(r.verdict, check::Verdict::valid) << r.reason;

  // A deleted leaf: the tree has a hole, named by its parent.
  expect_invalid(run_check(with(m.text, [](json& j) { j["evidence"]["upper"]["leaves"].erase(5); })),
                 "partition does not cover the region: missing child");
  // A leaf claimed outside that is not.
  expect_invalid(run_check(with(m.text, [](json& j) {
                   for (auto& l : j["evidence"]["upper"]["leaves"])
                     if (l["tier"] == "box-centred") {
                       l["tier"] = "outside";
                       break;
                     }
                 })),
                 "not proved disjoint from the ball");
  // A recorded box that is not the replay of its path.
  expect_invalid(run_check(with(m.text, [](json& j) { j["evidence"]["upper"]["leaves"][3]["hi"][1][1] = 0.5; })),
                 "the recorded box is not the box its path replays to");
  // A witness moved out of the ball.
  expect_invalid(run_check(with(m.text, [](json& j) { j["evidence"]["lower"]["X"][1] = json::array({0.8, 0.8}); })),
                 "witness token 1 outside the ball");
  // A path that splits a node at two different entries.
  expect_invalid(run_check(with(m.text, [](json& j) {
                   std::string p = j["evidence"]["upper"]["leaves"][0]["path"];
                   j["evidence"]["upper"]["leaves"][0]["path"] = "1" + p.substr(1);
                   j["evidence"]["upper"]["leaves"][0].erase("lo");
                   j["evidence"]["upper"]["leaves"][0].erase("hi");
                 })),
                 "partition is inconsistent");
}

TEST(CertificateCheck, ClusterCertificate) {
  Made m;
  m.layer = builtin_model("tiny");
  Matrix X(6, 2);
  for (long i = 0; i < 6; ++i) X.row(i) = i < 2 ? Eigen::RowVector2d(1.0, 0.5) : Eigen::RowVector2d(-0.5, 0.25);
  const Bracket b = certify_clustered(m.layer, clusters_of(X));
  text_of(m, "builtin:tiny", Box::point(X), b);
  ASSERT_EQ(json::parse(m.text)["evidence"]["lower"]["kind"], "cluster");
  const auto r = run_check(m.text);
  ASSERT_EQ(r.verdict, check::Verdict::valid) << r.reason;
  expect_invalid(run_check(with(m.text, [](json& j) { j["claim"]["upper"] = j["claim"]["upper"].get<double>() * 0.99; })),
                 "not proved");
  expect_invalid(run_check(with(m.text, [](json& j) { j["claim"]["lower"] = j["claim"]["lower"].get<double>() * 1.01; })),
                 "lower claim not re-derived");
}

// ---- the checker's own parts -----------------------------------------------------------------------

MpMatrix as_mp(const Matrix& M) {
  MpMatrix R(M.rows(), M.cols());
  for (Eigen::Index k = 0; k < M.size(); ++k) R.data()[k] = MpInterval(M.data()[k]);
  return R;
}

bool overlap(const MpInterval& a, double lo, double hi) { return !(a.upper_up() < lo || hi < a.lower_down()); }

/// A random full-form layer with biases, a divisor and d_v != d_k.
AttentionLayer random_full_layer(std::mt19937_64& rng, long d, long H, Mask mask) {
  std::normal_distribution<double> g(0.0, 0.6);
  AttentionLayer L;
  L.d = d;
  L.mask = mask;
  for (long h = 0; h < H; ++h) {
    Head hd;
    const long dk = 2, dv = 3;
    auto rnd = [&](long r, long c) {
      Matrix M(r, c);
      for (long k = 0; k < M.size(); ++k) M.data()[k] = g(rng);
      return M;
    };
    hd.Wq = rnd(dk, d);
    hd.Wk = rnd(dk, d);
    hd.Wv = rnd(dv, d);
    hd.Wo = rnd(d, dv);
    hd.bq = rnd(dk, 1).col(0);
    hd.bk = rnd(dk, 1).col(0);
    hd.bv = rnd(dv, 1).col(0);
    hd.logit_divisor = 2;
    L.heads.push_back(hd);
  }
  L.bo = Vector::Zero(d);
  L.validate();
  return L;
}

TEST(CheckerParts, AssemblyAgreesWithTheSharedJacobianTemplate) {
  std::mt19937_64 rng(testing::seed(2024));
  for (int trial = 0; trial < 6; ++trial) {
    const Mask mask = trial % 2 ? Mask::causal : Mask::none;
    const AttentionLayer L = random_full_layer(rng, 3, 2, mask);
    const Matrix X = point_in_ball(4, 3, 1.5, rng());
    const auto s = forward<MpInterval>(L, as_mp(X));
    const auto parts = check::jacobian_parts(L, s);
    const MpMatrix J = check::assemble_jacobian_mp(L, parts);
    const MpMatrix Jref = jacobian<MpInterval>(L, s);
    // The large-problem path, from the shared forward state and from its own fast forward.
    const MidRad Jf = check::assemble_jacobian_fast(L, s);
    const MidRad Jff = check::assemble_jacobian_fast(L, check::forward_fast(L, check::CBox{X, X}));
    ASSERT_EQ(J.rows(), Jref.rows());
    for (Eigen::Index k = 0; k < J.size(); ++k) {
      const MpInterval& a = J.data()[k];
      const MpInterval& b = Jref.data()[k];
      // Both enclose the same exact number: they must overlap, and both be tight.
      ASSERT_TRUE(overlap(a, b.lower_down(), b.upper_up())) << k << ": " << a << " vs " << b;
      ASSERT_LT(a.width_up(), 1e-25);
      const double lo = Jf.mid.data()[k] - Jf.rad.data()[k], hi = Jf.mid.data()[k] + Jf.rad.data()[k];
      ASSERT_TRUE(overlap(a, lo, hi)) << k;
      ASSERT_LT(Jf.rad.data()[k], 1e-12);
      ASSERT_TRUE(overlap(a, Jff.mid.data()[k] - Jff.rad.data()[k], Jff.mid.data()[k] + Jff.rad.data()[k])) << k;
      ASSERT_LT(Jff.rad.data()[k], 1e-12);
    }
  }
}

TEST(CheckerParts, AssemblyCanFail) {
  // The comparison above detects a wrong formula: drop one head's parts and the enclosures part.
  std::mt19937_64 rng(testing::seed(99));
  const AttentionLayer L = random_full_layer(rng, 3, 2, Mask::none);
  const Matrix X = point_in_ball(3, 3, 1.5, 1);
  const auto s = forward<MpInterval>(L, as_mp(X));
  auto parts = check::jacobian_parts(L, s);
  for (Eigen::Index k = 0; k < parts[1].Bq.size(); ++k) parts[1].Bq.data()[k] = MpInterval(0);
  const MpMatrix J = check::assemble_jacobian_mp(L, parts);
  const MpMatrix Jref = jacobian<MpInterval>(L, s);
  int disjoint = 0;
  for (Eigen::Index k = 0; k < J.size(); ++k)
    disjoint += !overlap(J.data()[k], Jref.data()[k].lower_down(), Jref.data()[k].upper_up());
  EXPECT_GT(disjoint, 0);
}

TEST(CheckerParts, GramTestIsTightAndSound) {
  std::mt19937_64 rng(testing::seed(12));
  std::normal_distribution<double> g;
  for (int trial = 0; trial < 10; ++trial) {
    Matrix M(5 + trial % 3, 4);
    for (long k = 0; k < M.size(); ++k) M.data()[k] = g(rng);
    const double s = approx::norm2(M).value();
    const MpMatrix Mp = as_mp(M);
    EXPECT_TRUE(check::gram_below_mp(Mp, square(MpInterval(s * (1 + 1e-12)))));
    EXPECT_FALSE(check::gram_below_mp(Mp, square(MpInterval(s * (1 - 1e-12)))));
  }
}

TEST(CheckerParts, PartitionReplay) {
  check::CBox root{Matrix::Constant(2, 1, -1.0), Matrix::Constant(2, 1, 1.0)};
  auto leaf = [](const std::string& p) { return check::Leaf{p, "box-centred", std::nullopt, Matrix()}; };
  auto boxes = check::replay_partition(root, {leaf("0.0.L"), leaf("0.0.R/1.0.L"), leaf("0.0.R/1.0.R")});
  ASSERT_EQ(boxes.size(), 3u);
  EXPECT_EQ(boxes[0].hi(0, 0), 0.0);
  EXPECT_EQ(boxes[2].lo(1, 0), 0.0);
  EXPECT_EQ(check::replay_partition(root, {leaf("")}).size(), 1u);
  auto reason = [&](std::vector<check::Leaf> leaves) {
    try {
      check::replay_partition(root, leaves);
    } catch (const check::Invalid& e) {
      return std::string(e.what());
    }
    return std::string("accepted");
  };
  EXPECT_EQ(reason({leaf("0.0.L"), leaf("0.0.R/1.0.L")}),
            "partition does not cover the region: missing child 1.0.R of path 0.0.R");
  EXPECT_EQ(reason({leaf("0.0.L")}), "partition does not cover the region: missing child 0.0.R of the root");
  EXPECT_NE(reason({leaf("0.0.L"), leaf("0.0.R"), leaf("0.0.R/1.0.L"), leaf("0.0.R/1.0.R")}).find("overlap"), std::string::npos);
  EXPECT_NE(reason({leaf("0.0.L"), leaf("0.0.L"), leaf("0.0.R")}).find("twice"), std::string::npos);
  EXPECT_NE(reason({leaf("0.0.L"), leaf("1.0.R")}).find("inconsistent"), std::string::npos);
  EXPECT_NE(reason({leaf("0.0.X")}).find("bad token"), std::string::npos);
  EXPECT_NE(reason({leaf("2.0.L"), leaf("2.0.R")}).find("out of range"), std::string::npos);
  EXPECT_NE(reason({}).find("no leaves"), std::string::npos);
  // A degenerate entry cannot be split.
  check::CBox flat{Matrix::Constant(1, 1, 1.0), Matrix::Constant(1, 1, 1.0)};
  EXPECT_THROW(check::replay_partition(flat, {leaf("0.0.L"), leaf("0.0.R")}), check::Invalid);
}

TEST(CheckerParts, ContractionKeepsTheIntersection) {
  std::mt19937_64 rng(testing::seed(31));
  std::uniform_real_distribution<double> u(-1.0, 1.0);
  for (int trial = 0; trial < 200; ++trial) {
    check::CBox b{Matrix(2, 3), Matrix(2, 3)};
    for (long k = 0; k < 6; ++k) {
      const double x = u(rng), y = u(rng);
      b.lo.data()[k] = std::min(x, y);
      b.hi.data()[k] = std::max(x, y);
    }
    const double R = 0.5 + 0.5 * (u(rng) + 1);
    if (check::certainly_outside_ball(b, R)) continue;
    const check::CBox c = check::contract_to_ball(b, R);
    ASSERT_TRUE((c.lo.array() >= b.lo.array()).all() && (c.hi.array() <= b.hi.array()).all());
    // Points of box ∩ ball stay inside the contracted box.
    for (int k = 0; k < 50; ++k) {
      Matrix X(2, 3);
      for (long e = 0; e < 6; ++e)
        X.data()[e] = b.lo.data()[e] + (b.hi.data()[e] - b.lo.data()[e]) * 0.5 * (u(rng) + 1);
      if (X.row(0).norm() > R || X.row(1).norm() > R) continue;
      ASSERT_TRUE((X.array() >= c.lo.array()).all() && (X.array() <= c.hi.array()).all());
    }
  }
}

TEST(CheckerParts, SymmetryLeaves) {
  const AttentionLayer tiny = builtin_model("tiny"), causal = builtin_model("tiny-causal");
  check::Certificate c;
  c.kind = check::Certificate::Kind::ball;
  c.n = 2;
  c.d = 2;
  c.R = 1.0;
  // Unsorted: x_{0,0} in [0.5, 1], x_{1,0} in [−1, 0].
  check::CBox unsorted{Matrix(2, 2), Matrix(2, 2)};
  unsorted.lo << 0.5, -1, -1, -1;
  unsorted.hi << 1, 1, 0, 1;
  EXPECT_NO_THROW(check::require_symmetry_leaf(tiny, c, unsorted, "symmetry:perm", "p"));
  EXPECT_THROW(check::require_symmetry_leaf(causal, c, unsorted, "symmetry:perm", "p"), check::Invalid);
  check::CBox sorted = unsorted;
  sorted.lo(1, 0) = 0.25;
  sorted.hi(1, 0) = 1.0;
  EXPECT_THROW(check::require_symmetry_leaf(tiny, c, sorted, "symmetry:perm", "p"), check::Invalid);
  // Negative sum: both first coordinates in [−1, −0.25].
  check::CBox negative{Matrix::Constant(2, 2, -1.0), Matrix::Constant(2, 2, 1.0)};
  negative.hi(0, 0) = negative.hi(1, 0) = -0.25;
  EXPECT_NO_THROW(check::require_symmetry_leaf(causal, c, negative, "symmetry:sign", "p"));
  EXPECT_THROW(check::require_symmetry_leaf(causal, c, unsorted, "symmetry:sign", "p"), check::Invalid);
}

}  // namespace
}  // namespace attnbound
