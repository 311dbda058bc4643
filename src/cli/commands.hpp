// Internal to the CLI: the options of each subcommand and the functions that run them.
#pragma once

#include <CLI/CLI.hpp>
#include <iosfwd>
#include <optional>
#include <string>
#include <vector>

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

struct CertifyArgs {
  ModelArgs model;
  std::string point, center, box, cert;
  std::optional<double> eps, radius;
  std::optional<long> n;
  bool layernorm = false;
  double tol = 1e-6;
  double time_limit = 0.0;
  int threads = 0;
  bool json = false;
};

struct WitnessArgs {
  ModelArgs model;
  long n = 0;
  double radius = 0.0;
  std::string kind = "lb1";  // lb1 | cluster | ascent
  int head = 0;
  std::string out;
  bool json = false;
};

struct InfoArgs {
  ModelArgs model;
  bool json = false;
};

int run_certify(const CertifyArgs& a, std::ostream& out, std::ostream& err);
int run_witness(const WitnessArgs& a, std::ostream& out, std::ostream& err);
int run_info(const InfoArgs& a, std::ostream& out, std::ostream& err);

/// Threads to use: the request, or all cores for 0.
int resolve_threads(int requested);

/// Writes `text` to `path` atomically (temporary file + rename); InputError if it cannot.
void write_file_atomic(const std::string& path, const std::string& text);

}  // namespace attnbound::cli
