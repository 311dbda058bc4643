// attnbound-check-mpi: the BLACS / ScaLAPACK entry points the checker calls (Debian's
// libscalapack-openmpi ABI). Declared here, independently of the engine's src/mpi/.
#pragma once

#include <mpi.h>

namespace attnbound::check::mpi {
extern "C" {
void Cblacs_get(int context, int request, int* value);
int Cblacs_gridinit(int* context, const char* order, int np_row, int np_col);
void Cblacs_gridinfo(int context, int* np_row, int* np_col, int* my_row, int* my_col);
void Cblacs_gridexit(int context);
int numroc_(const int* n, const int* nb, const int* iproc, const int* isrcproc, const int* nprocs);
void descinit_(int* desc, const int* m, const int* n, const int* mb, const int* nb, const int* irsrc,
               const int* icsrc, const int* ictxt, const int* lld, int* info);
void pdgemm_(const char* transa, const char* transb, const int* m, const int* n, const int* k,
             const double* alpha, const double* a, const int* ia, const int* ja, const int* desca,
             const double* b, const int* ib, const int* jb, const int* descb, const double* beta,
             double* c, const int* ic, const int* jc, const int* descc);
void pdpotrf_(const char* uplo, const int* n, double* a, const int* ia, const int* ja, const int* desca,
              int* info);
}
}  // namespace attnbound::check::mpi
