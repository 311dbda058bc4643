// The checker's own re-derivation of a distributed upper claim (docs/distributed.md §3).
//
// Independent of the engine's src/mpi: its own Jacobian enclosure (MPFI softmax, directed GEMMs,
// checks/jacobian_fast.cpp), its own grid (Pr <= Pc) and block size, PDGEMM instead of PDSYRK,
// every scalar bound (γ, Rump's shift, the sums gathered from the ranks) in MPFR rounded in the
// safe direction, and the proof at the claim itself: with U' = U − ‖rad‖_F and T <= U'²,
//   T·I − midᵀmid = A + (rI − (midᵀmid − G̃)),  A := T·I − G̃ − rI,
// where r >= ‖G̃ − midᵀmid‖₂ (γ_{N+2}·ρ + 2N²η, docs/linalg.md §1), so A ≻ 0 (Rump's Cholesky
// test with PDPOTRF, docs/linalg.md §3.2 and §3.5) gives ‖mid‖ < U' and sup‖J‖ <= ‖mid‖ + ‖rad‖₂ <= U.
#include "distributed_upper.hpp"

#include <mpfr.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "blacs.hpp"
#include "core/rounding.hpp"
#include "internal.hpp"

namespace attnbound::check::mpi {

namespace {

constexpr double kU = 0x1p-53, kEta = 0x1p-1074;

/// An MPFR number at 256 bits (RAII).
class Mp {
 public:
  Mp() { mpfr_init2(v_, 256); mpfr_set_zero(v_, 1); }
  explicit Mp(double x) { mpfr_init2(v_, 256); mpfr_set_d(v_, x, MPFR_RNDN); }  // exact
  ~Mp() { mpfr_clear(v_); }
  Mp(const Mp&) = delete;
  Mp& operator=(const Mp&) = delete;
  mpfr_ptr get() { return v_; }
  double up() const { return mpfr_get_d(v_, MPFR_RNDU); }
  double down() const { return mpfr_get_d(v_, MPFR_RNDD); }

