// `attnbound certify`: one region in, a proved bracket (and optionally a certificate) out.
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <optional>
#include <ostream>

#include "certificate/certificate.hpp"
#include "checker.hpp"
#include "cli/cli.hpp"
#include "cli/commands.hpp"
#include "cli/inputs.hpp"
#include "cli/report.hpp"
#include "linalg/linalg.hpp"

namespace attnbound::cli {

namespace {
void require_positive(const std::optional<double>& v, const char* name) {
  if (v && !(*v > 0 && std::isfinite(*v)))
    throw InputError(std::string(name) + " must be a positive finite number (got " + std::to_string(*v) + ")");
}
}  // namespace

CertifyRecord certificate_record(const ModelArgs& m, const AttentionLayer& layer) {
  CertifyRecord rec;
  rec.model_spec = m.spec;
  rec.layer = &layer;
  rec.model_arch = m.arch;
  rec.model_layer = m.layer;
  rec.model_heads = m.heads;
  rec.model_seed = m.seed;
  rec.model_mask = m.mask;
  rec.model_n_heads = m.n_heads;
  rec.tool_version = ATTNBOUND_VERSION;
  rec.git_revision = ATTNBOUND_GIT_REV;
  rec.build = ATTNBOUND_BUILD_FLAVOR;
  return rec;
}

int run_certify(const CertifyArgs& a, std::ostream& out, std::ostream& err) {
  require_positive(a.eps, "--eps");
  require_positive(a.radius, "--radius");
  require_positive(a.l2, "--l2");
  if (!a.center.empty() && !a.eps && !a.l2) throw InputError("--center needs --eps E (box) or --l2 RHO (per-token ℓ2 balls)");
  require_positive(std::optional<double>(a.tol), "--tol");
  if (a.time_limit < 0 || !std::isfinite(a.time_limit)) throw InputError("--time-limit must be >= 0");
  if (a.threads < 0) throw InputError("--threads must be >= 0");
  const bool ball = a.radius.has_value() || a.layernorm;
  if (ball && !a.n) throw InputError("--n is required with --radius / --layernorm");
  if (a.n && *a.n < 1) throw InputError("--n must be >= 1 (got " + std::to_string(*a.n) + ")");
  if (a.n && !ball) throw InputError("--n is only used with --radius / --layernorm");
  // Fail on an unwritable certificate path before spending any time.
  if (!a.cert.empty()) require_writable_path(a.cert);

  const AttentionLayer layer = a.model.load(a.layernorm);
  LinalgThreads threads(resolve_threads(a.threads));
  CertifyOptions opt;
  opt.tol = a.tol;
  opt.time_limit = a.time_limit;
  opt.threads = resolve_threads(a.threads);
  // The branch-and-bound progress line, only for a person watching: never into a file or a pipe.
  opt.progress = isatty(STDERR_FILENO) == 1;

  Region region;
  Bracket b;
  std::optional<SelfCheck> self_check;
  if (!a.point.empty()) {
    const Matrix X = read_tokens(a.point, layer.d);
    region = Box::point(X);
    b = certify_point(layer, X, opt);
  } else if (!a.center.empty()) {
    // Both regions around a centre use the first-order tier (docs/box.md); the box also the
    // older box tiers where they are affordable (certify_box_around keeps the better bracket).
    const Matrix c = read_tokens(a.center, layer.d);
    if (a.l2) {
      const TokenBalls t{c, *a.l2};
      region = t;
      b = certify_first_order(layer, t, c, opt);
    } else {
      const Box box = Box::around(c, *a.eps);
      region = box;
      b = certify_box_around(layer, box, c, opt);
    }
  } else if (!a.box.empty()) {
    const Box box = read_box(a.box, layer.d);
    region = box;
    b = certify_box(layer, box, opt);
  } else {
    const double R = a.layernorm ? layernorm_radius(layer.norm).value() : *a.radius;
    const BallProduct bp{*a.n, layer.d, R};
    region = bp;
    b = certify_ball(layer, bp, opt);
  }
  const bool ok = b.meets(a.tol);
  const std::string status = ok ? "ok" : "budget";

  if (!a.cert.empty()) {
    CertifyRecord rec = certificate_record(a.model, layer);
    rec.region = region;
    rec.bracket = b;
    if (a.testing_corrupt_upper && b.upper.is_finite()) rec.bracket.upper = UpperBound::proved(b.upper.value() / 2);
    rec.tol = a.tol;
    rec.status = status;
    rec.radius_from_norm = a.layernorm;
    // The engine never writes a certificate its checker would reject: the text is re-derived by
    // the independent checker (in-process, same threads) before any file is touched.
    const std::string text = certificate_text(rec);
    check::CheckOptions co;
    co.threads = opt.threads;
    const std::filesystem::path parent = std::filesystem::path(a.cert).parent_path();
    const check::CheckResult res = check::check_text(text, parent.empty() ? std::string(".") : parent.string(), co);
    self_check = SelfCheck{res.verdict == check::Verdict::valid, res.reason, res.seconds};
    if (self_check->valid) write_certificate_text(a.cert, text);
  }
  const bool written = self_check && self_check->valid;
  const Report r{"certify", a.model.spec, model_digest(layer), describe(region), status, written ? a.cert : "",
                 a.tol, &b, self_check};
  if (a.json) out << report_json(r).dump() << "\n";
  else print_report(r, out);
  if (self_check && !self_check->valid) {
    err << "attnbound certify: internal error: certificate not written to " << a.cert
        << ": the independent checker rejected it (" << self_check->reason << ")\n";
    return kExitInternal;
  }
  return ok ? kExitOk : kExitBudget;
}

}  // namespace attnbound::cli
