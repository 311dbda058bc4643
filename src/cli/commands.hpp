// Internal to the CLI: the options of each subcommand and the functions that run them.
#pragma once

#include <CLI/CLI.hpp>
#include <iosfwd>
#include <optional>
#include <string>
#include <vector>

#include "certificate/certificate.hpp"
#include "model/model.hpp"

namespace attnbound::cli {

/// Options shared by every command that reads a model.
struct ModelArgs {
  std::string spec;
  std::string arch;
  int layer = 0;
  std::vector<int> heads;
  std::uint64_t seed = 0;
  std::string mask;  // "" = the model's own
  int n_heads = 0;

  void add_to(CLI::App& app);
  /// Loads the layer (ModelError on failure).
  AttentionLayer load(bool need_norm = false) const;
};

/// A certificate record carrying what every certify run records alike: the model as the user named
/// it and this build's identity (version, git revision, code generation). The caller adds the
/// region, bracket, tolerance and status.
CertifyRecord certificate_record(const ModelArgs& m, const AttentionLayer& layer);

struct CertifyArgs {
  ModelArgs model;
  std::string point, center, box, cert;
  std::optional<double> eps, radius;
  std::optional<double> l2;  // --l2 RHO: per-token ℓ2 region around --center
  std::optional<long> n;
  bool layernorm = false;
  double tol = 1e-6;
  double time_limit = 0.0;
  int threads = 0;
  bool json = false;
  /// Testing only (no command-line flag): halves the bracket's upper bound before the certificate
  /// is built, so that its claim is false; the in-process check must then refuse to write it.
  bool testing_corrupt_upper = false;
};

struct WitnessArgs {
  ModelArgs model;
  long n = 0;
  double radius = 0.0;
  std::string kind = "lb1";  // lb1 | cluster | balanced | ascent
  int head = 0;
  std::string out;
  bool json = false;
};

struct InfoArgs {
  ModelArgs model;
  bool json = false;
};

/// `attnbound theorems` (proofs/theorems.hpp): every THEORY.md statement on B_R^n with a verdict.
struct TheoremsArgs {
  ModelArgs model;
  std::optional<long> n;
  std::optional<double> radius;
  bool layernorm = false;         // R from the model's LayerNorm/RMSNorm instead of --radius
  double tol = 1e-3;              // branch-and-bound tolerance of the bracket
  double time_limit = 10.0;       // seconds for the bracket's branch-and-bound
  int threads = 0;
  double search_seconds = 1.0;    // approximate U-local counterexample search (0 = none)
  std::uint64_t search_seed = 1;
  bool json = false;
};

/// `attnbound sweep` (proofs/theorems.hpp): bounds across n on a grid, CSV + gnuplot plot.
struct SweepArgs {
  ModelArgs model;
  std::optional<double> radius;
  bool layernorm = false;
  long n_min = 2, n_max = 1000000;
  int points = 25;                // log grid size
  long step = 0;                  // > 0: linear grid n_min, n_min + step, ... ≤ n_max
  std::optional<long> head;       // witnesses from this head only
  double time_limit = 120.0;      // seconds for masked layers' rigorous lower bounds
  double ball_time = 0.0;         // branch-and-bound seconds per n for a certified upper (n·d ≤ 96)
  long fit_n_max = 100;
  std::string out = "sweep";      // writes OUT.csv, OUT.gp and OUT.png / OUT.svg
  std::string format = "png";     // png | svg
  bool no_plot = false;
  bool json = false;
};

int run_certify(const CertifyArgs& a, std::ostream& out, std::ostream& err);
int run_witness(const WitnessArgs& a, std::ostream& out, std::ostream& err);
int run_info(const InfoArgs& a, std::ostream& out, std::ostream& err);
int run_theorems(const TheoremsArgs& a, std::ostream& out, std::ostream& err);
int run_sweep(const SweepArgs& a, std::ostream& out, std::ostream& err);

/// Threads to use: the request, or all cores for 0.
int resolve_threads(int requested);

/// Writes `text` to `path` atomically (temporary file + rename); InputError if it cannot.
void write_file_atomic(const std::string& path, const std::string& text);

/// InputError unless a file can be created next to `path`; `path` itself is not touched.
void require_writable_path(const std::string& path);

}  // namespace attnbound::cli
