// `attnbound-mpi`: the distributed point tier on MPI + ScaLAPACK (docs/distributed.md).
//
//   mpirun -np K build/attnbound-mpi certify --model SPEC --point FILE [--cert OUT.json] [--json]
//                                            [--block NB] [--tol T] [model options as attnbound]
//
// Every rank parses the same arguments and reads the same files; rank 0 prints and writes the
// certificate (tier "distributed"). Exit codes as `attnbound certify`: 0 bracket meets --tol,
// 3 it does not (still valid), 2 bad input (one line on stderr, from rank 0), 4 internal error.
#include <mpi.h>

#include <cstdlib>
#include <iostream>
#include <sstream>

#include "certificate/certificate.hpp"
#include "cli/cli.hpp"
#include "cli/commands.hpp"
#include "cli/inputs.hpp"
#include "cli/report.hpp"
#include "linalg/detail.hpp"
#include "model/model.hpp"
#include "mpi/distributed.hpp"

namespace {

using namespace attnbound;

struct Args {
  cli::ModelArgs model;
  std::string point, cert;
  double tol = 1e-6;
  int block = 0;
  bool json = false;
};

/// The peak resident memory of every rank, gathered on all ranks (bytes).
std::vector<double> gather_peaks() {
  int size = 1;
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  const double mine = mpi::peak_rss_bytes();
  std::vector<double> all(static_cast<std::size_t>(size));
  MPI_Allgather(&mine, 1, MPI_DOUBLE, all.data(), 1, MPI_DOUBLE, MPI_COMM_WORLD);
  return all;
}

int certify(const Args& a, int rank, int size) {
  if (a.tol <= 0 || !std::isfinite(a.tol)) throw cli::InputError("--tol must be a positive finite number");
  if (a.block < 0) throw cli::InputError("--block must be >= 0");
  mpi::DistributedOptions opt;
  opt.block = a.block;
  if (rank == 0 && !a.cert.empty()) cli::require_writable_path(a.cert);
  const AttentionLayer layer = a.model.load();
  const Matrix X = cli::read_tokens(a.point, layer.d);
  if (X.rows() * X.cols() > (1L << 30)) throw cli::InputError("n·d is too large for one ScaLAPACK matrix");

  mpi::Grid grid;
  const Bracket b = mpi::certify_point_distributed(grid, layer, X, opt);
  const std::vector<double> peaks = gather_peaks();
  // Only rank 0 holds the lower side: its verdict is everyone's exit code.
  int ok_int = b.meets(a.tol) ? 1 : 0;
  MPI_Bcast(&ok_int, 1, MPI_INT, 0, MPI_COMM_WORLD);
  const bool ok = ok_int == 1;
  if (rank != 0) return ok ? cli::kExitOk : cli::kExitBudget;
  const Region region = Box::point(X);
  if (!a.cert.empty()) {
    // The same record as `attnbound certify` writes (it used to miss tool.build here).
    CertifyRecord rec = cli::certificate_record(a.model, layer);
    rec.region = region;
    rec.bracket = b;
    rec.tol = a.tol;
    rec.status = ok ? "ok" : "budget";
    write_certificate(a.cert, rec);
  }
  cli::Report r{"certify", a.model.spec, model_digest(layer), describe(region), ok ? "ok" : "budget", a.cert,
                a.tol, &b, std::nullopt};
  double peak_max = 0;
  for (double p : peaks) peak_max = std::max(peak_max, p);
  if (a.json) {
    nlohmann::json j = cli::report_json(r);
    j["ranks"] = size;
    j["peak_rss_bytes"] = peaks;  // per rank (getrusage ru_maxrss)
    std::cout << j.dump() << "\n";
  } else {
    cli::print_report(r, std::cout);
    std::cout << "ranks: " << size << ", peak memory per rank (max): " << peak_max / 1048576.0 << " MiB\n";
  }
  return ok ? cli::kExitOk : cli::kExitBudget;
}

}  // namespace

int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  int rank = 0, size = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  CLI::App app{"attnbound-mpi: the distributed point tier (MPI + ScaLAPACK)"};
  app.require_subcommand(1);
  Args a;
  CLI::App* c = app.add_subcommand("certify", "certified bracket of ‖J(X)‖ at a point, dense, on all ranks");
  a.model.add_to(*c);
  c->add_option("--point", a.point, "n×d token file")->required();
  c->add_option("--cert", a.cert, "write a certificate (tier \"distributed\")");
  c->add_option("--tol", a.tol, "relative gap that counts as ok (exit 0)");
  c->add_option("--block", a.block, "ScaLAPACK block size (0 = the largest divisor of d <= 256)");
  c->add_flag("--json", a.json, "one JSON object on stdout");
  int code = 0;
  try {
    try {
      app.parse(argc, argv);
    } catch (const CLI::CallForHelp& e) {
      if (rank == 0) app.exit(e);
      MPI_Finalize();
      return 0;
    } catch (const CLI::ParseError& e) {
      throw cli::InputError(e.what());
    }
    attnbound::detail::require_gradual_underflow("attnbound-mpi");
    code = certify(a, rank, size);
  } catch (const cli::InputError& e) {
    if (rank == 0) std::cerr << "attnbound-mpi: " << e.what() << "\n";
    code = cli::kExitBadInput;
  } catch (const ModelError& e) {
    if (rank == 0) std::cerr << "attnbound-mpi: " << e.what() << "\n";
    code = cli::kExitBadInput;
  } catch (const std::exception& e) {
    std::cerr << "attnbound-mpi (rank " << rank << "): internal error: " << e.what() << "\n";
    MPI_Abort(MPI_COMM_WORLD, cli::kExitInternal);
  }
  MPI_Finalize();
  return code;
}
