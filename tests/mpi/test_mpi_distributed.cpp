// The distributed tier (src/mpi/), run by ctest under `mpirun -np 2` (tests/mpi/CMakeLists.txt).
// Every rank runs every test (the functions are collective); all ranks must agree.
#include <gtest/gtest.h>
#include <cmath>
#include <mpi.h>

#include <random>

#include "attention/attention.hpp"
#include "bound/bound.hpp"
#include "linalg/linalg.hpp"
#include "model/model.hpp"
#include "mpi/distributed.hpp"
#include "support.hpp"

using namespace attnbound;

namespace {

Matrix gaussian(Eigen::Index r, Eigen::Index c, std::mt19937_64& rng) {
  std::normal_distribution<double> nd(0.0, 1.0);
  Matrix M(r, c);
  for (Eigen::Index k = 0; k < M.size(); ++k) M.data()[k] = nd(rng);
  return M;
}

/// This rank's block-cyclic part of the replicated matrix A.
void scatter(const Matrix& A, mpi::DistMatrix& D) {
  for (int c = 0; c < D.local_cols(); ++c)
    for (int r = 0; r < D.local_rows(); ++r) D.local(r, c) = A(D.global_row(r), D.global_col(c));
}

Matrix random_point(long n, long d, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  return gaussian(n, d, rng);
}

}  // namespace

TEST(DistNorm, AgreesWithTheSingleMachineBound) {
  mpi::Grid g;
  std::mt19937_64 rng(attnbound::testing::seed(1801));
  for (int trial = 0; trial < 3; ++trial) {
    const long N = 150 + 75 * trial;  // not a multiple of the block: ragged last blocks
    const Matrix M = gaussian(N, N, rng);
    mpi::DistMatrix D(g, N, 32);
    scatter(M, D);
    const auto v = approx::top_singular(M).v;
    const double lower = norm2_lower(M, v).value();  // rigorous ‖Mv‖/‖v‖
    const double single = norm2_upper(M).value();
    const mpi::DistNormProof p = mpi::dist_norm2_upper(g, D, approx::norm2(M).value() * approx::norm2(M).value());
    ASSERT_EQ(p.method.rfind("distributed gram-cholesky", 0), 0u) << p.method;
    // Containment: both are upper bounds of a norm whose rigorous lower bound is `lower`.
    EXPECT_GE(p.bound.value(), lower);
    EXPECT_GE(single, lower);
    // Tightness: the proof consumes about κ(Nt − tr) + r with κ ≈ (N+2)u, i.e. ≲ N²u relative in
    // t and half of it in √t, times (1 + f) <= 2 on a first attempt plus the 16Nu margin
    // (docs/linalg.md §3.3): 4N²u bounds the relative gap with room to spare.
    const double allowed = 4.0 * static_cast<double>(N) * static_cast<double>(N) * 0x1p-53;
    EXPECT_LE(p.bound.value() / lower - 1.0, allowed) << "N = " << N;
    EXPECT_LE(p.attempts, 1);
    // Mutant "dropped panel": rank 0's part of M is lost (left at zero) before the proof, whose
    // candidate comes from the matrix it was given. Its bound is then a proved bound of the wrong
    // matrix, and the containment check above exposes it.
    mpi::DistMatrix Dm(g, N, 32);
    scatter(M, Dm);
    Matrix Mm = M;  // the same loss, replicated, for the candidate
    for (long i = 0; i < N; ++i)
      if ((i / 32) % g.rows() == 0) Mm.row(i).setZero();
    if (g.rank() == 0) std::fill(Dm.data(), Dm.data() + std::size_t(Dm.local_rows()) * Dm.local_cols(), 0.0);
    const double em = approx::norm2(Mm).value();
    const mpi::DistNormProof pm = mpi::dist_norm2_upper(g, Dm, em * em);
    EXPECT_LT(pm.bound.value(), lower) << "the dropped panel went unnoticed, N = " << N;
  }
}

