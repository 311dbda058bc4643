// The dense Jacobian against finite differences, against 200-bit MPFR, and enclosure properties.
#include <gtest/gtest.h>

#include "attention/attention.hpp"
#include "random_layers.hpp"
#include "support.hpp"

using namespace attnbound;
using namespace attnbound::testing;

namespace {

double max_abs(const Matrix& M) { return M.cwiseAbs().maxCoeff(); }

Matrix mid_of(const MpMatrix& M) {
  Matrix R(M.rows(), M.cols());
  for (Eigen::Index i = 0; i < M.rows(); ++i)
    for (Eigen::Index j = 0; j < M.cols(); ++j) R(i, j) = M(i, j).mid_approx();
  return R;
}

// Central differences of the double forward pass, column by column.
Matrix fd_jacobian(const AttentionLayer& L, const Matrix& X, double h) {
  const long n = X.rows(), d = X.cols();
  Matrix J(n * d, n * d);
  for (long l = 0; l < n; ++l)
    for (long b = 0; b < d; ++b) {
      Matrix Xp = X, Xm = X;
      Xp(l, b) += h;
      Xm(l, b) -= h;
      Matrix Yp = forward<double>(L, Xp).Y, Ym = forward<double>(L, Xm).Y;
      Vector col = flatten<double>(Matrix((Yp - Ym) / (2 * h)));
      J.col(l * d + b) = col;
    }
  return J;
}

}  // namespace

TEST(AttentionJacobian, MatchesCentralDifferences) {
  std::mt19937_64 rng(seed(101));
  for (int trial = 0; trial < 60; ++trial) {
    LayerSpec sp = random_spec(rng);
    const long n = std::uniform_int_distribution<long>(1, 12)(rng);
    AttentionLayer L = random_layer(sp, rng);
    Matrix X = random_tokens(n, sp.d, 0.8, rng);
    Matrix J = jacobian<double>(L, forward<double>(L, X));
    Matrix F = fd_jacobian(L, X, 1e-5);
    ASSERT_LE(max_abs(J - F), 1e-6 * std::max(1.0, max_abs(J)))
        << "trial " << trial << " d=" << sp.d << " H=" << sp.heads << " n=" << n
        << " mask=" << to_string(sp.mask) << " biases=" << sp.biases;
  }
}

TEST(AttentionJacobian, MatchesMpfr200Bits) {
  std::mt19937_64 rng(seed(202));
  MpPrecision prec(200);
  for (int trial = 0; trial < 25; ++trial) {
    LayerSpec sp = random_spec(rng, 8, 3);
    const long n = std::uniform_int_distribution<long>(1, 8)(rng);
    AttentionLayer L = random_layer(sp, rng);
    Matrix X = random_tokens(n, sp.d, 0.8, rng);
    Matrix J = jacobian<double>(L, forward<double>(L, X));
    MpMatrix Jm = jacobian<MpInterval>(L, forward<MpInterval>(L, cast_tokens<MpInterval>(X)));
    ASSERT_LE(max_abs(J - mid_of(Jm)), 1e-10 * std::max(1.0, max_abs(J))) << "trial " << trial;
  }
}

