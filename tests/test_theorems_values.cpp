// proofs/: statement values against an independent recomputation.
//
// The reference here shares no code with the evaluators: the paper form is rebuilt from the raw
// weights (THEORY.md §1), ‖A_h‖ and ‖V_h‖ come from Eigen's SVD of the small triangular factors
// (‖WqᵀWk‖ = ‖R_q R_kᵀ‖ for thin QR factorisations Wqᵀ = Q_q R_q, Wkᵀ = Q_k R_k), and the formulas
// are evaluated in long double — MF-type values in log space, since e^{2aR²} overflows at GPT-2
// scale. The evaluators use MPFI and the verified norms. The tolerances are derived from stated
// error bounds (tests/stated_bounds.hpp): the enclosure widths of ‖A_h‖, ‖V_h‖ propagated through
// each statement's elasticity, plus the reference's own error bound — nothing read off a machine.
#include <gtest/gtest.h>

#include <Eigen/Cholesky>
#include <Eigen/Eigenvalues>
#include <Eigen/QR>
#include <Eigen/SVD>
#include <cmath>
#include <nlohmann/json.hpp>
#include <sstream>

#include "cli/cli.hpp"
#include "model/model.hpp"
#include "proofs/theorems.hpp"
#include "random_layers.hpp"
#include "stated_bounds.hpp"
#include "support.hpp"

using namespace attnbound;
using namespace attnbound::proofs;

