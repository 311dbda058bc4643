// The structured point tier (src/bound/structured.cpp, docs/structured.md): it must sit above the
// dense tier's certified lower bound and the float estimate on every instance (a tightness
// sandwich), a deliberately broken variant must be caught by that comparison, and its
// certificates must round-trip through the independent checker.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include <Eigen/SVD>

#include "bound/bound.hpp"
#include "bound/structured_internal.hpp"
#include "linalg/linalg.hpp"
#include "certificate/certificate.hpp"
#include "checker.hpp"
#include "internal.hpp"
#include "model/model.hpp"
#include "random_layers.hpp"
#include "support.hpp"

namespace attnbound {
namespace {

using nlohmann::json;

Matrix random_X(long n, long d, double scale, std::mt19937_64& rng) {
  std::normal_distribution<double> g(0.0, scale);
  Matrix X(n, d);
  for (long k = 0; k < X.size(); ++k) X.data()[k] = g(rng);
  return X;
}

testing::LayerSpec spec_for(int k, std::mt19937_64& rng) {
  testing::LayerSpec sp;
  sp.d = 2 + k % 7;                       // 2..8
  sp.heads = 1 + k % 3;
  sp.dk = 1 + (k / 3) % 3;
  sp.dv = 1 + (k / 2) % 3;
  sp.mask = (k % 2) ? Mask::causal : Mask::none;
  sp.biases = (k % 4) >= 2;
  sp.paper = (k % 5) == 4;
  sp.scale = 0.5 + 0.1 * (k % 6);
  (void)rng;
  return sp;
}

// (i) structured >= dense certified lower and >= the float estimate on random small layers.
TEST(Structured, AboveDenseLowerOnRandomLayers) {
  std::mt19937_64 rng(testing::seed(801));
  int compared = 0;
  for (int k = 0; k < 60; ++k) {
    const testing::LayerSpec sp = spec_for(k, rng);
    const AttentionLayer L = testing::random_layer(sp, rng);
    const long n = 1 + k % 8;
    const Matrix X = random_X(n, L.d, 0.5 + (k % 4), rng);
    const Bracket dense = certify_point(L, X);
    const StructuredBound s = structured_upper(L, X);
    ASSERT_TRUE(s.upper.is_finite()) << "instance " << k << ": " << s.method;
    EXPECT_GE(s.upper.value(), dense.lower.value()) << "instance " << k;
    EXPECT_GE(s.upper.value(), dense.estimate.value()) << "instance " << k;
    for (double v : {s.block, s.split, s.gram}) EXPECT_GE(v, dense.lower.value()) << "instance " << k;
    ++compared;
  }
  EXPECT_EQ(compared, 60);
}

// (i) the same at GPT-2 width, n = 2, 3 (dense is still affordable there).
TEST(Structured, AboveDenseLowerOnGpt2Init) {
  const AttentionLayer L = load_model("builtin:gpt2-init", LoadOptions{});
  std::mt19937_64 rng(testing::seed(802));
  for (long n : {2L, 3L}) {
    std::vector<Matrix> inputs = {approx::lb1_witnesses(L, n, 100.0).front().X};
    if (n == 2) inputs.push_back(random_X(n, L.d, 3.0, rng));  // n = 3 dense costs ~10 s: one input
    for (const Matrix& X : inputs) {
      const Bracket dense = certify_point(L, X);
      StructuredOptions so;
      so.threads = 2;
      const StructuredBound s = structured_upper(L, X, so);
      EXPECT_GE(s.upper.value(), dense.lower.value()) << "n = " << n;
      EXPECT_GE(s.upper.value(), dense.estimate.value()) << "n = " << n;
      // Not a rigour check: records that the bound is not absurdly loose at small n.
      EXPECT_LT(s.upper.value(), 20.0 * dense.upper.value()) << "n = " << n << ": " << s.method;
    }
  }
}

// (ii) mutation: without the diagonal (query-side) term the "bound" falls below the dense
// certified lower bound on some instance, so the comparison above would catch the bug.
TEST(Structured, DroppingTheDiagonalTermIsCaught) {
  std::mt19937_64 rng(testing::seed(803));
  int caught = 0;
  for (int k = 0; k < 40 && caught == 0; ++k) {
    testing::LayerSpec sp;
    sp.d = 3;
    sp.heads = 1;
    sp.dk = 3;
    sp.dv = 3;
    sp.mask = (k % 2) ? Mask::causal : Mask::none;
    sp.scale = 1.0;
    const AttentionLayer L = testing::random_layer(sp, rng);
    const Matrix X = random_X(1 + k % 4, 3, 2.0, rng);
    const Bracket dense = certify_point(L, X);
    StructuredOptions so;
    so.mutation_drop_diagonal = true;
    const StructuredBound s = structured_upper(L, X, so);
    EXPECT_FALSE(s.upper.is_finite());  // a mutant never yields a proved bound
    if (s.mutant.value() < dense.lower.value()) ++caught;
  }
  EXPECT_GT(caught, 0) << "the mutant was never below a certified lower bound";
}

// (iii) certificate round trip through the independent checker, and a tampered claim.
TEST(Structured, CertificateRoundTrip) {
  AttentionLayer L = builtin_model("tiny-causal");
  std::mt19937_64 rng(testing::seed(804));
  const Matrix X = random_X(5, L.d, 1.5, rng);
  Bracket b = certify_point(L, X);
  const StructuredBound s = structured_upper(L, X);
  b.upper = s.upper;
  b.upper_method = s.method;
  b.upper_evidence = UpperEvidence{"structured", Matrix()};
  CertifyRecord rec;
  rec.model_spec = "builtin:tiny-causal";
  rec.layer = &L;
  rec.region = Box::point(X);
  rec.bracket = b;
  rec.status = "ok";
  const std::string text = certificate_text(rec);
  check::CheckOptions o;
  o.threads = 2;
  const check::CheckResult ok = check::check_text(text, ".", o);
  EXPECT_EQ(ok.verdict, check::Verdict::valid) << ok.reason;

  // Lower the claim to just below the checker's own bound: rejected.
  json j = json::parse(text);
  j["claim"]["upper"] = std::max(b.lower.value(), 0.5 * s.upper.value());
  const check::CheckResult bad = check::check_text(certificate_layout(j), ".", o);
  EXPECT_EQ(bad.verdict, check::Verdict::invalid);
  EXPECT_NE(bad.reason.find("structured"), std::string::npos) << bad.reason;
}

// The checker's large-problem witness path (directed-GEMM JVP, MPFI softmax) against the MPFI JVP
// template: the enclosures must overlap and agree closely (containment sandwich).
TEST(Structured, CheckerDirectedWitnessMatchesMpfi) {
  std::mt19937_64 rng(testing::seed(805));
  for (int k = 0; k < 8; ++k) {
    const AttentionLayer L = testing::random_layer(spec_for(k + 3, rng), rng);
    const Matrix X = random_X(1 + k % 5, L.d, 1.5, rng), v = random_X(X.rows(), L.d, 1.0, rng);
    MpPrecision prec(128);
    const MpInterval fast = check::witness_ratio_directed(L, X, v);
    MpMatrix Xm(X.rows(), X.cols()), vm(v.rows(), v.cols());
    for (Eigen::Index t = 0; t < X.size(); ++t) {
      Xm.data()[t] = MpInterval(X.data()[t]);
      vm.data()[t] = MpInterval(v.data()[t]);
    }
    const MpMatrix y = jvp<MpInterval>(L, forward<MpInterval>(L, Xm), vm);
    MpInterval num(0), den(0);
    for (Eigen::Index t = 0; t < y.size(); ++t) num += square(y.data()[t]);
    for (Eigen::Index t = 0; t < v.size(); ++t) den += square(vm.data()[t]);
    const MpInterval exact = sqrt(num / den);
    EXPECT_LE(fast.lower_down(), exact.upper_up()) << "instance " << k;  // a lower bound
    EXPECT_GE(fast.lower_down(), exact.lower_down() * (1 - 1e-9)) << "instance " << k;  // and tight
  }
}

}  // namespace
}  // namespace attnbound

