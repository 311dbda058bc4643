// first_order_subspace_check: the checker's re-derivation of the centred subspace form of the
// first-order tier (docs/box.md §3b, (E13)–(E14)).
//
// Independent of src/bound/: the Jacobian at the centre is the checker's own enclosure
// (forward_fast + assemble_jacobian_fast, via JacobianCache), every product with it is a directed
// GEMM of the checker (the HiLo convention of hilo.hpp), the norms are linalg's verified ones, the
// scalar assembly is MPFI. Only the gradients ∇h_ab(c) come from the shared attention templates
// (forward / vjp on Dual<Interval>), as docs/box.md §3b allows.
#include <algorithm>
#include <cmath>
#include <exception>
#include <mutex>
#include <thread>

#include "hilo.hpp"
#include "internal.hpp"
#include "linalg/linalg.hpp"

namespace attnbound::check {

namespace {

using namespace hilo;

/// sup |x| over an interval (Boost endpoints; the upper endpoint of |x|).
inline double mag(const Interval& x) { return std::max(-x.lower(), x.upper()); }

}  // namespace

SubspaceCheck first_order_subspace_check(const AttentionLayer& layer, const Matrix& c, const MidRad& Jc,
                                         const std::vector<Matrix>& V, const Matrix& r, double rho, bool l2,
                                         double E, double R2, unsigned mutation) {
  const long n = c.rows(), d = c.cols(), N = n * d, k = static_cast<long>(V.size());
  SubspaceCheck out;
  if (k < 1 || k > kMaxSubspace) throw Invalid("subspace form: " + std::to_string(k) + " vectors (expected 1 to " +
                                               std::to_string(kMaxSubspace) + ")");
  for (const Matrix& v : V)
    if (v.rows() != n || v.cols() != d || !v.allFinite()) throw Invalid("subspace form: a vector is not a finite n × d matrix");
  if (Jc.mid.rows() != N || Jc.mid.cols() != N) throw Invalid("subspace form: the centre's Jacobian has the wrong shape");
  if (!l2 && (r.rows() != n || r.cols() != d)) throw Invalid("subspace form: the box radii have the wrong shape");
  if (!(E >= 0) || !(R2 >= 0)) throw Invalid("subspace form: E' or R2' is not a number >= 0");

  // V (N × k): column b is vector b flattened row-major (index i·d + a), as the Jacobian's columns.
  Matrix Vm(N, k);
  for (long b = 0; b < k; ++b)
    for (long i = 0; i < n; ++i)
      for (long a = 0; a < d; ++a) Vm(i * d + a, b) = V[static_cast<std::size_t>(b)](i, a);
  const Matrix negV = -Vm, absV = Vm.cwiseAbs();

  if (!Jc.mid.allFinite() || !Jc.rad.allFinite()) {
    out.why = "the centre's Jacobian enclosure is not finite";
    return out;
  }

  UpwardScope up;
  // f >= ‖VᵀV − I‖_F: VᵀV ∈ [−(−V)ᵀV, VᵀV] (both upward).
  {
    Matrix G, nG;
    G.noalias() = Vm.transpose() * Vm;
    nG.noalias() = negV.transpose() * Vm;
    double f2 = 0.0;
    for (long a = 0; a < k; ++a)
      for (long b = 0; b < k; ++b) {
        const double one = a == b ? 1.0 : 0.0;
        const double m = std::max(G(a, b) - one, nG(a, b) + one);
        f2 += m * m;
      }
    out.f = std::sqrt(f2);
  }
  if (!(out.f < 1.0)) {
    out.why = "the vectors are not near-orthonormal (‖VᵀV − I‖_F <= " + dec(out.f) + " not < 1)";
    return out;
  }

  // W = J(c) V ∈ [−Wnlo, Whi]: mid·V ± rad·|V|.
  HiLo W;
  {
    Matrix rad;
    W.hi.noalias() = Jc.mid * Vm;
    W.nlo.noalias() = Jc.mid * negV;
    rad.noalias() = Jc.rad * absV;
    W.hi += rad;
    W.nlo += rad;
  }
  Matrix Wm, Wr;
  mid_rad(W, Wm, Wr);
  out.w_norm = norm2_upper(MidRad{Wm, Wr}).value();

  // ‖J(c) − W Vᵀ‖ over both enclosures: hi = Jhi + (−Wm)Vᵀ + Wr|V|ᵀ, nlo = Jnlo + Wm Vᵀ + Wr|V|ᵀ,
  // accumulated in place (two N × N buffers besides J(c): N may reach kDenseLimit).
  {
    Matrix hi = Jc.mid + Jc.rad, nlo = Jc.rad - Jc.mid;
    const Matrix negWm = -Wm, absVt = absV.transpose(), Vt = Vm.transpose();
    hi.noalias() += Wr * absVt;
    nlo.noalias() += Wr * absVt;
    hi.noalias() += negWm * Vt;
    nlo.noalias() += Wm * Vt;
    // Midpoint (any double) and a proved radius, in place (hilo::mid_rad entry by entry).
    for (Eigen::Index e = 0; e < hi.size(); ++e) {
      const double h = hi.data()[e], l = nlo.data()[e];
      const double m = (h - l) * 0.5;
      hi.data()[e] = m;
      nlo.data()[e] = std::max(h - m, m + l);
    }
    out.j_minus = norm2_upper(MidRad{std::move(hi), std::move(nlo)}).value();
  }

  // c_0 >= ‖J(c)ᵀW − V Y‖ with Y = Vᵀ mid(J(c)ᵀW) (any exact k × k matrix).
  {
    HiLo Z;
    Matrix R, t;
    const Matrix negWm = -Wm;
    Z.hi.noalias() = Jc.mid.transpose() * Wm;
    Z.nlo.noalias() = Jc.mid.transpose() * negWm;
    t = Wm.cwiseAbs() + Wr;
    R.noalias() = Jc.rad.transpose() * t;
    // |J_mid|ᵀ Wr by row blocks (no N × N copy of |J_mid|).
    for (long r0 = 0; r0 < N; r0 += 256) {
      const long rows = std::min(256L, N - r0);
      const Matrix absJ = Jc.mid.middleRows(r0, rows).cwiseAbs();
      R.noalias() += absJ.transpose() * Wr.middleRows(r0, rows);
    }
    Z.hi += R;
    Z.nlo += R;
    Matrix Y;
    {
      RoundingGuard nearest(Rounding::nearest);
      Y = Vm.transpose() * ((Z.hi - Z.nlo) * 0.5);
    }
    const Matrix negY = -Y;
    t.noalias() = Vm * negY;
    Z.hi += t;
    t.noalias() = Vm * Y;
    Z.nlo += t;
    Matrix Cm, Cr;
    mid_rad(Z, Cm, Cr);
    out.c0 = (mutation & 2u) ? 0.0 : norm2_upper(MidRad{std::move(Cm), std::move(Cr)}).value();
  }

  // (E13) ∇h_ab(c) = d/dt J(c + t v_b)ᵀ w_a: one Dual<Interval> forward per b (tangent v_b at the
  // point c), one VJP per a with the enclosure of column a of W as cotangent (zero tangent); the
  // derivative part encloses the gradient for every w_a in the enclosure, the true W among them.
  std::vector<std::vector<IMatrix>> grad(static_cast<std::size_t>(k), std::vector<IMatrix>(static_cast<std::size_t>(k)));
  {
    std::vector<Mat<Dual<Interval>>> cot(static_cast<std::size_t>(k), Mat<Dual<Interval>>(n, d));
    for (long a = 0; a < k; ++a)
      for (long i = 0; i < n; ++i)
        for (long e = 0; e < d; ++e) {
          const long row = i * d + e;
          cot[static_cast<std::size_t>(a)](i, e) = Dual<Interval>(Interval(-W.nlo(row, a), W.hi(row, a)));
        }
    std::mutex mu;
    std::exception_ptr failure;
    long next = 0;
    auto work = [&] {
      UpwardScope upw;
      for (;;) {
        long b;
        {
          std::lock_guard<std::mutex> lk(mu);
          if (failure || next >= k) return;
          b = next++;
        }
        try {
          Mat<Dual<Interval>> XD(n, d);
          for (long i = 0; i < n; ++i)
            for (long e = 0; e < d; ++e)
              XD(i, e) = Dual<Interval>(Interval(c(i, e)), Interval(V[static_cast<std::size_t>(b)](i, e)));
          const ForwardState<Dual<Interval>> sD = forward<Dual<Interval>>(layer, XD);
          for (long a = 0; a < k; ++a) {
            const Mat<Dual<Interval>> gD = vjp<Dual<Interval>>(layer, sD, cot[static_cast<std::size_t>(a)]);
            IMatrix G(n, d);
            for (long i = 0; i < n; ++i)
              for (long e = 0; e < d; ++e) G(i, e) = gD(i, e).d;
            grad[static_cast<std::size_t>(a)][static_cast<std::size_t>(b)] = std::move(G);
          }
        } catch (...) {
          std::lock_guard<std::mutex> lk(mu);
          if (!failure) failure = std::current_exception();
        }
      }
    };
    const int T = static_cast<int>(std::max(1L, std::min<long>(LinalgThreads::current(), k)));
    std::vector<std::thread> pool;
    for (int t = 1; t < T; ++t) pool.emplace_back(work);
    work();
    for (auto& th : pool) th.join();
    if (failure) std::rethrow_exception(failure);
  }
  // t_lin = (Σ_ab φ(g_ab)²)^{1/2}, g_ab = (∇h_ab + ∇h_ba)/2, φ summed over tokens.
  {
    double s = 0.0;
    for (long a = 0; a < k; ++a)
      for (long b = a; b < k; ++b) {
        const IMatrix& x = grad[static_cast<std::size_t>(a)][static_cast<std::size_t>(b)];
        const IMatrix& y = grad[static_cast<std::size_t>(b)][static_cast<std::size_t>(a)];
        double phi = 0.0;
        for (long i = 0; i < n; ++i) {
          double row = 0.0;
          for (long e = 0; e < d; ++e) {
            const double g = mag((x(i, e) + y(i, e)) * Interval(0.5));
            row += l2 ? g * g : g * r(i, e);
          }
          phi += l2 ? rho * std::sqrt(row) : row;
        }
        s += (a == b ? 1.0 : 2.0) * (phi * phi);
      }
    out.t_lin = (mutation & 1u) ? 0.0 : std::sqrt(s);
  }

  // (E14) in MPFI from the upper bounds (the top eigenvalue is increasing in μ, β, ν, and each of
  // them in every input but f, through which they increase too).
  const MpInterval F(out.f), Wn(out.w_norm), Ee(E), Rr(R2), Tl(out.t_lin), C0(out.c0), Jm(out.j_minus);
  const MpInterval g = MpInterval(1) - F;
  if (!certainly_positive(g)) {
    out.why = "g = 1 − f is not proved positive";
    return out;
  }
  const MpInterval s1f = sqrt(MpInterval(1) + F);
  const MpInterval lam = (Jm + Wn * s1f * F / g).upper_point();
  out.lambda_perp = lam.upper_up();
  const MpInterval E2 = square(Ee);
  const MpInterval mu = ((square(Wn) + MpInterval(2) * Tl + MpInterval(2) * Wn * s1f * Rr) / g + E2).upper_point();
  const MpInterval beta = ((C0 + Ee * Wn) / sqrt(g) + lam * Ee + E2).upper_point();
  const MpInterval nu = square(lam + Ee).upper_point();
  const MpInterval half(0.5);
  const MpInterval top = (mu + nu) * half + sqrt(square((mu - nu) * half) + square(beta));
  out.bound = sqrt(top.upper_point()).upper_up();
  return out;
}

}  // namespace attnbound::check