TEST(DistPd, RumpShiftMutantIsCaught) {
  // A = I except A(0:2, 0:2) = [[a, 1], [1, c]] with c = fl(1/a) < 1/a: det = a·c − 1 < 0 (its sign
  // is exact: fma(a, c, −1) rounds once), so A is indefinite. For some a the round-to-nearest
  // Cholesky still completes (its second pivot c − fl(1/√a)² rounds to a positive number): the
  // "no shift" mutant (shift_scale 0) then calls A positive definite. The real test must reject
  // every such A; rows 0 and 1 live on different ranks (block 1).
  mpi::Grid g;
  const int n = 12;
  int found = 0, indefinite = 0;
  for (int a = 2; a < 400; ++a) {
    const double c = 1.0 / static_cast<double>(a);
    if (!(std::fma(static_cast<double>(a), c, -1.0) < 0)) continue;
    ++indefinite;
    Matrix A = Matrix::Identity(n, n);
    A(0, 0) = a;
    A(0, 1) = A(1, 0) = 1.0;
    A(1, 1) = c;
    std::vector<double> d(n);
    for (int i = 0; i < n; ++i) d[static_cast<std::size_t>(i)] = A(i, i);
    mpi::DistMatrix W(g, n, 1);
    scatter(A, W);
    if (!mpi::dist_prove_pd(g, W, d, d, 0.0)) continue;  // the mutant rejects it too: no evidence
    ++found;
    mpi::DistMatrix V(g, n, 1);
    scatter(A, V);
    EXPECT_FALSE(mpi::dist_prove_pd(g, V, d, d)) << "a = " << a;
  }
  EXPECT_GT(indefinite, 10);
  EXPECT_GE(found, 1) << "no indefinite matrix passed the unshifted PDPOTRF: mutant not exposed";
  const Matrix I = Matrix::Identity(n, n);
  mpi::DistMatrix P(g, n, 1);
  scatter(I, P);
  const std::vector<double> one(n, 1.0);
  EXPECT_TRUE(mpi::dist_prove_pd(g, P, one, one));
}

TEST(DistPoint, AgreesWithTheDenseTier) {
  // Single-machine dense bracket vs the distributed one at the same points: both are proved, so
  // they must intersect ("agree to within both gaps"), and the distributed gap obeys the same
  // a-priori bound as the single-machine one (4N²u, see DistNorm above, plus ‖rad‖_F ≈ √N·u·‖J‖).
  mpi::Grid g;
  const std::uint64_t s = attnbound::testing::seed(1803);
  for (const char* spec : {"builtin:tiny", "builtin:tiny-causal", "builtin:paper-toy"}) {
    const AttentionLayer layer = load_model(spec);
    const Matrix X = random_point(30, layer.d, s);
    const long N = X.rows() * X.cols();
    const Bracket single = certify_point(layer, X, CertifyOptions{});
    const Bracket dist = mpi::certify_point_distributed(g, layer, X);
    ASSERT_EQ(dist.upper_evidence.tier, "distributed");
    ASSERT_NE(dist.upper_method.find("gram-cholesky"), std::string::npos) << dist.upper_method;
    if (g.rank() != 0) continue;  // the lower side lives on rank 0
    EXPECT_LE(dist.lower.value(), single.upper.value()) << spec;
    EXPECT_LE(single.lower.value(), dist.upper.value()) << spec;
    const double allowed = 4.0 * static_cast<double>(N) * static_cast<double>(N) * 0x1p-53 + 1e-13;
    EXPECT_LE(dist.upper.value() / dist.lower.value() - 1.0, allowed) << spec;
  }
}

TEST(DistPoint, BlockSizeAndPanelsDoNotChangeTheClaimBeyondTheGap) {
  mpi::Grid g;
  const AttentionLayer layer = load_model("builtin:tiny");
  const Matrix X = random_point(25, layer.d, attnbound::testing::seed(1804));
  mpi::DistributedOptions a, b, c;
  a.block = 1;
  b.block = 7;  // does not divide d: blocks straddle tokens
  c.panel_rows = 5;  // the Gram accumulated over 10 panels of J, not aligned with blocks or tokens
  const Bracket ra = mpi::certify_point_distributed(g, layer, X, a);
  const Bracket rb = mpi::certify_point_distributed(g, layer, X, b);
  const Bracket rc = mpi::certify_point_distributed(g, layer, X, c);
  ASSERT_NE(rc.upper_method.find("panels of 5 rows"), std::string::npos) << rc.upper_method;
  if (g.rank() != 0) return;
  for (const Bracket* x : {&ra, &rb, &rc})
    for (const Bracket* y : {&ra, &rb, &rc}) EXPECT_LE(x->lower.value(), y->upper.value());
  const double N = static_cast<double>(X.size());
  EXPECT_LE(rc.upper.value() / rc.lower.value() - 1.0, 4.0 * N * N * 0x1p-53 + 1e-13);
}

int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  ::testing::InitGoogleTest(&argc, argv);
  int rank = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  if (rank != 0) {
    auto& listeners = ::testing::UnitTest::GetInstance()->listeners();
    delete listeners.Release(listeners.default_result_printer());
  }
  const int rc = RUN_ALL_TESTS();
  int worst = rc;
  MPI_Allreduce(&rc, &worst, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
  MPI_Finalize();
  return worst;
}