namespace attnbound {

// (iv) The row-by-row cores (structured_core.cpp, bound 7) against the exact cores formed densely
// in floating point: gamma(i) >= ‖C_i‖ and ‖diag(mu) Q‖ >= ‖B‖, on random heads. A plausible
// wrong row factor — the norm of the weighted sum Σ_l P_il (v_l − v̄_i), which is 0 by the
// softmax identity, instead of the norm of the matrix of terms — falls below ‖B‖, so the
// comparison can fail.
TEST(Structured, RowCoresDominateTheExactCores) {
  std::mt19937_64 rng(testing::seed(805));
  int wrong_caught = 0;
  for (int k = 0; k < 24; ++k) {
    testing::LayerSpec sp;
    sp.d = 3 + k % 4;
    sp.heads = 1;
    sp.dk = 1 + k % 3;
    sp.dv = 1 + (k / 3) % 3;
    sp.mask = (k % 2) ? Mask::causal : Mask::none;
    sp.biases = (k % 4) >= 2;
    sp.scale = 0.8;
    const AttentionLayer L = testing::random_layer(sp, rng);
    const long n = 2 + k % 6;
    const Matrix X = random_X(n, L.d, 1.0 + (k % 3), rng);
    const auto f = forward<double>(L, X);
    const Matrix &P = f.P[0], &V = f.V[0], &K = f.K[0], &Q = f.Q[0];
    const double s = f.scale[0];
    const Matrix Vbar = P * V;
    const long dv = V.cols(), dk = K.cols();
    // Exact cores, formed in long double from the float forward pass (the centred form: C_i is
    // a small difference of large terms when P is nearly one-hot).
    using LMatrix = Eigen::Matrix<long double, Eigen::Dynamic, Eigen::Dynamic>;
    using LVector = Eigen::Matrix<long double, Eigen::Dynamic, 1>;
    const LMatrix Pl = P.cast<long double>(), Vl = V.cast<long double>(), Kl = K.cast<long double>();
    const LMatrix Vbl = Pl * Vl, Kbl = Pl * Kl;
    LMatrix Bm = LMatrix::Zero(n * dv, n * dk);
    double wrong_max = 0.0;
    std::vector<double> c_exact(n);
    for (long i = 0; i < n; ++i) {
      LMatrix C = LMatrix::Zero(dv, dk);
      LVector wsum = LVector::Zero(dv);
      for (long l = 0; l < n; ++l) {
        const LVector dvl = (Vl.row(l) - Vbl.row(i)).transpose();
        Bm.block(i * dv, l * dk, dv, dk) = (s * Pl(i, l)) * dvl * Q.row(i).cast<long double>();
        C += (s * Pl(i, l)) * dvl * (Kl.row(l) - Kbl.row(i));
        wsum += Pl(i, l) * dvl;
      }
      c_exact[i] = static_cast<double>(Eigen::JacobiSVD<LMatrix>(C).singularValues()(0));
      wrong_max = std::max(wrong_max, s * static_cast<double>(wsum.norm()) * Q.row(i).norm() * std::sqrt(double(n)));
    }
    const double b_exact = static_cast<double>(Eigen::JacobiSVD<LMatrix>(Bm).singularValues()(0));
    // The rigorous side, from the interval forward pass.
    UpwardScope up;
    IMatrix Xi(n, L.d);
    for (long e = 0; e < Xi.size(); ++e) Xi(e) = point(X(e));
    const auto st = forward<Interval>(L, Xi);
    const MidRad Pm = to_midrad(st.P[0]), Vm = to_midrad(st.V[0]), Km = to_midrad(st.K[0]), Qm = to_midrad(st.Q[0]);
    const MidRad Vb = mul(Pm, Vm);
    Matrix kappa;
    {
      RoundingGuard nearest(Rounding::nearest);
      kappa = Pm.mid * Km.mid;
    }
    const MidRad Kap{kappa, Matrix::Zero(kappa.rows(), kappa.cols())};
    const detail::CoreRows core =
        detail::core_row_norms(Pm, Vm, Vb, Km, Kap, st.scale[0].upper(), sp.mask == Mask::causal);
    for (long i = 0; i < n; ++i) EXPECT_GE(core.gamma(i), c_exact[i] * (1 - 1e-12)) << "instance " << k << " row " << i;
    const double kb = detail::key_core_bound(core.mu, Qm);
    EXPECT_GE(kb, b_exact * (1 - 1e-12)) << "instance " << k;
    if (wrong_max < b_exact * (1 - 1e-6)) ++wrong_caught;
  }
  EXPECT_GT(wrong_caught, 0);
}

}  // namespace attnbound