namespace {

struct Norms {
  long double a, v;
};

// ‖Mᵀ N‖ for M (k × d), N (k × d) through thin QR of Mᵀ and Nᵀ.
double product_norm(const Matrix& M, const Matrix& N) {
  if (M.rows() > M.cols()) return Eigen::JacobiSVD<Matrix>(Matrix(M.transpose() * N)).singularValues()(0);
  Eigen::HouseholderQR<Matrix> qm(M.transpose()), qn(N.transpose());
  const long k = M.rows();
  const Matrix Rm = qm.matrixQR().topRows(k).triangularView<Eigen::Upper>();
  const Matrix Rn = qn.matrixQR().topRows(k).triangularView<Eigen::Upper>();
  return Eigen::JacobiSVD<Matrix>(Matrix(Rm * Rn.transpose())).singularValues()(0);
}

// W with the bias appended as a last column when the layer uses the augmented form (x, 1).
Matrix augmented(const Matrix& W, const Vector& b, bool aug, long d) {
  if (!aug) return W;
  Matrix out(W.rows(), d + 1);
  out << W, b;
  return out;
}

std::vector<Norms> independent_norms(const AttentionLayer& L) {
  bool aug = false;
  for (const Head& h : L.heads) aug = aug || (h.bq.array() != 0).any() || (h.bk.array() != 0).any();
  std::vector<Norms> out;
  for (const Head& h : L.heads) {
    const Matrix Wq = augmented(h.Wq, h.bq, aug, L.d), Wk = augmented(h.Wk, h.bk, aug, L.d);
    const long double a = product_norm(Wq, Wk) / std::sqrt(static_cast<long double>(h.logit_divisor));
    const long double v = product_norm(Matrix(h.Wo.transpose()), h.Wv);  // ‖W_O W_V‖ = ‖(W_Oᵀ)ᵀ W_V‖
    out.push_back({a, v});
  }
  return out;
}

long double radius2(const AttentionLayer& L, double R) {
  bool aug = false;
  for (const Head& h : L.heads) aug = aug || (h.bq.array() != 0).any() || (h.bk.array() != 0).any();
  return static_cast<long double>(R) * R + (aug ? 1 : 0);
}

// log of the independent value (log-sum over heads).
long double independent_log(const std::string& id, const AttentionLayer& L, long n, double R) {
  const long double R2 = radius2(L, R), nn = n;
  std::vector<long double> logs;
  for (const Norms& h : independent_norms(L)) {
    const long double aR2 = h.a * R2;
    long double lg;
    if (id == "U1") lg = std::log(std::sqrt(3.0L) * h.v) + 0.5L * std::log(aR2 * aR2 * (4 * nn + 1) + nn);
    else if (id == "U1-sharp") lg = std::log(std::sqrt(3.0L) * h.v) + 0.5L * std::log(aR2 * aR2 * (nn + 1) + nn);
    else if (id == "canary-U1-n1") lg = std::log(std::sqrt(3.0L) * h.v) + 0.5L * std::log(aR2 * aR2 * 5 + 1);
    else if (id == "MF") lg = std::log(h.v) + std::log1p(3 * aR2) + 2 * aR2;
    // v (m e^{2aR²}(1 + 2aR²) + aR²) = v e^{2aR²} (m (1 + 2aR²) + aR² e^{−2aR²})
    else if (id == "MF-block") lg = std::log(h.v) + 2 * aR2 + std::log((1 + 2 * aR2) + aR2 * std::exp(-2 * aR2));
    else if (id == "MF-causal") lg = std::log(h.v) + 2 * aR2 + std::log(2 * (1 + 2 * aR2) + aR2 * std::exp(-2 * aR2));
    else throw std::invalid_argument(id);
    logs.push_back(lg);
  }
  const long double m = *std::max_element(logs.begin(), logs.end());
  long double s = 0;
  for (long double l : logs) s += std::exp(l - m);
  return m + std::log(s);
}

long double log_mid(const MpInterval& S) { return (log(S)).mid_approx(); }

// Largest eigenvalue of a symmetric matrix (floating point; the data factors of a stated bound).
double lambda_max(const Matrix& S) {
  const Eigen::VectorXd ev = Eigen::SelfAdjointEigenSolver<Matrix>(S, Eigen::EigenvaluesOnly).eigenvalues();
  return ev(ev.size() - 1);
}

// ‖PᵀQ‖ for P, Q: k × m through the k × k problem λmax(L_Qᵀ G_P L_Q).
double product_norm_small(const Matrix& P, const Matrix& Q) {
  if (P.rows() >= P.cols()) return Eigen::JacobiSVD<Matrix>(Matrix(P.transpose() * Q)).singularValues()(0);
  const Matrix LQ = Eigen::LLT<Matrix>(Matrix(Q * Q.transpose())).matrixL();
  return std::sqrt(lambda_max(Matrix(LQ.transpose() * (P * P.transpose()) * LQ)));
}

// The stated relative width of the engine's enclosure of ‖PᵀQ‖ (tests/stated_bounds.hpp,
// docs/linalg.md §6.1), from floating-point properties of the weights, for the route the engine
// took. P, Q: k × m. In the generic route ‖|P|ᵀ|Q|‖ is replaced by its upper bound ‖|P|‖‖|Q|‖
// (k × k problems only: a 768 × 768 SVD per head would cost minutes).
double stated_relwidth(const Matrix& P, const Matrix& Q, bool lowrank) {
  namespace st = attnbound::testing::stated;
  const double k = static_cast<double>(P.rows()), m = static_cast<double>(P.cols());
  const double a = product_norm_small(P, Q);
  const Matrix absGP = P.cwiseAbs() * P.cwiseAbs().transpose(), absGQ = Q.cwiseAbs() * Q.cwiseAbs().transpose();
  if (!lowrank) return st::product_norm_relwidth(k, m, std::sqrt(lambda_max(absGP) * lambda_max(absGQ)), a);
  {
    const Matrix GQ = Q * Q.transpose();
    const Matrix LQ = Eigen::LLT<Matrix>(GQ).matrixL();
    const Eigen::VectorXd ev = Eigen::SelfAdjointEigenSolver<Matrix>(GQ, Eigen::EigenvaluesOnly).eigenvalues();
    const Matrix absL = LQ.cwiseAbs();
    return st::lowrank_norm_relwidth(k, m, lambda_max(Matrix(absL.transpose() * absL)), lambda_max(absGP),
                                     lambda_max(Matrix(P * P.transpose())), lambda_max(absGQ), ev(ev.size() - 1) / ev(0),
                                     a * a);
  }
}

// Per head: the stated relative widths of a_h = ‖A_h‖ and v_h = ‖V_h‖, and the relative error of
// the test's own double-precision reference (Householder QR, normwise backward error
// ‖ΔW‖_F ≤ γ_{2mk}‖W‖_F, Higham 2002 Thm 19.4 with c = 2; one-sided Jacobi SVD, relative accuracy
// γ_{4k} for the largest singular value of the k × k core).
struct HeadTolerance {
  double a_width, v_width, a_ref, v_ref;
};
std::vector<HeadTolerance> head_tolerances(const AttentionLayer& L, const ModelQuantities& q) {
  const bool aug = q.augmented;
  namespace st = attnbound::testing::stated;
  std::vector<HeadTolerance> out;
  for (std::size_t hh = 0; hh < L.heads.size(); ++hh) {
    const Head& h = L.heads[hh];
    const Matrix Wq = augmented(h.Wq, h.bq, aug, L.d), Wk = augmented(h.Wk, h.bk, aug, L.d);
    const Matrix Wot = h.Wo.transpose();
    const bool lowrank_a = q.heads[hh].a_lowrank, lowrank_v = q.heads[hh].v_lowrank;
    // The low-rank route is taken whenever it applies to a well-conditioned head (its interval
    // Cholesky succeeds); a silent fallback would widen MF by orders of magnitude.
    EXPECT_EQ(lowrank_a, !L.paper_form && h.dk() < L.d) << "head " << hh;
    EXPECT_EQ(lowrank_v, !L.paper_form && h.Wv.rows() < L.d) << "head " << hh;
    auto ref_err = [](const Matrix& P, const Matrix& Q) {
      const double k = static_cast<double>(P.rows()), m = static_cast<double>(P.cols());
      return 2 * st::gamma(2 * m * k) * P.norm() * Q.norm() / product_norm_small(P, Q) + st::gamma(4 * k);
    };
    out.push_back({stated_relwidth(Wq, Wk, lowrank_a), stated_relwidth(Wot, h.Wv, lowrank_v), ref_err(Wq, Wk),
                   ref_err(Wot, h.Wv)});
  }
  return out;
}

void expect_agreement(const AttentionLayer& L, long n, double R, const std::string& label) {
  const ModelQuantities q = model_quantities(L, R);
  const long double R2 = radius2(L, R);
  const auto norms = independent_norms(L);
  const auto tol = head_tolerances(L, q);
  // log S = log Σ_h S_h(a_h, v_h). Every statement's head term has elasticity ∂log S_h/∂log a_h ≤
  // 2a_hR² + 2 (e^{2aR²}(1 + 3aR²)-type for MF, ≤ 1 for the U1 family) and ∂log S_h/∂log v_h = 1;
  // log Σ is a convex combination in the head terms, so a relative change δ_a, δ_v per head moves
  // log S by at most max_h (2a_hR² + 2)δ_a + δ_v. MPFR's own roundings (≥ 128 bits) are below 1e-25.
  double width_tol = 0, ref_tol = 0;
  for (std::size_t h = 0; h < tol.size(); ++h) {
    const double Ea = static_cast<double>(2 * norms[h].a * R2 + 2);
    width_tol = std::max(width_tol, Ea * tol[h].a_width + tol[h].v_width);
    ref_tol = std::max(ref_tol, Ea * (tol[h].a_width + tol[h].a_ref) + tol[h].v_width + tol[h].v_ref);
  }
  width_tol += 1e-25;
  ref_tol += 1e-15;  // the reference formula in long double: ≤ 20 operations on values ≤ 1e4, u = 5.4e-20
  for (const Statement& s : catalogue()) {
    if (s.kind != Kind::upper || s.pointwise) continue;
    const MpInterval S = ball_value(s, q, n);
    const long double ref = independent_log(s.id, L, n, R);
    EXPECT_NEAR(static_cast<double>(log_mid(S) - ref), 0.0, ref_tol) << label << " " << s.id;
    EXPECT_LE(static_cast<double>(log(S.upper_point()).mid_approx() - log(S.lower_point()).mid_approx()), width_tol)
        << label << " " << s.id;
  }
}

}  // namespace

