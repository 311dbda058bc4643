// The three input families of the GPT-2-scale tables (issue 8; docs/structured.md §4), shared by
// attnbound-structured-bench and attnbound-block-ceiling so that both see the same inputs:
//   lb1        approx::lb1_witnesses(layer, n, R)[0];
//   random     Gaussian directions, norms uniform in [R/2, R];
//   clustered  4 such tokens, each position a random one of them.
// The generator is seeded with seed + n, so a (family, n, seed) triple names one input.
#pragma once

#include <cstdint>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "bound/bound.hpp"

namespace attnbound::bench {

/// The family names family_input accepts.
inline const std::vector<std::string> kFamilies = {"lb1", "random", "clustered"};

/// Random tokens with norms uniform in [R/2, R] (inside B_R).
inline Matrix random_tokens(long n, long d, double R, std::mt19937_64& rng) {
  std::normal_distribution<double> g;
  std::uniform_real_distribution<double> u(0.5, 1.0);
  Matrix X(n, d);
  for (long i = 0; i < n; ++i) {
    for (long a = 0; a < d; ++a) X(i, a) = g(rng);
    X.row(i) *= R * u(rng) / X.row(i).norm();
  }
  return X;
}

inline Matrix family_input(const AttentionLayer& L, const std::string& fam, long n, double R, std::uint64_t seed) {
  std::mt19937_64 rng(seed + static_cast<std::uint64_t>(n));
  if (fam == "lb1") return approx::lb1_witnesses(L, n, R).front().X;
  if (fam == "random") return random_tokens(n, L.d, R, rng);
  if (fam == "clustered") {
    const Matrix C = random_tokens(4, L.d, R, rng);
    std::uniform_int_distribution<int> pick(0, 3);
    Matrix X(n, L.d);
    for (long i = 0; i < n; ++i) X.row(i) = C.row(pick(rng));
    return X;
  }
  throw std::invalid_argument("unknown family " + fam);
}

}  // namespace attnbound::bench
