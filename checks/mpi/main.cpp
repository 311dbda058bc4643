// attnbound-check-mpi CERT.json [--model SPEC] [--block NB] [--precision BITS] [--quiet]
//   (run as: mpirun -np K build/attnbound-check-mpi CERT.json)
//
// The checker of attnbound-check (checks/checker.cpp) on rank 0, with the upper claim of a
// "distributed" certificate re-derived by every rank together (distributed_upper.cpp): rank 0
// broadcasts the point and the claim, each other rank loads the model itself (the recorded load
// options, as the checker does) and proves with it. Other tiers are checked as by
// attnbound-check. Exit codes as attnbound-check: 0 valid, 1 invalid, 2 unreadable / bad usage.
#include <mpi.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>
#include <sstream>

#include "checker.hpp"
#include "distributed_upper.hpp"
#include "internal.hpp"
#include "model/model.hpp"

namespace {

using namespace attnbound;
using namespace attnbound::check;

const char* kUsage =
    "usage: mpirun -np K attnbound-check-mpi CERT.json [--model SPEC] [--block NB] [--precision BITS] [--quiet]\n"
    "  attnbound-check, with a \"distributed\" upper claim re-derived on all ranks (MPI + ScaLAPACK).\n"
    "Exit: 0 valid, 1 invalid (reason on stderr), 2 unreadable.\n";

/// The layer as the checker loads it (recorded options; a relative path also tried next to the
/// certificate). nullopt (with the reason) if it cannot be loaded or its digest differs.
std::optional<AttentionLayer> load_as_recorded(const std::string& cert_path, const std::string& override_spec,
                                               std::string& why) {
  namespace fs = std::filesystem;
  try {
    std::ifstream in(cert_path, std::ios::binary);
    std::ostringstream ss;
    ss << in.rdbuf();
    const Certificate c = read_certificate(ss.str());
    AttentionLayer layer = load_layer(c, fs::path(cert_path).parent_path().string(), override_spec);
    if (model_digest(layer) != c.sha256) {
      why = "model digest mismatch on a worker rank";
      return std::nullopt;
    }
    return layer;
  } catch (const std::exception& e) {
    why = std::string("a worker rank cannot load the model: ") + e.what();
    return std::nullopt;
  }
}

bool everyone(bool ok) {
  int v = ok ? 1 : 0, r = 0;
  MPI_Allreduce(&v, &r, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
  return r == 1;
}

/// Rank 0 → all: the point and the claim of one distributed check.
void broadcast_job(Matrix& X, double& U) {
  long dims[2] = {X.rows(), X.cols()};
  MPI_Bcast(dims, 2, MPI_LONG, 0, MPI_COMM_WORLD);
  X.resize(dims[0], dims[1]);
  MPI_Bcast(X.data(), static_cast<int>(X.size()), MPI_DOUBLE, 0, MPI_COMM_WORLD);
  MPI_Bcast(&U, 1, MPI_DOUBLE, 0, MPI_COMM_WORLD);
}

}  // namespace

int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  int rank = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  std::vector<std::string> args(argv + 1, argv + argc);
  std::string cert;
  CheckOptions opt;
  bool quiet = false, bad = false;
  int nb = 0;
  for (std::size_t i = 0; i < args.size() && !bad; ++i) {
    const std::string& a = args[i];
    const bool has = i + 1 < args.size();
    if (a == "--model" && has) opt.model_override = args[++i];
    else if (a == "--block" && has) nb = std::atoi(args[++i].c_str());
    else if (a == "--precision" && has) opt.precision = std::atol(args[++i].c_str());
    else if (a == "--quiet") quiet = true;
    else if (!a.empty() && a[0] != '-' && cert.empty()) cert = a;
    else bad = true;
  }
  if (bad || cert.empty() || nb < 0) {
    if (rank == 0) std::cerr << "attnbound-check-mpi: bad usage\n" << kUsage;
    MPI_Finalize();
    return 2;
  }
  int code = 0;
  if (rank == 0) {
    opt.distributed_upper = [&](const AttentionLayer& layer, const Matrix& X0, double U0) {
      int cmd = 1;
      MPI_Bcast(&cmd, 1, MPI_INT, 0, MPI_COMM_WORLD);
      Matrix X = X0;
      double U = U0;
      broadcast_job(X, U);
      if (!everyone(true)) return std::make_pair(false, std::string("a worker rank could not load the model"));
      return mpi::prove_distributed_upper(layer, X, U, nb);
    };
    const CheckResult r = check_file(cert, opt);
    int cmd = 0;
    MPI_Bcast(&cmd, 1, MPI_INT, 0, MPI_COMM_WORLD);
    code = exit_code(r.verdict);
    if (r.verdict == Verdict::valid) {
      if (!quiet) {
        std::cout << "attnbound-check-mpi: valid: " << cert << "\n";
        for (const auto& n : r.notes) std::cout << "  " << n << "\n";
      }
    } else {
      std::cerr << "attnbound-check-mpi: " << (r.verdict == Verdict::invalid ? "invalid: " : "unreadable: ") << r.reason
                << "\n";
    }
  } else {
    std::optional<AttentionLayer> layer;
    std::string why;
    bool tried = false;
    for (;;) {
      int cmd = 0;
      MPI_Bcast(&cmd, 1, MPI_INT, 0, MPI_COMM_WORLD);
      if (cmd == 0) break;
      Matrix X;
      double U = 0;
      broadcast_job(X, U);
      if (!tried) {
        layer = load_as_recorded(cert, opt.model_override, why);
        tried = true;
        if (!layer) std::cerr << "attnbound-check-mpi (rank " << rank << "): " << why << "\n";
      }
      if (!everyone(layer.has_value())) continue;
      MpPrecision prec(std::max<long>(opt.precision, 128));
      (void)mpi::prove_distributed_upper(*layer, X, U, nb);
    }
  }
  MPI_Finalize();
  return code;
}
