// Helpers shared by the tests of src/model: scratch files, bitwise layer comparison, and a plain-loop
// forward pass of THEORY.md §1 computed from AttentionLayer fields (independent of src/attention).
#pragma once

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <unistd.h>
#include <vector>

#include "model/model.hpp"

namespace attnbound::testing {

/// A fresh scratch directory per test (removed at the end).
class ScratchDir {
 public:
  ScratchDir() {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    path_ = std::filesystem::temp_directory_path() /
            ("attnbound-model-" + std::string(info->test_suite_name()) + "-" + info->name() + "-" +
             std::to_string(::getpid()));
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~ScratchDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  std::string file(const std::string& name) const { return (path_ / name).string(); }
  std::string write(const std::string& name, const std::string& bytes) const {
    std::ofstream f(file(name), std::ios::binary);
    f << bytes;
    return file(name);
  }

 private:
  std::filesystem::path path_;
};

inline bool same_bits(double a, double b) { return std::bit_cast<std::uint64_t>(a) == std::bit_cast<std::uint64_t>(b); }

template <class M>
inline bool same_bits(const M& a, const M& b) {
  if (a.rows() != b.rows() || a.cols() != b.cols()) return false;
  for (Eigen::Index i = 0; i < a.rows(); ++i)
    for (Eigen::Index j = 0; j < a.cols(); ++j)
      if (!same_bits(a(i, j), b(i, j))) return false;
  return true;
}

/// Every weight, dimension, mask and norm parameter identical bit for bit.
inline void expect_same_layer(const AttentionLayer& a, const AttentionLayer& b) {
  ASSERT_EQ(a.d, b.d);
  ASSERT_EQ(a.mask, b.mask);
  ASSERT_EQ(a.n_heads(), b.n_heads());
  for (long h = 0; h < a.n_heads(); ++h) {
    const Head &x = a.heads[h], &y = b.heads[h];
    EXPECT_TRUE(same_bits(x.Wq, y.Wq)) << "head " << h;
    EXPECT_TRUE(same_bits(x.Wk, y.Wk)) << "head " << h;
    EXPECT_TRUE(same_bits(x.Wv, y.Wv)) << "head " << h;
    EXPECT_TRUE(same_bits(x.Wo, y.Wo)) << "head " << h;
    EXPECT_TRUE(same_bits(x.bq, y.bq)) << "head " << h;
    EXPECT_TRUE(same_bits(x.bk, y.bk)) << "head " << h;
    EXPECT_TRUE(same_bits(x.bv, y.bv)) << "head " << h;
    EXPECT_EQ(x.logit_divisor, y.logit_divisor);
  }
  EXPECT_TRUE(same_bits(a.bo, b.bo));
  EXPECT_EQ(a.norm.kind, b.norm.kind);
  EXPECT_TRUE(same_bits(a.norm.gamma, b.norm.gamma));
  EXPECT_TRUE(same_bits(a.norm.beta, b.norm.beta));
  EXPECT_TRUE(same_bits(a.norm.eps, b.norm.eps));
  EXPECT_EQ(a.paper_form, b.paper_form);
}

/// f(X) of THEORY.md §1 from the layer's fields, plain loops in double. X is n×d (tokens as rows).
///   s^h_ij = (W_Q^h x_i + b_Q^h)ᵀ (W_K^h x_j + b_K^h) / sqrt(divisor^h)
///   f(X)_i = Σ_h W_O^h Σ_j P^h_ij (W_V^h x_j + b_V^h) + b_O
inline std::vector<std::vector<double>> theory_forward(const AttentionLayer& L,
                                                       const std::vector<std::vector<double>>& X) {
  const std::size_t n = X.size(), d = static_cast<std::size_t>(L.d);
  std::vector<std::vector<double>> out(n, std::vector<double>(d, 0.0));
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t c = 0; c < d; ++c) out[i][c] = L.bo(static_cast<long>(c));
  for (const Head& H : L.heads) {
    const long dk = H.Wq.rows(), dv = H.Wv.rows();
    auto affine = [&](const Matrix& W, const Vector& b, const std::vector<double>& x) {
      std::vector<double> y(static_cast<std::size_t>(W.rows()));
      for (long r = 0; r < W.rows(); ++r) {
        double s = b(r);
        for (std::size_t c = 0; c < d; ++c) s += W(r, static_cast<long>(c)) * x[c];
        y[static_cast<std::size_t>(r)] = s;
      }
      return y;
    };
    std::vector<std::vector<double>> q, k, v;
    for (const auto& x : X) {
      q.push_back(affine(H.Wq, H.bq, x));
      k.push_back(affine(H.Wk, H.bk, x));
      v.push_back(affine(H.Wv, H.bv, x));
    }
    const double scale = std::sqrt(static_cast<double>(H.logit_divisor));
    for (std::size_t i = 0; i < n; ++i) {
      const std::size_t visible = L.mask == Mask::causal ? i + 1 : n;
      std::vector<double> s(visible);
      double smax = -INFINITY;
      for (std::size_t j = 0; j < visible; ++j) {
        double t = 0;
        for (long r = 0; r < dk; ++r) t += q[i][r] * k[j][r];
        s[j] = t / scale;
        smax = std::max(smax, s[j]);
      }
      double z = 0;
      for (auto& t : s) z += (t = std::exp(t - smax));
      std::vector<double> mix(static_cast<std::size_t>(dv), 0.0);
      for (std::size_t j = 0; j < visible; ++j)
        for (long r = 0; r < dv; ++r) mix[r] += s[j] / z * v[j][r];
      for (std::size_t c = 0; c < d; ++c)
        for (long r = 0; r < dv; ++r) out[i][c] += H.Wo(static_cast<long>(c), r) * mix[r];
    }
  }
  return out;
}

/// max_ij |a - b| / max_ij |b|.
inline double relative_error(const std::vector<std::vector<double>>& a, const std::vector<std::vector<double>>& b) {
  double num = 0, den = 0;
  for (std::size_t i = 0; i < b.size(); ++i)
    for (std::size_t j = 0; j < b[i].size(); ++j) {
      num = std::max(num, std::abs(a[i][j] - b[i][j]));
      den = std::max(den, std::abs(b[i][j]));
    }
  return num / den;
}

/// The ModelError message of f(), or "" if it did not throw ModelError.
template <class F>
std::string model_error(F&& f) {
  try {
    f();
  } catch (const ModelError& e) {
    return e.what();
  }
  return "";
}

}  // namespace attnbound::testing