TEST(TheoremsValues, BuiltinsAgreeWithIndependentRecomputation) {
  expect_agreement(load_model("builtin:tiny"), 3, 1.0, "tiny");
  expect_agreement(load_model("builtin:tiny-causal"), 7, 2.0, "tiny-causal");
  expect_agreement(load_model("builtin:paper-toy"), 3, 1.0, "paper-toy");
  expect_agreement(load_model("builtin:paper-toy"), 1000000, 2.0, "paper-toy n=1e6");
}

TEST(TheoremsValues, Gpt2InitAgreesInLogSpace) {
  // aR² ≈ 550 at R = 100: MF-causal ≈ 10^488 — compared through logarithms.
  expect_agreement(load_model("builtin:gpt2-init"), 16, 100.0, "gpt2-init");
}

TEST(TheoremsValues, RandomLayersWithBiasesUseTheAugmentedForm) {
  std::mt19937_64 rng(attnbound::testing::seed(31));
  for (int trial = 0; trial < 20; ++trial) {
    attnbound::testing::LayerSpec sp = attnbound::testing::random_spec(rng, 6, 3);
    const AttentionLayer L = attnbound::testing::random_layer(sp, rng);
    const long n = std::uniform_int_distribution<long>(1, 50)(rng);
    const double R = std::uniform_real_distribution<double>(0.1, 4.0)(rng);
    expect_agreement(L, n, R, "trial " + std::to_string(trial));
  }
}

TEST(TheoremsValues, CliJsonValuesOfU1AndMfAgree) {
  for (const char* spec : {"builtin:tiny", "builtin:paper-toy"}) {
    std::ostringstream out, err;
    const int rc = cli::run({"theorems", "--model", spec, "--n", "3", "--radius", "1", "--time-limit", "0.5",
                             "--search-seconds", "0", "--json"},
                            out, err);
    ASSERT_EQ(rc, 0) << err.str();
    const auto j = nlohmann::json::parse(out.str());
    const AttentionLayer L = load_model(spec);
    for (const auto& s : j["statements"]) {
      const std::string id = s["id"];
      if (id != "U1" && id != "MF") continue;
      const double v = s["value"].get<double>();
      const double ref = static_cast<double>(std::exp(independent_log(id, L, 3, 1.0)));
      EXPECT_NEAR(v / ref, 1.0, 1e-9) << spec << " " << id;
    }
  }
}

