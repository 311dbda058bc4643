// attnbound-structured-bench: the structured point tier at GPT-2 scale (issue 8).
//
//   attnbound-structured-bench [--model SPEC] [--n-max N] [--ns 16,64,...] [--families lb1,random,clustered]
//                              [--threads K] [--seed S] [--radius R]
//
// For every n and input family it runs certify_point (structured above n·d = kDensePointLimit)
// in a forked child, so that the wall time and the peak RSS (getrusage ru_maxrss of the child)
// belong to that case alone, and prints one table row: certified lower, certified upper, their
// ratio, the float estimate, the three structured variants, time and memory.
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "bound/bound.hpp"
#include "input_families.hpp"
#include "model/model.hpp"

using namespace attnbound;
using bench::family_input;

namespace {

struct Row {
  double lower, upper, estimate, block, split, gram, factored, head_gram, seconds;
};

}  // namespace

int main(int argc, char** argv) {
  std::string spec = "builtin:gpt2-init";
  long n_max = 1024;
  std::vector<long> ns = {16, 64, 256, 1024};
  std::vector<std::string> fams = bench::kFamilies;
  int threads = 2;
  std::uint64_t seed = 1;
  double R = 100.0;
  CLI::App app{"attnbound-structured-bench — the structured point tier at GPT-2 scale"};
  app.add_option("--model", spec, "Model SPEC (default builtin:gpt2-init)");
  app.add_option("--n-max", n_max, "Skip sequence lengths above this (default 1024)");
  app.add_option("--ns", ns, "Sequence lengths, comma-separated")->delimiter(',');
  app.add_option("--families", fams, "Input families, comma-separated")
      ->delimiter(',')
      ->check(CLI::IsMember(bench::kFamilies));
  app.add_option("--threads", threads, "Worker threads (default 2)");
  app.add_option("--seed", seed, "Seed of the random families (default 1)");
  app.add_option("--radius", R, "Token-norm radius R (default 100)");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  const AttentionLayer L = load_model(spec, LoadOptions{});
  std::printf("model %s: d = %ld, %ld heads, mask %s; R = %g, threads %d\n", spec.c_str(), L.d,
              L.n_heads(), to_string(L.mask), R, threads);
  std::printf("%6s %-10s %12s %12s %7s %12s %9s %9s %9s %9s %9s %8s %8s\n", "n", "family", "lower", "upper",
              "ratio", "estimate", "block", "split", "gram", "factored", "head-gram", "time_s", "rss_MB");
  std::fflush(stdout);
  for (const long n : ns) {
    if (n > n_max) continue;
    for (const std::string& fam : fams) {
      int fd[2];
      if (pipe(fd) != 0) return 1;
      const auto t0 = std::chrono::steady_clock::now();
      const pid_t pid = fork();
      if (pid == 0) {
        close(fd[0]);
        Row r{};
        try {
          const Matrix X = family_input(L, fam, n, R, seed);
          CertifyOptions opt;
          opt.threads = threads;
          const Bracket b = certify_point(L, X, opt);
          r.lower = b.lower.value();
          r.upper = b.upper.value();
          r.estimate = b.estimate.value();
          r.seconds = b.seconds;
          // The variants, re-run only to report them (cheap next to the Lanczos estimate).
          StructuredOptions so;
          so.threads = threads;
          if (n * L.d > kDensePointLimit) {
            const StructuredBound sb = structured_upper(L, X, so);
            r.block = sb.block;
            r.split = sb.split;
            r.gram = sb.gram;
            r.factored = sb.factored;
            r.head_gram = sb.head_gram;
          }
        } catch (const std::exception& e) {
          std::fprintf(stderr, "n = %ld %s: %s\n", n, fam.c_str(), e.what());
          r.lower = r.upper = std::nan("");
        }
        if (write(fd[1], &r, sizeof r) != static_cast<ssize_t>(sizeof r)) _exit(1);
        _exit(0);
      }
      close(fd[1]);
      Row r{};
      const bool got = read(fd[0], &r, sizeof r) == static_cast<ssize_t>(sizeof r);
      close(fd[0]);
      int status = 0;
      struct rusage ru {};
      wait4(pid, &status, 0, &ru);
      const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      if (!got) {
        std::printf("%6ld %-10s  failed (child status %d)\n", n, fam.c_str(), status);
        continue;
      }
      std::printf("%6ld %-10s %12.6g %12.6g %7.3f %12.6g %9.4g %9.4g %9.4g %9.4g %9.4g %8.1f %8.0f\n", n,
                  fam.c_str(), r.lower, r.upper, r.upper / r.lower, r.estimate, r.block, r.split, r.gram, r.factored,
                  r.head_gram, wall,
                  ru.ru_maxrss / 1024.0);
      std::fflush(stdout);
    }
  }
  return 0;
}
