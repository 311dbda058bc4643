// Random attention layers and inputs for tests (deterministic per seed).
#pragma once

#include <random>

#include "core/core.hpp"
#include "model/layer.hpp"
#include "region/region.hpp"

namespace attnbound::testing {

struct LayerSpec {
  long d = 3, heads = 1, dk = 2, dv = 2;
  Mask mask = Mask::none;
  bool biases = false;
  bool paper = false;   // paper-form (A, V) layer
  double scale = 0.7;   // weight standard deviation
  long divisor = 0;     // logit divisor (0: dk)
};

inline AttentionLayer random_layer(const LayerSpec& sp, std::mt19937_64& rng) {
  std::normal_distribution<double> g(0.0, sp.scale);
  auto mat = [&](long r, long c) {
    Matrix M(r, c);
    for (long i = 0; i < r; ++i)
      for (long j = 0; j < c; ++j) M(i, j) = g(rng);
    return M;
  };
  auto vec = [&](long r) {
    Vector v = Vector::Zero(r);
    if (sp.biases)
      for (long i = 0; i < r; ++i) v(i) = g(rng);
    return v;
  };
  if (sp.paper) {
    std::vector<Matrix> A, V;
    for (long h = 0; h < sp.heads; ++h) {
      A.push_back(mat(sp.d, sp.d));
      V.push_back(mat(sp.d, sp.d));
    }
    return make_paper_layer(A, V, sp.mask);
  }
  AttentionLayer L;
  L.d = sp.d;
  L.mask = sp.mask;
  for (long h = 0; h < sp.heads; ++h) {
    Head H;
    H.Wq = mat(sp.dk, sp.d);
    H.Wk = mat(sp.dk, sp.d);
    H.Wv = mat(sp.dv, sp.d);
    H.Wo = mat(sp.d, sp.dv);
    H.bq = vec(sp.dk);
    H.bk = vec(sp.dk);
    H.bv = vec(sp.dv);
    H.logit_divisor = sp.divisor ? sp.divisor : sp.dk;
    L.heads.push_back(H);
  }
  L.bo = vec(sp.d);
  L.source = "random test layer";
  L.validate();
  return L;
}

inline Matrix random_tokens(long n, long d, double scale, std::mt19937_64& rng) {
  std::normal_distribution<double> g(0.0, scale);
  Matrix X(n, d);
  for (long i = 0; i < n; ++i)
    for (long a = 0; a < d; ++a) X(i, a) = g(rng);
  return X;
}

/// A random spec covering d 1..16, H 1..4, masks, biases and paper form.
inline LayerSpec random_spec(std::mt19937_64& rng, long dmax = 16, long hmax = 4) {
  LayerSpec sp;
  sp.d = std::uniform_int_distribution<long>(1, dmax)(rng);
  sp.heads = std::uniform_int_distribution<long>(1, hmax)(rng);
  sp.dk = std::uniform_int_distribution<long>(1, std::max<long>(1, sp.d))(rng);
  sp.dv = std::uniform_int_distribution<long>(1, std::max<long>(1, sp.d))(rng);
  sp.mask = rng() % 2 ? Mask::causal : Mask::none;
  sp.biases = rng() % 2;
  sp.paper = rng() % 5 == 0;
  sp.scale = std::uniform_real_distribution<double>(0.2, 1.0)(rng);
  return sp;
}

template <class T>
Mat<T> cast_tokens(const Matrix& X) {
  Mat<T> Y(X.rows(), X.cols());
  for (Eigen::Index i = 0; i < X.rows(); ++i)
    for (Eigen::Index j = 0; j < X.cols(); ++j) Y(i, j) = T(X(i, j));
  return Y;
}

/// A uniformly random point of the box (projected, so exactly inside).
inline Matrix random_point_in(const Box& box, std::mt19937_64& rng) {
  std::uniform_real_distribution<double> u(0.0, 1.0);
  return box.project(box.lo + (box.hi - box.lo).cwiseProduct(
                                  Matrix::NullaryExpr(box.n(), box.d(), [&] { return u(rng); })));
}

}  // namespace attnbound::testing
