// linalg: measurements (not correctness tests). Skipped unless ATTNBOUND_BENCH=1; the N = 12288
// norm additionally needs ATTNBOUND_BENCH_BIG=1 (2.4 GB, about a minute on 2 cores).
//
//   ATTNBOUND_BENCH=1 ./test_linalg_bench
//
// Prints, for the enclosed products, the time relative to one round-to-nearest double GEMM of
// the same shape (single thread), and for norm2_upper the time, the attempts and the relative
// gap bound/L − 1 against a rigorous lower bound L = norm2_lower(M, v) (v from Lanczos), which
// bounds the true gap bound/σ − 1 from above.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <functional>
#include <random>

#include "linalg/linalg.hpp"
#include "support.hpp"

using namespace attnbound;

namespace {

bool enabled(const char* var) {
  const char* e = std::getenv(var);
  return e && *e && *e != '0';
}

/// Seconds per call: the fastest of repeated calls (robust against the machine being shared).
/// Single-threaded timings use the process CPU time, multi-threaded ones the wall time.
double seconds_of(const std::function<void()>& f, bool cpu_time, double min_total = 0.5) {
  auto clock = [cpu_time] {
    if (cpu_time) {
      timespec ts;
      clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
      return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
    }
    return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
  };
  f();  // warm up
  double best = 1e300, total = 0;
  int reps = 0;
  while (total < min_total || reps < 5) {
    const double t0 = clock();
    f();
    const double el = clock() - t0;
    best = std::min(best, el);
    total += el;
    ++reps;
  }
  return best;
}

Matrix gaussian(Eigen::Index r, Eigen::Index c, std::mt19937_64& rng) {
  std::normal_distribution<double> nd;
  Matrix M(r, c);
  for (Eigen::Index i = 0; i < M.size(); ++i) M.data()[i] = nd(rng);
  return M;
}

}  // namespace

TEST(LinalgBench, Products) {
  if (!enabled("ATTNBOUND_BENCH")) GTEST_SKIP() << "set ATTNBOUND_BENCH=1";
  std::mt19937_64 rng(attnbound::testing::seed(901));
  const Eigen::Index shapes[][3] = {{256, 768, 768}, {16, 768, 768}, {256, 768, 64}, {768, 256, 256}};
  for (const auto& s : shapes) {
    const Matrix Am = gaussian(s[0], s[1], rng), B = gaussian(s[1], s[2], rng);
    IMatrix A, Bi;
    {
      UpwardScope up;
      A = to_intervals(MidRad{Am, Matrix::Constant(s[0], s[1], 1e-6)});
      Bi = to_intervals(MidRad{B, Matrix::Constant(s[1], s[2], 1e-6)});
    }
    const MidRad Amr = to_midrad(A);
    Matrix C(s[0], s[2]);
    for (int threads : {1, 2}) {
      const bool cpu = threads == 1;
      const double gemm = seconds_of([&] { C.noalias() = Am * B; }, cpu);  // 1 thread, nearest
      LinalgThreads th(threads);
      UpwardScope up;
      const double ip = seconds_of([&] { IMatrix R = mul(A, B); }, cpu);
      const double pi = seconds_of([&] { IMatrix R = mul(Am, Bi); }, cpu);
      const double ii = seconds_of([&] { IMatrix R = mul(A, Bi); }, cpu);
      const double mr = seconds_of([&] { MidRad R = mul(Amr, B); }, cpu);
      const double pp = seconds_of([&] { IMatrix R = mul_enclose(Am, B); }, cpu);
      const PreparedMatrix Bp(B);
      const double iw = seconds_of([&] { IMatrix R = mul(A, Bp); }, cpu);
      std::printf("mul %4ldx%4ldx%4ld threads %d (%s): double GEMM %.2f ms | IxM %.2fx  MxI %.2fx  "
                  "IxI %.2fx  MidRad x M %.2fx  enclose(MxM) %.2fx  I x Prepared %.2fx\n",
                  static_cast<long>(s[0]), static_cast<long>(s[1]), static_cast<long>(s[2]), threads,
                  cpu ? "cpu time" : "wall time", gemm * 1e3, ip / gemm, pi / gemm, ii / gemm, mr / gemm,
                  pp / gemm, iw / gemm);
    }
  }
}

TEST(LinalgBench, Norms) {
  if (!enabled("ATTNBOUND_BENCH")) GTEST_SKIP() << "set ATTNBOUND_BENCH=1";
  std::mt19937_64 rng(attnbound::testing::seed(902));
  std::vector<Eigen::Index> sizes = {256, 1000, 4000};
  if (enabled("ATTNBOUND_BENCH_BIG")) sizes.push_back(12288);
  for (Eigen::Index n : sizes) {
    const Matrix M = gaussian(n, n, rng);
    for (int threads : {1, 2}) {
      if (n >= 12288 && threads == 1) continue;
      NormOptions opt;
      opt.threads = threads;
      const NormProof p = norm2_upper_proof(M, opt);
      const auto t0 = std::chrono::steady_clock::now();
      const auto ts = approx::top_singular(M, n >= 4000 ? 80 : 300, 1e-12);
      const LowerBound L = norm2_lower(M, ts.v);
      const double tl = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      std::printf("norm2_upper N=%5ld threads %d: %.3f s, %d attempt(s), method %s, "
                  "bound/estimate-1 = %.2e, bound/L-1 = %.2e (lower bound %.2f s)\n",
                  static_cast<long>(n), threads, p.seconds, p.attempts, p.method.c_str(),
                  p.bound.value() / p.estimate.value() - 1, p.bound.value() / L.value() - 1, tl);
      EXPECT_GE(p.bound.value(), L.value());
    }
  }
}

TEST(LinalgBench, IntervalNorm) {
  if (!enabled("ATTNBOUND_BENCH")) GTEST_SKIP() << "set ATTNBOUND_BENCH=1";
  std::mt19937_64 rng(attnbound::testing::seed(903));
  for (Eigen::Index n : {256, 1000}) {
    const Matrix M = gaussian(n, n, rng);
    for (double rel : {1e-12, 1e-6}) {
      const MidRad mr{M, Matrix::Constant(n, n, rel)};
      const NormProof p = norm2_upper_proof(mr);
      const double mid = norm2_upper(M).value();
      std::printf("interval norm N=%ld rad %.0e: %.3f s, bound/‖mid‖bound - 1 = %.2e, rad/mid = %.2e\n",
                  static_cast<long>(n), rel, p.seconds, p.bound.value() / mid - 1, rel * n / mid);
    }
  }
}