TEST(AttentionJacobian, ClosedFormEqualsMultiprecisionDifferences) {
  // Independent of double rounding: 300-bit forward passes, central difference with h = 2^-90
  // (truncation error ~h^2 ~ 1e-54), against the 300-bit closed form.
  std::mt19937_64 rng(seed(303));
  MpPrecision prec(300);
  const MpInterval h(0x1p-90);
  for (int trial = 0; trial < 12; ++trial) {
    LayerSpec sp = random_spec(rng, 3, 2);
    const long n = std::uniform_int_distribution<long>(1, 4)(rng);
    AttentionLayer L = random_layer(sp, rng);
    Matrix X = random_tokens(n, sp.d, 0.8, rng);
    MpMatrix Xm = cast_tokens<MpInterval>(X);
    MpMatrix J = jacobian<MpInterval>(L, forward<MpInterval>(L, Xm));
    for (long l = 0; l < n; ++l)
      for (long b = 0; b < sp.d; ++b) {
        MpMatrix Xp = Xm, Xq = Xm;
        Xp(l, b) += h;
        Xq(l, b) -= h;
        MpMatrix D = forward<MpInterval>(L, Xp).Y - forward<MpInterval>(L, Xq).Y;
        for (long i = 0; i < n; ++i)
          for (long a = 0; a < sp.d; ++a) {
            double fd = (D(i, a) / (MpInterval(2.0) * h)).mid_approx();
            double cf = J(i * sp.d + a, l * sp.d + b).mid_approx();
            ASSERT_NEAR(fd, cf, 1e-25 * std::max(1.0, std::abs(cf)))
                << "trial " << trial << " entry (" << i << "," << a << ")/(" << l << "," << b << ")";
          }
      }
  }
}

TEST(AttentionJacobian, IntervalAndMpEnclosuresContain256BitValue) {
  std::mt19937_64 rng(seed(404));
  for (int trial = 0; trial < 25; ++trial) {
    LayerSpec sp = random_spec(rng, 10, 3);
    const long n = std::uniform_int_distribution<long>(1, 8)(rng);
    AttentionLayer L = random_layer(sp, rng);
    Matrix X = random_tokens(n, sp.d, 1.0, rng);
    MpMatrix Jref;
    {
      MpPrecision prec(256);
      Jref = jacobian<MpInterval>(L, forward<MpInterval>(L, cast_tokens<MpInterval>(X)));
    }
    MpMatrix J128 = jacobian<MpInterval>(L, forward<MpInterval>(L, cast_tokens<MpInterval>(X)));
    UpwardScope up;
    IMatrix Ji = jacobian<Interval>(L, forward<Interval>(L, cast_tokens<Interval>(X)));
    for (Eigen::Index r = 0; r < Ji.rows(); ++r)
      for (Eigen::Index c = 0; c < Ji.cols(); ++c) {
        ASSERT_TRUE(MpInterval(Ji(r, c)).contains(Jref(r, c))) << "Interval misses at " << r << "," << c;
        ASSERT_TRUE(J128(r, c).contains(Jref(r, c))) << "MpInterval misses at " << r << "," << c;
        ASSERT_LE(width_up(Ji(r, c)), 1e-11 * std::max(1.0, mag(Ji(r, c))));
      }
  }
}

TEST(AttentionJacobian, BoxEnclosureContainsInteriorJacobians) {
  std::mt19937_64 rng(seed(505));
  for (int trial = 0; trial < 8; ++trial) {
    LayerSpec sp = random_spec(rng, 4, 2);
    const long n = std::uniform_int_distribution<long>(1, 5)(rng);
    AttentionLayer L = random_layer(sp, rng);
    Matrix C = random_tokens(n, sp.d, 1.0, rng);
    const double eps = std::uniform_real_distribution<double>(1e-4, 5e-2)(rng);
    IMatrix Jbox;
    {
      UpwardScope up;
      IMatrix Xb(n, sp.d);
      for (long i = 0; i < n; ++i)
        for (long a = 0; a < sp.d; ++a) Xb(i, a) = hull(C(i, a) - eps, C(i, a) + eps);
      Jbox = jacobian<Interval>(L, forward<Interval>(L, Xb));
    }
    std::uniform_real_distribution<double> u(-eps, eps);
    for (int p = 0; p < 100; ++p) {
      Matrix X = C;
      for (long i = 0; i < n; ++i)
        for (long a = 0; a < sp.d; ++a) X(i, a) += u(rng);  // inside: |u| <= eps in round-to-nearest
      MpMatrix J = jacobian<MpInterval>(L, forward<MpInterval>(L, cast_tokens<MpInterval>(X)));
      for (Eigen::Index r = 0; r < J.rows(); ++r)
        for (Eigen::Index c = 0; c < J.cols(); ++c)
          ASSERT_TRUE(MpInterval(Jbox(r, c)).contains(J(r, c)))
              << "trial " << trial << " point " << p << " entry " << r << "," << c;
    }
  }
}

