// The process grid, block-cyclic matrices and the reductions the proofs need (scalapack.hpp).
#include "mpi/scalapack.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

#include "core/interval.hpp"

namespace attnbound::mpi {

Grid::Grid() {
  MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
  MPI_Comm_size(MPI_COMM_WORLD, &size_);
  int pr = static_cast<int>(std::sqrt(static_cast<double>(size_)));
  while (pr > 1 && size_ % pr != 0) --pr;
  pc_ = pr;            // the smaller factor
  pr_ = size_ / pr;    // rows >= cols
  Cblacs_get(-1, 0, &ctxt_);
  Cblacs_gridinit(&ctxt_, "Row", pr_, pc_);
  Cblacs_gridinfo(ctxt_, &pr_, &pc_, &myr_, &myc_);
  if (myr_ < 0 || myc_ < 0) throw std::runtime_error("BLACS grid: this rank is not in the grid");
}

Grid::~Grid() {
  if (ctxt_ >= 0) Cblacs_gridexit(ctxt_);
}

DistMatrix::DistMatrix(const Grid& g, long m, long n, int nb) : m_(m), n_(n), nb_(nb) {
  if (m <= 0 || n <= 0 || m > (1L << 30) || n > (1L << 30) || nb <= 0)
    throw std::invalid_argument("DistMatrix: bad size " + std::to_string(m) + " × " + std::to_string(n));
  const int M = static_cast<int>(m), N = static_cast<int>(n), zero = 0;
  prow_ = g.my_row();
  pcol_ = g.my_col();
  nprow_ = g.rows();
  npcol_ = g.cols();
  mloc_ = numroc_(&M, &nb_, &prow_, &zero, &nprow_);
  nloc_ = numroc_(&N, &nb_, &pcol_, &zero, &npcol_);
  lld_ = std::max(1, mloc_);
  int info = 0;
  const int ctxt = g.context();
  descinit_(desc_, &M, &N, &nb_, &nb_, &zero, &zero, &ctxt, &lld_, &info);
  if (info != 0) throw std::runtime_error("descinit failed: info " + std::to_string(info));
  a_.assign(static_cast<std::size_t>(lld_) * static_cast<std::size_t>(std::max(nloc_, 1)), 0.0);
}

long DistMatrix::global_row(int r) const {
  // Local row r lies in local block r / nb, which is global block (r / nb)·P + p.
  return (static_cast<long>(r / nb_) * nprow_ + prow_) * nb_ + r % nb_;
}
long DistMatrix::global_col(int c) const {
  return (static_cast<long>(c / nb_) * npcol_ + pcol_) * nb_ + c % nb_;
}

void DistMatrix::release() { std::vector<double>().swap(a_); }

int choose_block(long d, long N) {
  int best = 1;
  for (long b = 1; b <= std::min<long>(d, 256); ++b)
    if (d % b == 0) best = static_cast<int>(b);
  (void)N;
  return best;
}

namespace {
__attribute__((noinline)) double sum_up_of(const std::vector<double>& v, std::size_t start, std::size_t stride,
                                           std::size_t count) {
  UpwardScope up;
  double s = 0.0;
  for (std::size_t k = 0; k < count; ++k) {
    double x = v[start + k * stride];
    asm volatile("" : "+x"(x), "+x"(s));
    s = s + x;
    asm volatile("" : "+x"(s));
  }
  return s;
}
}  // namespace

double allsum_up(double x) {
  int size = 1;
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  std::vector<double> all(static_cast<std::size_t>(size));
  MPI_Allgather(&x, 1, MPI_DOUBLE, all.data(), 1, MPI_DOUBLE, MPI_COMM_WORLD);
  return sum_up_of(all, 0, 1, all.size());
}

std::vector<double> allsum_up(const std::vector<double>& x) {
  int size = 1;
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  const std::size_t m = x.size();
  std::vector<double> all(m * static_cast<std::size_t>(size));
  MPI_Allgather(x.data(), static_cast<int>(m), MPI_DOUBLE, all.data(), static_cast<int>(m), MPI_DOUBLE,
                MPI_COMM_WORLD);
  std::vector<double> out(m);
  for (std::size_t k = 0; k < m; ++k) out[k] = sum_up_of(all, k, m, static_cast<std::size_t>(size));
  return out;
}

double allmax(double x) {
  double r = x;
  MPI_Allreduce(&x, &r, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
  return r;
}

bool all_true(bool ok) {
  int v = ok ? 1 : 0, r = 0;
  MPI_Allreduce(&v, &r, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
  return r == 1;
}

}  // namespace attnbound::mpi
