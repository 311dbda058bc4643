// attnbound/mpi — the distributed point tier (docs/distributed.md). Not one of the default
// libraries: it is built only when CMake finds MPI and ScaLAPACK, into `build/attnbound-mpi`.
//
// This header: the few BLACS / ScaLAPACK entry points we call (their C/Fortran ABI as shipped by
// Debian's libscalapack-openmpi), and a block-cyclic distributed matrix. ScaLAPACK is trusted only
// to do arithmetic whose error the a-priori bounds of docs/linalg.md §1 cover (ASSUMPTIONS.md,
// "MPI and ScaLAPACK"); every claim is then verified by a successful Cholesky.
#pragma once

#include <mpi.h>

#include <functional>
#include <vector>

namespace attnbound::mpi {

extern "C" {
void Cblacs_pinfo(int* mypnum, int* nprocs);
void Cblacs_get(int context, int request, int* value);
int Cblacs_gridinit(int* context, const char* order, int np_row, int np_col);
void Cblacs_gridinfo(int context, int* np_row, int* np_col, int* my_row, int* my_col);
void Cblacs_gridexit(int context);
int numroc_(const int* n, const int* nb, const int* iproc, const int* isrcproc, const int* nprocs);
void descinit_(int* desc, const int* m, const int* n, const int* mb, const int* nb, const int* irsrc,
               const int* icsrc, const int* ictxt, const int* lld, int* info);
void pdsyrk_(const char* uplo, const char* trans, const int* n, const int* k, const double* alpha,
             const double* a, const int* ia, const int* ja, const int* desca, const double* beta,
             double* c, const int* ic, const int* jc, const int* descc);
void pdpotrf_(const char* uplo, const int* n, double* a, const int* ia, const int* ja, const int* desca,
              int* info);
}

/// A Pr × Pc BLACS process grid over MPI_COMM_WORLD (row-major ranks), as square as the rank
/// count allows (Pr >= Pc). RAII: the grid is released on destruction (MPI itself is not).
class Grid {
 public:
  Grid();
  ~Grid();
  Grid(const Grid&) = delete;
  Grid& operator=(const Grid&) = delete;
  int context() const { return ctxt_; }
  int rows() const { return pr_; }
  int cols() const { return pc_; }
  int my_row() const { return myr_; }
  int my_col() const { return myc_; }
  int rank() const { return rank_; }
  int size() const { return size_; }

 private:
  int ctxt_ = -1, pr_ = 1, pc_ = 1, myr_ = 0, myc_ = 0, rank_ = 0, size_ = 1;
};

/// The local part of an m × n matrix (square by default) distributed block-cyclically with square
/// nb × nb blocks from process (0, 0), column-major with leading dimension lld (ScaLAPACK's layout).
class DistMatrix {
 public:
  DistMatrix(const Grid& g, long n, int nb) : DistMatrix(g, n, n, nb) {}
  DistMatrix(const Grid& g, long m, long n, int nb);
  long m() const { return m_; }
  long n() const { return n_; }
  int nb() const { return nb_; }
  int local_rows() const { return mloc_; }
  int local_cols() const { return nloc_; }
  const int* desc() const { return desc_; }
  double* data() { return a_.data(); }
  const double* data() const { return a_.data(); }
  double& local(int r, int c) { return a_[static_cast<std::size_t>(c) * lld_ + r]; }
  double local(int r, int c) const { return a_[static_cast<std::size_t>(c) * lld_ + r]; }
  /// Global index of a local row / column (0-based).
  long global_row(int r) const;
  long global_col(int c) const;
  /// Frees the storage (the descriptor stays valid for size queries).
  void release();

 private:
  long m_, n_;
  int nb_, mloc_, nloc_, lld_;
  int desc_[9];
  int prow_, pcol_, nprow_, npcol_;
  std::vector<double> a_;
};

/// The block size: the largest divisor of d that is <= 256 and, when possible, >= 32 — so every
/// ScaLAPACK block lies inside one token's d × d block. Any nb is correct; this one is efficient.
int choose_block(long d, long N);

/// Upward-rounded sum of one double per rank, in rank order, identical on every rank. The
/// values travel by MPI_Allgather (an exact copy) and are added here under upward rounding, so
/// the result is >= the exact sum (MPI_Allreduce would add in round-to-nearest).
double allsum_up(double x);
/// The same, entrywise, for vectors of equal length on every rank.
std::vector<double> allsum_up(const std::vector<double>& x);
/// max over ranks (exact).
double allmax(double x);
/// True on every rank iff `ok` on every rank.
bool all_true(bool ok);

}  // namespace attnbound::mpi
