// The `attnbound` command line: subcommands, shared model options, exit codes.
#include <iostream>
#include <sstream>

#include "cli/cli.hpp"
#include "cli/commands.hpp"
#include "core/rounding.hpp"

namespace attnbound::cli {

void ModelArgs::add_to(CLI::App& app) {
  app.add_option("--model", spec, "Model SPEC: FILE.json, FILE.safetensors or builtin:NAME")
      ->required();
  app.add_option("--arch", arch, "Checkpoint layout for .safetensors: gpt2 or bert (default: infer)");
  app.add_option("--layer", layer, "Layer index in a checkpoint (default 0)");
  app.add_option("--heads", heads, "Keep only these heads (indices, e.g. --heads 0 3)");
  app.add_option("--seed", seed, "Seed of the random builtins gpt2-init / bert-init (default 0)");
  app.add_option("--mask", mask, "Override the mask: none or causal");
  app.add_option("--n-heads", n_heads, "Heads per layer of a checkpoint without metadata");
}

AttentionLayer ModelArgs::load(bool need_norm) const {
  LoadOptions o;
  o.arch = arch;
  o.layer = layer;
  if (!heads.empty()) o.heads = heads;
  o.seed = seed;
  if (!mask.empty()) o.mask_override = parse_mask(mask);
  o.need_norm = need_norm;
  o.n_heads = n_heads;
  return load_model(spec, o);
}

namespace {

const char* kCertifyFooter = R"(
Regions (exactly one):
  --point FILE              the local constant ‖J(X)‖ at X (n lines of d numbers, or JSON n×d)
  --center FILE --eps E     sup ‖J‖ over the box X ± E
  --center FILE --l2 RHO    sup ‖J‖ over ‖x_i − c_i‖₂ ≤ RHO for every token i
  --box FILE                sup ‖J‖ over a box, JSON {"lo": n×d, "hi": n×d}
  --radius R --n N          sup ‖J‖ over B_R^n (every token of norm ≤ R)
  --layernorm --n N         B_R^n with R read from the LayerNorm/RMSNorm in front of the layer

Examples:
  attnbound certify --model builtin:tiny --point x.txt
  attnbound certify --model builtin:gpt2-init --point x.txt --json --cert proof.json
  attnbound certify --model gpt2.safetensors --arch gpt2 --layer 3 --center x.txt --eps 1e-3
  attnbound certify --model builtin:paper-toy --radius 1 --n 3 --tol 0.01 --time-limit 60

Exit: 0 bracket meets --tol; 3 budget ran out (bracket still valid); 2 bad input.
)";

}  // namespace

