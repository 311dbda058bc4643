// The interval softmax: containment, the exact-range property, and a mutation that must be caught.
#include <gtest/gtest.h>

#include "attention/attention.hpp"
#include "random_layers.hpp"
#include "support.hpp"

using namespace attnbound;
using namespace attnbound::testing;

namespace {

// Does every entry of P (interval) contain softmax(S) evaluated at 256 bits at the point S?
template <class SoftmaxFn>
int count_misses(const Matrix& S, Mask mask, SoftmaxFn softmax_interval) {
  MpMatrix ref;
  {
    MpPrecision prec(256);
    ref = softmax_rows<MpInterval>(cast_tokens<MpInterval>(S), mask);
  }
  UpwardScope up;
  IMatrix P = softmax_interval(cast_tokens<Interval>(S), mask);
  int misses = 0;
  for (Eigen::Index i = 0; i < S.rows(); ++i)
    for (Eigen::Index j = 0; j < S.cols(); ++j)
      if (!MpInterval(P(i, j)).contains(ref(i, j))) ++misses;
  return misses;
}

// A plausible but wrong variant: the upper bound uses the same (upward) sums as the lower bound,
// i.e. it forgets that the denominator must be rounded *down* for an upper bound of p.
IMatrix mutant_softmax(const IMatrix& S, Mask mask) {
  const long n = S.rows();
  IMatrix P = IMatrix::Constant(n, S.cols(), point(0.0));
  for (long i = 0; i < n; ++i) {
    const long K = mask == Mask::causal ? i + 1 : S.cols();
    double m = -INFINITY;
    for (long k = 0; k < K; ++k) m = std::max(m, S(i, k).upper());
    double z = 0;
    std::vector<double> e(K);
    for (long k = 0; k < K; ++k) {
      e[k] = detail::exp_up(S(i, k).upper() - m);
      z += e[k];
    }
    for (long j = 0; j < K; ++j) {
      double p = e[j] / z;
      P(i, j) = Interval(-(-e[j] / z), p, true);  // zero-width "interval" at a rounded value
    }
  }
  return P;
}

}  // namespace

TEST(AttentionSoftmax, IntervalContainsExactValueIncludingExtremeLogits) {
  std::mt19937_64 rng(seed(1111));
  std::uniform_real_distribution<double> u(-30.0, 30.0);
  for (int trial = 0; trial < 200; ++trial) {
    const long n = std::uniform_int_distribution<long>(1, 12)(rng);
    Matrix S(n, n);
    for (long i = 0; i < n; ++i)
      for (long j = 0; j < n; ++j) S(i, j) = u(rng) * (trial % 10 == 0 ? 40 : 1);  // up to ±1200
    Mask mask = trial % 2 ? Mask::causal : Mask::none;
    ASSERT_EQ(count_misses(S, mask, softmax_rows<Interval>), 0) << "trial " << trial;
  }
}

TEST(AttentionSoftmax, ExactRangeOverALogitBox) {
  // For a box of logits the enclosure is the exact range (up to rounding): its endpoints are
  // attained at corners. Check p_j's lower end against the corner s_j = l_j, s_k = u_k.
  UpwardScope up;
  IMatrix S(1, 3);
  S(0, 0) = hull(0.0, 0.5);
  S(0, 1) = hull(-1.0, 1.0);
  S(0, 2) = hull(2.0, 2.0);
  IMatrix P = softmax_rows<Interval>(S, Mask::none);
  const double corner = std::exp(0.0) / (std::exp(0.0) + std::exp(1.0) + std::exp(2.0));
  EXPECT_NEAR(P(0, 0).lower(), corner, 1e-15);
  const double corner_hi = std::exp(0.5) / (std::exp(0.5) + std::exp(-1.0) + std::exp(2.0));
  EXPECT_NEAR(P(0, 0).upper(), corner_hi, 1e-15);
}

TEST(AttentionSoftmax, MutantIsCaughtByTheContainmentCheck) {
  std::mt19937_64 rng(seed(1212));
  std::uniform_real_distribution<double> u(-5.0, 5.0);
  int caught = 0;
  for (int trial = 0; trial < 200; ++trial) {
    const long n = 6;
    Matrix S(n, n);
    for (long i = 0; i < n; ++i)
      for (long j = 0; j < n; ++j) S(i, j) = u(rng);
    caught += count_misses(S, Mask::none, mutant_softmax) > 0;
  }
  EXPECT_GT(caught, 0) << "the containment check cannot distinguish a wrong softmax";
}
