// Forward + JVP + VJP of a GPT-2-shaped layer (d = 768, 12 heads, causal) in double and Interval.
// Targets (issue 2): a double JVP+VJP pair at n = 64 in <= 0.1 s; Interval <= 6x double.
#include <benchmark/benchmark.h>

#include "attention/attention.hpp"
#include "model/model.hpp"

using namespace attnbound;

namespace {
const AttentionLayer& gpt2() {
  static const AttentionLayer L = builtin_model("gpt2-init", 0);
  return L;
}
Matrix tokens(long n) {
  Matrix X(n, 768);
  for (long i = 0; i < n; ++i)
    for (long a = 0; a < 768; ++a) X(i, a) = std::sin(0.7 * i + 0.013 * a + 0.1);
  return X;
}
template <class T>
Mat<T> as(const Matrix& X) {
  Mat<T> Y(X.rows(), X.cols());
  for (Eigen::Index i = 0; i < X.size(); ++i) Y(i) = T(X(i));
  return Y;
}

void BM_Double(benchmark::State& st) {
  const long n = st.range(0);
  const Matrix X = tokens(n), V = tokens(n) * 0.5;
  for (auto _ : st) {
    auto s = forward<double>(gpt2(), X);
    Matrix a = jvp<double>(gpt2(), s, V);
    Matrix b = vjp<double>(gpt2(), s, a);
    benchmark::DoNotOptimize(b.data());
  }
}

void BM_Interval(benchmark::State& st) {
  const long n = st.range(0);
  const Matrix X = tokens(n), V = tokens(n) * 0.5;
  UpwardScope up;
  const IMatrix Xi = as<Interval>(X), Vi = as<Interval>(V);
  for (auto _ : st) {
    auto s = forward<Interval>(gpt2(), Xi);
    IMatrix a = jvp<Interval>(gpt2(), s, Vi);
    IMatrix b = vjp<Interval>(gpt2(), s, a);
    benchmark::DoNotOptimize(b.data());
  }
}

void BM_DoubleJvpVjpPair(benchmark::State& st) {
  const long n = st.range(0);
  const Matrix X = tokens(n), V = tokens(n) * 0.5;
  auto s = forward<double>(gpt2(), X);
  for (auto _ : st) {
    Matrix a = jvp<double>(gpt2(), s, V);
    Matrix b = vjp<double>(gpt2(), s, a);
    benchmark::DoNotOptimize(b.data());
  }
}
}  // namespace

BENCHMARK(BM_Double)->Arg(16)->Arg(64)->Arg(256)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Interval)->Arg(16)->Arg(64)->Arg(256)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_DoubleJvpVjpPair)->Arg(64)->Unit(benchmark::kMillisecond);