 private:
  mpfr_t v_;
};

/// Σ x_k rounded up (MPFR; the inputs are doubles, so this is the exact sum rounded once).
double sum_up(const std::vector<double>& x, std::size_t start, std::size_t stride, std::size_t count) {
  Mp s;
  for (std::size_t k = 0; k < count; ++k) mpfr_add_d(s.get(), s.get(), x[start + k * stride], MPFR_RNDU);
  return s.up();
}

/// Every rank's values, entrywise summed upward; identical on every rank.
std::vector<double> gather_sum_up(const std::vector<double>& mine) {
  int size = 1;
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  const std::size_t m = mine.size();
  std::vector<double> all(m * static_cast<std::size_t>(size));
  MPI_Allgather(mine.data(), static_cast<int>(m), MPI_DOUBLE, all.data(), static_cast<int>(m), MPI_DOUBLE,
                MPI_COMM_WORLD);
  std::vector<double> out(m);
  for (std::size_t k = 0; k < m; ++k) out[k] = sum_up(all, k, m, static_cast<std::size_t>(size));
  return out;
}

bool everyone(bool ok) {
  int v = ok ? 1 : 0, r = 0;
  MPI_Allreduce(&v, &r, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
  return r == 1;
}

/// Block-cyclic local storage (ScaLAPACK layout, square blocks nb, source process (0, 0)).
struct Local {
  int mloc = 0, nloc = 0, lld = 1, nb = 1, pr = 1, pc = 1, myr = 0, myc = 0;
  int desc[9]{};
  std::vector<double> a;
  Local(int ctxt, long N, int nb_, int pr_, int pc_, int myr_, int myc_)
      : nb(nb_), pr(pr_), pc(pc_), myr(myr_), myc(myc_) {
    const int n = static_cast<int>(N), zero = 0;
    mloc = numroc_(&n, &nb, &myr, &zero, &pr);
    nloc = numroc_(&n, &nb, &myc, &zero, &pc);
    lld = std::max(1, mloc);
    int info = 0;
    descinit_(desc, &n, &n, &nb, &nb, &zero, &zero, &ctxt, &lld, &info);
    a.assign(static_cast<std::size_t>(lld) * static_cast<std::size_t>(std::max(1, nloc)), 0.0);
  }
  double& at(int r, int c) { return a[static_cast<std::size_t>(c) * lld + r]; }
  long grow(int r) const { return (static_cast<long>(r / nb) * pr + myr) * nb + r % nb; }
  long gcol(int c) const { return (static_cast<long>(c / nb) * pc + myc) * nb + c % nb; }
};

}  // namespace

std::pair<bool, std::string> prove_distributed_upper(const AttentionLayer& layer, const Matrix& X, double U, int nb) {
  const long n = X.rows(), d = X.cols(), N = n * d;
  int size = 1;
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  if (!(U > 0) || !std::isfinite(U)) return {false, "claim.upper is not a positive finite number"};
  // 4(N+2)u < 1/2 for Rump's constants (and N fits ScaLAPACK's int indices).
  if (!(static_cast<double>(N + 2) * kU < 0.125) || N > (1L << 30)) return {false, "n·d too large"};
  // Grid: Pr <= Pc, column-major ranks (the engine uses Pr >= Pc, row-major: any grid is valid).
  int pr = static_cast<int>(std::sqrt(static_cast<double>(size)));
  while (pr > 1 && size % pr != 0) --pr;
  int pc = size / pr, myr = 0, myc = 0, ctxt = -1;
  Cblacs_get(-1, 0, &ctxt);
  Cblacs_gridinit(&ctxt, "Col", pr, pc);
  Cblacs_gridinfo(ctxt, &pr, &pc, &myr, &myc);
  struct GridExit {
    int c;
    ~GridExit() { Cblacs_gridexit(c); }
  } grid_exit{ctxt};
  if (nb <= 0) {
    nb = 1;
    for (long b = 1; b <= std::min<long>(d, 128); ++b)
      if (d % b == 0) nb = static_cast<int>(b);
  }

  // ---- the enclosure, this rank's entries only ------------------------------------------------
  Local M(ctxt, N, nb, pr, pc, myr, myc);
  std::vector<std::vector<std::pair<int, long>>> rows_of(static_cast<std::size_t>(n)), cols_of(static_cast<std::size_t>(n));
  for (int r = 0; r < M.mloc; ++r) rows_of[static_cast<std::size_t>(M.grow(r) / d)].push_back({r, M.grow(r) % d});
  for (int c = 0; c < M.nloc; ++c) cols_of[static_cast<std::size_t>(M.gcol(c) / d)].push_back({c, M.gcol(c) % d});
  double rad2 = 0, mid2 = 0;  // upward sums (the sink runs under upward rounding)
  std::vector<double> colabs(static_cast<std::size_t>(N), 0.0), rowabs(static_cast<std::size_t>(N), 0.0);
  {
    const ForwardState<MpInterval> s = forward_fast(layer, CBox{X, X});
    assemble_jacobian_fast_blocks(
        layer, s,
        [&](long i, long l) { return !rows_of[static_cast<std::size_t>(i)].empty() && !cols_of[static_cast<std::size_t>(l)].empty(); },
        [&](long i, long l, const Matrix& mid, const Matrix& rad) {
          for (const auto& [c, b] : cols_of[static_cast<std::size_t>(l)])
            for (const auto& [r, a] : rows_of[static_cast<std::size_t>(i)]) {
              const double m = mid(a, b), q = rad(a, b);
              M.at(r, c) = m;
              const double am = std::abs(m);
              mid2 += am * am;
              rad2 += q * q;
              colabs[static_cast<std::size_t>(M.gcol(c))] += am;
              rowabs[static_cast<std::size_t>(M.grow(r))] += am;
            }
        });
  }
  double maxabs = 0;
  bool finite = std::isfinite(rad2) && std::isfinite(mid2);
  for (double x : M.a) maxabs = std::max(maxabs, std::abs(x));
  if (!everyone(finite && std::isfinite(maxabs))) return {false, "the Jacobian enclosure is not finite"};
  {
    double all = maxabs;
    MPI_Allreduce(&maxabs, &all, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
    maxabs = all;
  }
  if (maxabs != 0 && (std::ilogb(maxabs) > 300 || std::ilogb(maxabs) < -300))
    return {false, "Jacobian entries outside [2^-300, 2^300] (no rescaling in the MPI checker)"};
  const std::vector<double> sums = gather_sum_up({rad2, mid2});
  const std::vector<double> cols = gather_sum_up(colabs), rows = gather_sum_up(rowabs);

  // ---- scalars in MPFR -------------------------------------------------------------------------
  Mp radF(sums[0]);
  mpfr_sqrt(radF.get(), radF.get(), MPFR_RNDU);
  Mp Up(U);
  mpfr_sub(Up.get(), Up.get(), radF.get(), MPFR_RNDD);  // U' <= U − ‖rad‖_F
  if (mpfr_sgn(Up.get()) <= 0) return {false, "‖rad‖_F >= claim.upper"};
  mpfr_sqr(Up.get(), Up.get(), MPFR_RNDD);
  const double T = Up.down();  // T <= U'²
  // ρ >= ‖|mid|‖₂²: min(‖mid‖_F², ‖mid‖₁‖mid‖∞).
  Mp rho(*std::max_element(cols.begin(), cols.end()));
  mpfr_mul_d(rho.get(), rho.get(), *std::max_element(rows.begin(), rows.end()), MPFR_RNDU);
  if (mpfr_cmp_d(rho.get(), sums[1]) > 0) mpfr_set_d(rho.get(), sums[1], MPFR_RNDU);
  // r = γ_{N+2}·ρ + 2N²η, γ_k = ku/(1 − ku).
  Mp ku(static_cast<double>(N + 2) * kU), den(1.0), r;
  mpfr_sub(den.get(), den.get(), ku.get(), MPFR_RNDD);
  mpfr_div(r.get(), ku.get(), den.get(), MPFR_RNDU);
  mpfr_mul(r.get(), r.get(), rho.get(), MPFR_RNDU);
  Mp under(2.0 * kEta);
  mpfr_mul_d(under.get(), under.get(), static_cast<double>(N), MPFR_RNDU);
  mpfr_mul_d(under.get(), under.get(), static_cast<double>(N), MPFR_RNDU);
  mpfr_add(r.get(), r.get(), under.get(), MPFR_RNDU);

  // ---- G̃ = fl(midᵀmid) by PDGEMM (full matrix; the lower triangle is used) ---------------------
  Local G(ctxt, N, nb, pr, pc, myr, myc);
  {
    RoundingGuard nearest(Rounding::nearest);
    const int nn = static_cast<int>(N), one = 1;
    const double alpha = 1.0, beta = 0.0;
    pdgemm_("T", "N", &nn, &nn, &nn, &alpha, M.a.data(), &one, &one, M.desc, M.a.data(), &one, &one, M.desc,
            &beta, G.a.data(), &one, &one, G.desc);
  }
  std::vector<double>().swap(M.a);
  std::vector<double> gd(static_cast<std::size_t>(N), 0.0);
  bool gfinite = true;
  for (int c = 0; c < G.nloc; ++c)
    for (int rr = 0; rr < G.mloc; ++rr) {
      const double v = G.at(rr, c);
      if (!std::isfinite(v)) gfinite = false;
      if (G.grow(rr) == G.gcol(c)) gd[static_cast<std::size_t>(G.gcol(c))] = v;
    }
  if (!everyone(gfinite)) return {false, "the Gram matrix overflowed"};
  const std::vector<double> g = gather_sum_up(gd);  // exact: one owner per entry, zeros elsewhere

  // ---- diagonal of A = T·I − G̃ − rI and Rump's shift -------------------------------------------
  std::vector<double> lo(static_cast<std::size_t>(N)), hi(static_cast<std::size_t>(N));
  Mp trace, maxdiag, tmp;
  for (long i = 0; i < N; ++i) {
    Mp t(T);
    mpfr_sub_d(tmp.get(), t.get(), g[static_cast<std::size_t>(i)], MPFR_RNDU);
    hi[static_cast<std::size_t>(i)] = tmp.up();
    if (!(hi[static_cast<std::size_t>(i)] >= 0)) return {false, "claim.upper² is below a diagonal entry of midᵀmid"};
    mpfr_add(trace.get(), trace.get(), tmp.get(), MPFR_RNDU);
    if (mpfr_cmp(tmp.get(), maxdiag.get()) > 0) mpfr_set(maxdiag.get(), tmp.get(), MPFR_RNDU);
    mpfr_sub_d(tmp.get(), t.get(), g[static_cast<std::size_t>(i)], MPFR_RNDD);
    mpfr_sub(tmp.get(), tmp.get(), r.get(), MPFR_RNDD);
    lo[static_cast<std::size_t>(i)] = tmp.down();
  }
  // c = (N+2)u/(1 − 2(N+2)u)·tr + 8Nη(2(N+2) + max A_ii)   (docs/linalg.md §3.2)
  Mp kappa, den2(1.0), two_ku;
  mpfr_mul_ui(two_ku.get(), ku.get(), 2, MPFR_RNDU);
  mpfr_sub(den2.get(), den2.get(), two_ku.get(), MPFR_RNDD);
  mpfr_div(kappa.get(), ku.get(), den2.get(), MPFR_RNDU);
  Mp shift;
  mpfr_mul(shift.get(), kappa.get(), trace.get(), MPFR_RNDU);
  Mp b(2.0 * static_cast<double>(N + 2));
  mpfr_add(b.get(), b.get(), maxdiag.get(), MPFR_RNDU);
  mpfr_mul_d(b.get(), b.get(), 8.0 * static_cast<double>(N), MPFR_RNDU);
  mpfr_mul_d(b.get(), b.get(), kEta, MPFR_RNDU);
  mpfr_add(shift.get(), shift.get(), b.get(), MPFR_RNDU);
  std::vector<double> dshift(static_cast<std::size_t>(N));
  for (long i = 0; i < N; ++i) {
    Mp x(lo[static_cast<std::size_t>(i)]);
    mpfr_sub(x.get(), x.get(), shift.get(), MPFR_RNDD);
    dshift[static_cast<std::size_t>(i)] = x.down();
    if (!(dshift[static_cast<std::size_t>(i)] > 0)) return {false, "the claim leaves no room for Rump's shift"};
    if (!(dshift[static_cast<std::size_t>(i)] < 0x1p1000)) return {false, "diagonal too large"};
  }

  // ---- Ã: strictly lower −G̃_ij, diagonal fl_down(lo_i − c); PDPOTRF ------------------------------
  for (int c = 0; c < G.nloc; ++c)
    for (int rr = 0; rr < G.mloc; ++rr) {
      const long gi = G.grow(rr), gj = G.gcol(c);
      double& v = G.at(rr, c);
      v = gi == gj ? dshift[static_cast<std::size_t>(gi)] : -v;  // exact
    }
  int info = 0;
  {
    RoundingGuard nearest(Rounding::nearest);
    const int nn = static_cast<int>(N), one = 1;
    pdpotrf_("L", &nn, G.a.data(), &one, &one, G.desc, &info);
  }
  bool lfinite = true;
  for (int c = 0; c < G.nloc; ++c)
    for (int rr = 0; rr < G.mloc; ++rr)
      if (G.grow(rr) >= G.gcol(c) && !std::isfinite(G.at(rr, c))) lfinite = false;
  if (!everyone(info == 0 && lfinite))
    return {false, "‖J‖ <= " + dec(U) + " not proved: PDPOTRF of claim²·I − midᵀmid − (c + r)I failed (info " +
                       std::to_string(info) + ")"};
  return {true, "distributed re-check on " + std::to_string(size) + " ranks (" + std::to_string(pr) + "×" +
                    std::to_string(pc) + " grid, block " + std::to_string(nb) +
                    "): the checker's own Jacobian enclosure, ‖mid‖² < (claim − ‖rad‖_F)² by PDGEMM Gram + "
                    "Rump's Cholesky test (PDPOTRF), ‖rad‖_F <= " + dec(radF.up())};
}

}  // namespace attnbound::check::mpi