TEST(TheoremsValues, LowerFormulasAgreeWithIndependentRecomputation) {
  std::mt19937_64 rng(attnbound::testing::seed(41));
  int checked = 0;
  for (int trial = 0; trial < 30; ++trial) {
    attnbound::testing::LayerSpec sp = attnbound::testing::random_spec(rng, 5, 1);
    sp.biases = false;
    const AttentionLayer L = attnbound::testing::random_layer(sp, rng);
    const long n = std::uniform_int_distribution<long>(2, 60)(rng);
    const double R = std::uniform_real_distribution<double>(0.3, 3.0)(rng);
    for (const char* id : {"LB1", "LB-cluster"}) {
      const Statement& s = *find_statement(id);
      if (!inapplicable_reason(s, L, n).empty()) continue;
      const LowerCheck chk = lower_check(s, L, n, R);
      if (!chk.applicable || !chk.evaluated) continue;
      // Independent: the paper form from the raw weights, c = wᵀAw, ‖Vw‖/‖w‖, the formula in long double.
      const Head& h = L.heads[0];
      const Matrix A = h.Wq.transpose() * h.Wk / std::sqrt(static_cast<double>(h.logit_divisor));
      const Matrix V = h.Wo * h.Wv;
      const Vector w = chk.witness.in.Y.row(1).transpose();
      ASSERT_EQ(Vector(chk.witness.in.Y.row(0).transpose()), Vector(2.0 * w));
      const long double c = w.dot(A * w), vu = (V * w).norm() / w.norm();
      auto term = [&](long double ratio) {
        const long double P = 1 / (1 + ratio * std::exp(-c));
        return P * (1 + (1 - P) * c);
      };
      long double ref;
      if (std::string(id) == "LB1" && L.mask == Mask::none) {
        ref = vu * std::sqrt(static_cast<long double>(n - 1)) * term(n - 1);
      } else if (std::string(id) == "LB1") {
        long double sum = 0;
        for (long i = 2; i <= n; ++i) sum += term(i - 1) * term(i - 1);
        ref = vu * std::sqrt(sum);
      } else {
        const long long k = chk.witness.in.m[0];
        const long double ratio = static_cast<long double>(n - k) / k;
        ref = vu * std::sqrt(ratio) * term(ratio);
      }
      EXPECT_NEAR(chk.formula.mid_approx() / static_cast<double>(ref), 1.0, 1e-9) << id << " trial " << trial;
      ++checked;
    }
  }
  EXPECT_GE(checked, 10);
}

TEST(TheoremsValues, UlocalEnclosesAnIndependentRecomputation) {
  std::mt19937_64 rng(attnbound::testing::seed(43));
  for (int trial = 0; trial < 20; ++trial) {
    attnbound::testing::LayerSpec sp = attnbound::testing::random_spec(rng, 5, 2);
    const AttentionLayer L = attnbound::testing::random_layer(sp, rng);
    const long n = std::uniform_int_distribution<long>(1, 6)(rng);
    const Matrix X = attnbound::testing::random_tokens(n, sp.d, 1.5, rng);
    const ModelQuantities q = model_quantities(L, 1.0);
    const MpInterval U = ulocal_value(L, q, X);
    const bool aug = q.augmented;
    long double r = 0;
    for (long i = 0; i < n; ++i)
      for (long j = i + 1; j < n; ++j) r = std::max<long double>(r, (X.row(i) - X.row(j)).norm());
    long double ref = 0;
    const auto norms = independent_norms(L);
    for (std::size_t hh = 0; hh < L.heads.size(); ++hh) {
      const Head& h = L.heads[hh];
      long double RA = 0;
      for (long i = 0; i < n; ++i) {
        // Aᵀ x̃ = W_Kᵀ (W_Q x + b_Q) / √divisor … with the augmented token: (W_Q x + b_Q) is W̃_Q x̃.
        const Vector qv = h.Wq * X.row(i).transpose() + (aug ? h.bq : Vector(Vector::Zero(h.dk())));
        Vector y = h.Wk.transpose() * qv / std::sqrt(static_cast<double>(h.logit_divisor));
        long double nrm2 = y.squaredNorm();
        if (aug) {
          const long double extra = h.bk.dot(qv) / std::sqrt(static_cast<double>(h.logit_divisor));
          nrm2 += extra * extra;
        }
        RA = std::max<long double>(RA, std::sqrt(nrm2));
      }
      ref += norms[hh].v * std::sqrt(RA * RA * r * r * (n + 1) + n);
    }
    EXPECT_NEAR(U.mid_approx() / static_cast<double>(ref), 1.0, 1e-9) << "trial " << trial;
  }
}