TEST(AttentionJacobian, CausalBlocksAboveDiagonalAreExactlyZero) {
  std::mt19937_64 rng(seed(606));
  LayerSpec sp;
  sp.d = 3;
  sp.heads = 2;
  sp.mask = Mask::causal;
  sp.biases = true;
  AttentionLayer L = random_layer(sp, rng);
  Matrix X = random_tokens(5, 3, 1.0, rng);
  Matrix J = jacobian<double>(L, forward<double>(L, X));
  UpwardScope up;
  IMatrix Ji = jacobian<Interval>(L, forward<Interval>(L, cast_tokens<Interval>(X)));
  for (long i = 0; i < 5; ++i)
    for (long l = i + 1; l < 5; ++l)
      for (long a = 0; a < 3; ++a)
        for (long b = 0; b < 3; ++b) {
          ASSERT_EQ(J(i * 3 + a, l * 3 + b), 0.0);
          ASSERT_EQ(Ji(i * 3 + a, l * 3 + b).lower(), 0.0);
          ASSERT_EQ(Ji(i * 3 + a, l * 3 + b).upper(), 0.0);
        }
}

TEST(AttentionJacobian, RowWithOneVisibleKeyIsConstantOverAnyBox) {
  // Token 0 under a causal mask (and every token when n = 1) sees one key: its softmax is exactly
  // 1 and its Jacobian row Σ_h W_O W_V, whatever the input. The enclosure over a wide box must then
  // equal, interval for interval, the enclosure at a point (the deviation terms are exact zeros,
  // not [−w, w]); the same for the JVP's row 0 along any direction. Before the dependency-free
  // deviation form, the box enclosure of this row grew with the box width.
  std::mt19937_64 rng(seed(707));
  for (int trial = 0; trial < 20; ++trial) {
    LayerSpec sp = random_spec(rng, 5, 3);
    sp.mask = Mask::causal;
    const AttentionLayer L = random_layer(sp, rng);
    const long n = std::uniform_int_distribution<long>(1, 4)(rng), d = sp.d;
    const Matrix C = random_tokens(n, d, 1.0, rng), V = random_tokens(n, d, 1.0, rng);
    UpwardScope up;
    IMatrix Xb(n, d);
    for (long i = 0; i < n; ++i)
      for (long a = 0; a < d; ++a) Xb(i, a) = hull(C(i, a) - 0.5, C(i, a) + 0.5);
    const auto sb = forward<Interval>(L, Xb), sc = forward<Interval>(L, cast_tokens<Interval>(C));
    const IMatrix Jb = jacobian<Interval>(L, sb), Jc = jacobian<Interval>(L, sc);
    for (long a = 0; a < d; ++a)
      for (long c = 0; c < n * d; ++c) {
        ASSERT_EQ(Jb(a, c).lower(), Jc(a, c).lower()) << "trial " << trial << " entry " << a << "," << c;
        ASSERT_EQ(Jb(a, c).upper(), Jc(a, c).upper()) << "trial " << trial << " entry " << a << "," << c;
      }
    // The JVP's row 0 over the box: Σ_h W_O W_V v_0 with no softmax term, so its width is that of
    // the point evaluation (the directed products of the same exact numbers).
    const IMatrix hb = jvp<Interval>(L, sb, cast_tokens<Interval>(V)), hc = jvp<Interval>(L, sc, cast_tokens<Interval>(V));
    for (long a = 0; a < d; ++a) {
      ASSERT_EQ(hb(0, a).lower(), hc(0, a).lower()) << "trial " << trial;
      ASSERT_EQ(hb(0, a).upper(), hc(0, a).upper()) << "trial " << trial;
    }
  }
}