int run(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  if (const char* bad = rounding_canary(); bad[0] != '\0') {
    err << "attnbound: directed rounding does not work on this machine/build (" << bad
        << "); refusing to produce bounds\n";
    return kExitInternal;
  }
  CLI::App app{"attnbound — certified Lipschitz constants of transformer attention"};
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string("attnbound ") + ATTNBOUND_VERSION + " (" +
                                        ATTNBOUND_GIT_REV + ")");

  CertifyArgs ca;
  auto* certify = app.add_subcommand("certify", "Bracket lower ≤ Lip ≤ upper with proofs");
  ca.model.add_to(*certify);
  auto* o_point = certify->add_option("--point", ca.point, "Token file: the point X");
  auto* o_center = certify->add_option("--center", ca.center, "Token file: centre of an ε-box");
  auto* o_eps = certify->add_option("--eps", ca.eps, "Half-width of the ε-box (> 0)");
  auto* o_l2 = certify->add_option("--l2", ca.l2, "Per-token ℓ2 radius around --center (> 0)");
  auto* o_box = certify->add_option("--box", ca.box, "Box file: JSON {\"lo\": n×d, \"hi\": n×d}");
  auto* o_radius = certify->add_option("--radius", ca.radius, "Token-norm radius R of B_R^n (> 0)");
  auto* o_ln = certify->add_flag("--layernorm", ca.layernorm, "R from the model's LayerNorm/RMSNorm");
  certify->add_option("--n", ca.n, "Sequence length n (with --radius / --layernorm)");
  certify->add_option("--tol", ca.tol, "Target relative gap upper/lower − 1 (default 1e-6)");
  certify->add_option("--time-limit", ca.time_limit, "Seconds before giving up on --tol (0: none)");
  certify->add_option("--threads", ca.threads, "Worker threads (default: all cores)");
  certify->add_option("--cert", ca.cert, "Write the certificate to this file");
  certify->add_flag("--json", ca.json, "One JSON object on stdout");
  o_eps->needs(o_center);
  o_l2->needs(o_center);
  o_l2->excludes(o_eps);
  o_point->excludes(o_center)->excludes(o_box)->excludes(o_radius)->excludes(o_ln);
  o_center->excludes(o_box)->excludes(o_radius)->excludes(o_ln);
  o_box->excludes(o_radius)->excludes(o_ln);
  o_radius->excludes(o_ln);
  certify->footer(kCertifyFooter);

  WitnessArgs wa;
  auto* witness = app.add_subcommand("witness", "Write a witness input (point file) for B_R^n");
  wa.model.add_to(*witness);
  witness->add_option("--n", wa.n, "Sequence length")->required();
  witness->add_option("--radius", wa.radius, "Token-norm radius R")->required();
  witness->add_option("--kind", wa.kind, "lb1 | cluster | balanced | balanced-joint | ascent (default lb1; balanced: docs/ball.md §4)");
  witness->add_option("--head", wa.head, "Head whose paper form builds the witness (default 0)");
  witness->add_option("--out", wa.out, "Write the witness tokens here (point-file format)");
  witness->add_flag("--json", wa.json, "One JSON object on stdout");
  witness->footer(R"(
Example:
  attnbound witness --model builtin:gpt2-init --n 16 --radius 100 --out x.txt
  attnbound certify --model builtin:gpt2-init --point x.txt
)");

  InfoArgs ia;
  auto* info = app.add_subcommand("info", "Shapes, ‖A_h‖, ‖V_h‖, LayerNorm radius, digest");
  ia.model.add_to(*info);
  info->add_flag("--json", ia.json, "One JSON object on stdout");
  info->footer("\nExample:\n  attnbound info --model builtin:gpt2-init\n");

  TheoremsArgs ta;
  auto* theorems = app.add_subcommand("theorems", "Check every THEORY.md statement on B_R^n: value, bracket, verdict");
  ta.model.add_to(*theorems);
  theorems->add_option("--n", ta.n, "Sequence length n")->required();
  auto* t_radius = theorems->add_option("--radius", ta.radius, "Token-norm radius R of B_R^n (> 0)");
  auto* t_ln = theorems->add_flag("--layernorm", ta.layernorm, "R from the model's LayerNorm/RMSNorm");
  t_radius->excludes(t_ln);
  theorems->add_option("--tol", ta.tol, "Branch-and-bound tolerance of the bracket (default 1e-3)");
  theorems->add_option("--time-limit", ta.time_limit, "Seconds for the bracket's branch-and-bound (default 10)");
  theorems->add_option("--threads", ta.threads, "Worker threads (default: all cores)");
  theorems->add_option("--search-seconds", ta.search_seconds,
                       "Seconds of approximate search for a U-local counterexample (default 1; 0: none)");
  theorems->add_option("--search-seed", ta.search_seed, "Seed of that search (default 1)");
  theorems->add_flag("--json", ta.json, "One JSON object on stdout");
  theorems->footer(R"(
Verdicts: an upper-type statement "Lip ≤ S" is refuted when the certified lower bound exceeds S
(the witness is printed), holds when the certified upper bound is ≤ S, else undecided; lower-type
statements mirror this and are also checked at their own witness. S is enclosed rigorously.
Exit: 0 no theorem refuted; 1 a theorem was refuted (canary/conjecture refutations are expected
findings and do not count); 2 bad input.

Examples:
  attnbound theorems --model builtin:paper-toy --n 3 --radius 1
  attnbound theorems --model builtin:gpt2-init --n 16 --radius 100 --json
)");

  SweepArgs sa;
  auto* sweep = app.add_subcommand("sweep", "Certified lower bounds, statement curves and the float estimate across n (CSV + plot)");
  sa.model.add_to(*sweep);
  auto* s_radius = sweep->add_option("--radius", sa.radius, "Token-norm radius R of B_R^n (> 0)");
  auto* s_ln = sweep->add_flag("--layernorm", sa.layernorm, "R from the model's LayerNorm/RMSNorm");
  s_radius->excludes(s_ln);
  sweep->add_option("--n-min", sa.n_min, "Smallest n (default 2)");
  sweep->add_option("--n-max", sa.n_max, "Largest n (default 1000000)");
  sweep->add_option("--points", sa.points, "Points of the logarithmic grid (default 25)");
  sweep->add_option("--step", sa.step, "Linear grid n_min, n_min+step, ... instead of the log grid");
  sweep->add_option("--head", sa.head, "Build the witnesses from this head only (default: every head)");
  sweep->add_option("--time-limit", sa.time_limit, "Seconds for masked layers' lower bounds (default 120)");
  sweep->add_option("--ball-time", sa.ball_time, "Branch-and-bound seconds per n for a certified upper bound (n·d ≤ 96; default 0)");
  sweep->add_option("--fit-n-max", sa.fit_n_max, "Fit C√n on n ≤ this (default 100)");
  sweep->add_option("--out", sa.out, "Output prefix: OUT.csv, OUT.gp, OUT.png|svg (default 'sweep')");
  sweep->add_option("--format", sa.format, "Plot format: png or svg (default png)");
  sweep->add_flag("--no-plot", sa.no_plot, "Write the CSV only");
  sweep->add_flag("--json", sa.json, "One JSON object on stdout");
  sweep->footer(R"(
The plot is drawn by gnuplot (gnuplot-nox). Without gnuplot the CSV is still written, the plot is
skipped with a message on stderr, and the exit code is 0 (the CSV is the result).

Examples:
  attnbound sweep --model builtin:paper-toy --radius 2 --out proofs/figures/paper-toy-R2
  attnbound sweep --model builtin:gpt2-init --radius 100 --head 0 --n-min 2 --n-max 97 --step 5
)");

  try {
    std::vector<std::string> rev(args.rbegin(), args.rend());
    app.parse(rev);
  } catch (const CLI::ParseError& e) {
    std::ostringstream o, er;
    const int code = app.exit(e, o, er);
    out << o.str();
    if (code != 0) {
      // One line (the contract): CLI11's message without its "Run with --help" trailer.
      std::string msg = er.str();
      if (const auto nl = msg.find('\n'); nl != std::string::npos) msg.resize(nl);
      err << "attnbound: " << msg << "\n";
      return kExitBadInput;
    }
    return kExitOk;
  }

  try {
    if (certify->parsed()) {
      if (!o_point->count() && !o_center->count() && !o_box->count() && !o_radius->count() &&
          !o_ln->count())
        throw InputError("certify: give a region: --point, --center/--eps, --center/--l2, --box, --radius/--n or --layernorm/--n");
      return run_certify(ca, out, err);
    }
    if (witness->parsed()) return run_witness(wa, out, err);
    if (info->parsed()) return run_info(ia, out, err);
    if (theorems->parsed()) return run_theorems(ta, out, err);
    if (sweep->parsed()) return run_sweep(sa, out, err);
  } catch (const InputError& e) {
    err << "attnbound: " << e.what() << "\n";
    return kExitBadInput;
  } catch (const ModelError& e) {
    err << "attnbound: " << e.what() << "\n";
    return kExitBadInput;
  } catch (const std::bad_alloc&) {
    err << "attnbound: out of memory (the problem is too large for the dense tier on this machine)\n";
    return kExitInternal;
  } catch (const std::exception& e) {
    err << "attnbound: internal error: " << e.what() << "\n";
    return kExitInternal;
  }
  return kExitInternal;
}

}  // namespace attnbound::cli
