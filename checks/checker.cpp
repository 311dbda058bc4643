// check_text / check_file: the order of the checks and the verdict.
//
//   1. read the certificate (own reader)                              unreadable → 2
//   2. load the model as recorded (or --model), recompute its digest   mismatch → 1
//   3. region consistency (dimensions, lo <= hi, R > 0, LayerNorm R)
//   4. lower claim: witness inside the region, ‖J(X)v‖/‖v‖ >= claim in MPFI
//   5. upper claim: dense / box-centred / structured / cluster / partition / analytic, every bound <= claim
// (lower <= upper then holds by itself; a claim that contradicts the other fails its own check.)
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>
#include <thread>

#include "checker.hpp"
#include "internal.hpp"
#include "linalg/linalg.hpp"

namespace attnbound::check {

namespace {

constexpr std::uintmax_t kMaxCertificateBytes = std::uintmax_t{1} << 32;

int resolve_threads(int t) {
  if (t > 0) return t;
  const unsigned hw = std::thread::hardware_concurrency();
  return hw ? static_cast<int>(hw) : 1;
}


void check_region(const Certificate& c, const AttentionLayer& layer, std::vector<std::string>& notes) {
  if (c.d != layer.d)
    throw Invalid("the region has d = " + std::to_string(c.d) + ", the model has d = " + std::to_string(layer.d));
  if (c.kind == Certificate::Kind::box)
    for (long i = 0; i < c.n; ++i)
      for (long a = 0; a < c.d; ++a)
        if (!(c.box.lo(i, a) <= c.box.hi(i, a)))
          throw Invalid("region box is empty: lo > hi at entry (" + std::to_string(i) + ", " + std::to_string(a) + ")");
  if (c.kind == Certificate::Kind::l2 && !(c.rho > 0 && std::isfinite(c.rho)))
    throw Invalid("region rho = " + dec(c.rho) + " is not a positive finite number");
  if (c.kind == Certificate::Kind::ball) {
    if (!(c.R > 0)) throw Invalid("region radius R = " + dec(c.R) + " is not positive");
    if (c.R_from_norm) {
      // R must bound ‖N(x)‖ for the model's normalisation N: ‖γ‖_∞ √d (+ ‖β‖₂ for LayerNorm).
      const Norm& nm = layer.norm;
      if (nm.kind == Norm::Kind::none) throw Invalid("region.R comes from a LayerNorm, but the model has none");
      MpInterval g(0);
      for (Eigen::Index k = 0; k < nm.gamma.size(); ++k) g = hull(g, MpInterval(std::abs(nm.gamma(k))));
      MpInterval bound = g.upper_point() * sqrt(MpInterval(static_cast<double>(layer.d)));
      if (nm.kind == Norm::Kind::layernorm) {
        MpInterval b2(0);
        for (Eigen::Index k = 0; k < nm.beta.size(); ++k) b2 += square(MpInterval(nm.beta(k)));
        bound += sqrt(b2);
      }
      if (!certainly_at_most(bound, c.R))
        throw Invalid("region.R = " + dec(c.R) + " is below the LayerNorm radius bound " + dec_upper(bound, 17));
      notes.push_back("region: R >= ‖γ‖_∞√d" + std::string(nm.kind == Norm::Kind::layernorm ? " + ‖β‖" : "") +
                      " of the model's normalisation");
    }
  }
}

void check_lower(const Certificate& c, const AttentionLayer& layer, JacobianCache& cache, std::vector<std::string>& notes) {
  if (c.lower <= 0) {
    notes.push_back("lower: claim " + dec(c.lower) + " <= 0, trivially true");
    return;
  }
  MpInterval r;
  if (c.lower_kind == "witness") {
    require_inside_region(c, c.wX, "witness");
    if (!(c.wdir.array() != 0).any()) throw Invalid("witness direction v is zero");
    r = witness_ratio(layer, c.wX, c.wdir, cache);
  } else if (c.lower_kind == "cluster") {
    if (c.kind != Certificate::Kind::point) throw Invalid("cluster lower evidence needs a point region");
    r = cluster_lower(layer, c.box.lo);
  } else {
    throw Invalid("lower claim " + dec(c.lower) + " > 0 has no evidence");
  }
  if (!certainly_at_least(r, c.lower))
    throw Invalid("lower claim not re-derived: ‖J(X)v‖/‖v‖ >= " + dec_lower(r, 17) + " proved, claim " + dec(c.lower));
  const std::string how = c.lower_kind == "cluster" ? "reduced operators, MPFI"
                          : c.n * c.d <= kMpDenseLimit
                              ? "MPFI JVP, " + std::to_string(MpInterval::default_precision()) + " bits"
                          : c.n * c.d <= kDenseLimit ? "MPFI softmax, double-interval Jacobian times v"
                                                     : "MPFI softmax, directed-GEMM JVP";
  notes.push_back("lower: ‖J(X)v‖/‖v‖ >= " + dec_lower(r, 17) + " >= claim " + dec(c.lower) + " (" + how + ")");
}

void check_partition(const Certificate& c, const AttentionLayer& layer, double U, int threads,
                     std::vector<std::string>& notes) {
  const bool ball = c.kind == Certificate::Kind::ball;
  if (c.root != (ball ? "ball-bounding-box" : "region"))
    throw Invalid("partition root \"" + c.root + "\" does not match a " + (ball ? "ball" : "box") + " region");
  if (c.n * c.d > kDenseLimit)
    throw Invalid("a partition check needs n·d <= " + std::to_string(kDenseLimit) + " (got " + std::to_string(c.n * c.d) + ")");
  const CBox root = root_box(c);
  const std::vector<CBox> boxes = replay_partition(root, c.leaves);

  // Leaves are independent: verify them on `threads` workers; report the first failing leaf.
  const std::size_t L = boxes.size();
  std::atomic<std::size_t> next{0};
  std::atomic<bool> failed{false};
  std::mutex mu;
  std::size_t fail_index = L;
  std::string fail_reason;
  std::size_t bounded = 0, outside = 0, symmetric = 0;
  const mpfr_prec_t prec = MpInterval::default_precision();
  auto work = [&] {
    MpPrecision p(prec);
    std::size_t my_bounded = 0, my_outside = 0, my_sym = 0;
    for (std::size_t k; !failed.load() && (k = next.fetch_add(1)) < L;) {
      const Leaf& leaf = c.leaves[k];
      try {
        if (leaf.tier == "outside") {
          if (!ball) throw Invalid("an \"outside\" leaf in a box region");
          if (!certainly_outside_ball(boxes[k], c.R)) throw Invalid("not proved disjoint from the ball");
          ++my_outside;
        } else if (leaf.tier.rfind("symmetry:", 0) == 0) {
          require_symmetry_leaf(layer, c, boxes[k], leaf.tier, leaf.path);
          ++my_sym;
        } else if (leaf.tier == "box-centred" || leaf.tier == "dense") {
          prove_box_upper(layer, boxes[k], leaf.hint, leaf.tier, U);
          ++my_bounded;
        } else if (leaf.tier == "box-centred-ball") {
          // The bound over leaf ∩ ball: enough, since the leaves cover the ball's bounding box.
          if (!ball) throw Invalid("a \"box-centred-ball\" leaf in a box region");
          prove_box_upper(layer, boxes[k], leaf.hint, "box-centred", U, nullptr, &c.R);
          ++my_bounded;
        } else {
          throw Invalid("unknown leaf tier \"" + leaf.tier.substr(0, 40) + "\"");
        }
      } catch (const std::exception& e) {
        std::lock_guard<std::mutex> lk(mu);
        failed = true;
        if (k < fail_index) {
          fail_index = k;
          fail_reason = std::string(e.what());
        }
      }
    }
    std::lock_guard<std::mutex> lk(mu);
    bounded += my_bounded;
    outside += my_outside;
    symmetric += my_sym;
  };
  const int T = static_cast<int>(std::min<std::size_t>(static_cast<std::size_t>(threads), L));
  std::vector<std::thread> pool;
  for (int t = 1; t < T; ++t) pool.emplace_back(work);
  work();
  for (auto& th : pool) th.join();
  if (failed) {
    const std::string& path = c.leaves[fail_index].path;
    throw Invalid("upper claim not re-derived on partition leaf \"" + path + "\": " + fail_reason);
  }
  auto count = [](std::size_t k, const char* one, const char* many) {
    return std::to_string(k) + " " + (k == 1 ? one : many);
  };
  notes.push_back("upper: partition of " + count(L, "leaf", "leaves") + " covers the " +
                  (ball ? "ball's bounding box" : "region") + " (complete binary tree, boxes replayed)");
  std::string summary = "upper: " + count(bounded, "leaf", "leaves") + " with ‖J‖ <= claim re-derived";
  if (outside) summary += ", " + count(outside, "leaf", "leaves") + " proved outside the ball";
  if (symmetric) summary += ", " + count(symmetric, "symmetry leaf", "symmetry leaves") + " justified";
  notes.push_back(summary);
}

/// Tier box-first-order (docs/box.md): accepted if any route proves the claim U:
///   direct   the block norms of J over the region, D' (E11);
///   centre   ‖J(c)‖ <= centre_upper by the point tier's own rule, plus the re-derived excess E';
///   subspace (when recorded) the centred subspace form (E12)–(E14) with the recorded vectors.
/// Everything is re-derived independently (first_order_excess_check, first_order_subspace_check).
std::string prove_first_order_upper(const Certificate& c, const AttentionLayer& layer, double U, JacobianCache& cache) {
  if (c.kind != Certificate::Kind::box && c.kind != Certificate::Kind::l2)
    throw Invalid("box-first-order evidence needs a box or l2 region");
  const bool l2 = c.kind == Certificate::Kind::l2;
  const Matrix& x0 = c.fo_centre;
  Vector r;
  Matrix rij;  // |x_ia − c_ia| <= rij(i, a) over the box (the subspace form's dual norm)
  if (!l2) {
    require_inside_region(c, x0, "first-order centre");
    // r_a >= |x_ia − c_ia| over the box, for every token (upward rounding).
    UpwardScope up;
    r = Vector::Zero(c.d);
    rij = Matrix(c.n, c.d);
    for (long i = 0; i < c.n; ++i)
      for (long a = 0; a < c.d; ++a) {
        rij(i, a) = std::max(x0(i, a) - c.box.lo(i, a), c.box.hi(i, a) - x0(i, a));
        r(a) = std::max(r(a), rij(i, a));
      }
  } else if (x0 != c.center) {
    throw Invalid("first-order centre is not the l2 region's centre");
  }
  const double Uc = c.fo_centre_upper;
  if (!(Uc >= 0) || !std::isfinite(Uc)) throw Invalid("first-order centre_upper is not a finite number >= 0");
  const FirstOrderCheck fo = first_order_excess_check(layer, x0, r, c.rho, l2);
  if (fo.direct <= U)
    return "first order: block norms of J over the region <= " + dec(fo.direct) +
           " re-derived (directed rounding, MPFI softmax) <= claim";
  double total;
  {
    UpwardScope up;
    total = Uc + fo.excess;
  }
  std::string centre_failed;  // why the centre route did not prove the claim
  if (total <= U) {
    try {
      std::string how;
      if (c.fo_centre_tier == "dense") {
        how = prove_box_upper(layer, CBox{x0, x0}, c.hint, "dense", Uc, &cache);
      } else if (c.fo_centre_tier == "structured") {
        how = prove_structured_upper(layer, x0, Uc);
      } else {
        throw Invalid("first-order centre tier \"" + c.fo_centre_tier.substr(0, 40) + "\" is not supported");
      }
      return "first order: ‖J(c)‖ <= " + dec(Uc) + " (" + how + "), sup ‖J(X) − J(c)‖ <= " + dec(fo.excess) +
             " re-derived (directed rounding, MPFI softmax), sum <= claim";
    } catch (const Invalid& e) {
      centre_failed = e.what();
    }
  }
  std::string sub_note;
  double smallest = std::min(fo.direct, total);  // for the message
  if (!c.fo_subspace.empty()) {
    if (c.n * c.d > kDenseLimit) {
      sub_note = "; the subspace form needs n·d <= " + std::to_string(kDenseLimit);
    } else {
      const SubspaceCheck s = first_order_subspace_check(layer, x0, cache.at(x0), c.fo_subspace, rij, c.rho, l2,
                                                         fo.excess, fo.remainder);
      const std::string parts = "k = " + std::to_string(c.fo_subspace.size()) + ", ‖W‖ <= " + dec(s.w_norm) +
                                ", λ⊥ <= " + dec(s.lambda_perp) + ", c0 <= " + dec(s.c0) + ", t_lin <= " +
                                dec(s.t_lin) + ", E' = " + dec(fo.excess) + ", R2' = " + dec(fo.remainder);
      if (s.bound <= U)
        return "first order, centred subspace form: sup ‖J(X)‖ <= " + dec(s.bound) + " (" + parts +
               "; J(c) by the double-interval assembly, ∇h_ab by Dual<Interval> passes) <= claim";
      sub_note = std::isfinite(s.bound) ? ", subspace form " + dec(s.bound) + " (" + parts + ")"
                                        : "; the subspace form does not apply: " + s.why;
      smallest = std::min(smallest, s.bound);
    }
  }
  std::string msg = "upper claim not re-derived (box-first-order): the smallest bound, " + dec(smallest) +
                    ", exceeds the claim " + dec(U) + " (re-derived: direct " + dec(fo.direct) +
                    ", centre_upper + excess " + dec(total);
  if (!centre_failed.empty()) msg += " with centre_upper not proved: " + centre_failed;
  msg += sub_note + ")";
  throw Invalid(msg);
}

void check_upper(const Certificate& c, const AttentionLayer& layer, int threads, JacobianCache& cache,
                 std::vector<std::string>& notes, const CheckOptions& opt) {
  if (!c.upper) {
    notes.push_back("upper: claim +inf, trivially true");
    return;
  }
  const double U = *c.upper;
  if (!(U >= 0)) throw Invalid("claim.upper = " + dec(U) + " is negative");
  const std::string& tier = c.upper_tier;
  const bool point = c.kind == Certificate::Kind::point;
  try {
    if (tier == "dense") {
      if (!point) throw Invalid("dense evidence needs a point region (use box-centred or a partition)");
      LinalgThreads lt(threads);
      notes.push_back("upper: " + prove_box_upper(layer, c.box, c.hint, "dense", U, &cache));
    } else if (tier == "distributed") {
      // The MPI tier's claim is the dense claim at a point: re-derived here by the dense rule where
      // one machine can hold J (n·d <= kDenseLimit), else by attnbound-check-mpi (checks/mpi/).
      if (!point) throw Invalid("distributed evidence needs a point region");
      if (opt.distributed_upper) {
        const auto [proved, note] = opt.distributed_upper(layer, c.box.lo, U);
        if (!proved) throw Invalid(note);
        notes.push_back("upper: " + note);
        return;
      }
      if (c.n * c.d > kDenseLimit)
        throw Invalid("n·d = " + std::to_string(c.n * c.d) + " > " + std::to_string(kDenseLimit) +
                      ": re-check this distributed certificate with mpirun attnbound-check-mpi");
      LinalgThreads lt(threads);
      notes.push_back("upper: " + prove_box_upper(layer, c.box, c.hint, "dense", U, &cache));
    } else if (tier == "box-centred") {
      LinalgThreads lt(threads);
      notes.push_back("upper: " + prove_box_upper(layer, root_box(c), c.hint, "box-centred", U, &cache));
    } else if (tier == "structured") {
      if (!point) throw Invalid("structured evidence needs a point region");
      LinalgThreads lt(threads);
      notes.push_back("upper: " + prove_structured_upper(layer, c.box.lo, U));
    } else if (tier == "cluster") {
      if (!point) throw Invalid("cluster evidence needs a point region");
      notes.push_back("upper: " + prove_cluster_upper(layer, c.box.lo, U));
    } else if (tier == "analytic") {
      if (c.kind != Certificate::Kind::ball) throw Invalid("analytic evidence needs a ball region");
      notes.push_back("upper: " + prove_analytic_upper(layer, c, U));
    } else if (tier == "partition") {
      check_partition(c, layer, U, threads, notes);
      return;
    } else if (tier == "box-first-order") {
      LinalgThreads lt(threads);
      notes.push_back("upper: " + prove_first_order_upper(c, layer, U, cache));
    } else if (tier == "none") {
      throw Invalid("claim.upper is finite but the upper evidence is \"none\"");
    } else {
      throw Invalid("upper evidence tier \"" + tier.substr(0, 40) + "\" is not supported by this checker");
    }
  } catch (const Invalid& e) {
    const std::string m = e.what();
    if (m.rfind("upper claim", 0) == 0) throw;
    throw Invalid("upper claim not re-derived (" + tier + "): " + m);
  }
}

}  // namespace

AttentionLayer load_layer(const Certificate& c, const std::string& base_dir, const std::string& model_override) {
  namespace fs = std::filesystem;
  std::string spec = model_override.empty() ? c.spec : model_override;
  if (spec.rfind("builtin:", 0) != 0) {
    std::error_code ec;
    const fs::path p(spec);
    if (p.is_relative() && !fs::exists(p, ec) && !base_dir.empty() && fs::exists(fs::path(base_dir) / p, ec))
      spec = (fs::path(base_dir) / p).string();
  }
  LoadOptions o;
  o.arch = c.arch;
  o.layer = c.layer;
  o.heads = c.heads;
  o.seed = c.seed;
  o.n_heads = c.n_heads;
  try {
    if (!c.mask.empty()) o.mask_override = parse_mask(c.mask);
    return load_model(spec, o);
  } catch (const ModelError& e) {
    throw Unreadable(std::string("cannot load the model: ") + e.what());
  }
}

CheckResult check_text(const std::string& text, const std::string& base_dir, const CheckOptions& opt) {
  const auto t0 = std::chrono::steady_clock::now();
  CheckResult res;
  res.engine_seconds = std::nan("");
  try {
    MpPrecision prec(std::max<long>(opt.precision, 128));
    const Certificate c = read_certificate(text);
    res.engine_seconds = c.engine_seconds;
    auto lap = [t = std::chrono::steady_clock::now()]() mutable {
      const auto now = std::chrono::steady_clock::now();
      const double s = std::chrono::duration<double>(now - t).count();
      t = now;
      char buf[32];
      std::snprintf(buf, sizeof buf, " [%.3g s]", s);
      return std::string(buf);
    };
    const AttentionLayer layer = load_layer(c, base_dir, opt.model_override);
    const std::string digest = model_digest(layer);
    if (digest != c.sha256)
      throw Invalid("model digest mismatch: certificate says " + c.sha256 + ", model has " + digest);
    res.notes.push_back("model: " + layer.source + ", sha256 " + digest + " matches" + lap());
    check_region(c, layer, res.notes);
    JacobianCache cache(layer);  // large point Jacobians, shared by the lower and upper checks
    check_lower(c, layer, cache, res.notes);
    res.notes.back() += lap();
    check_upper(c, layer, resolve_threads(opt.threads), cache, res.notes, opt);
    res.notes.back() += lap();
    res.verdict = Verdict::valid;
  } catch (const Unreadable& e) {
    res.verdict = Verdict::unreadable;
    res.reason = e.what();
  } catch (const Invalid& e) {
    res.verdict = Verdict::invalid;
    res.reason = e.what();
  } catch (const ModelError& e) {
    res.verdict = Verdict::unreadable;
    res.reason = std::string("cannot load the model: ") + e.what();
  } catch (const std::bad_alloc&) {
    res.verdict = Verdict::invalid;
    res.reason = "not verified: out of memory while re-deriving the claims";
  } catch (const std::exception& e) {
    res.verdict = Verdict::invalid;
    res.reason = std::string("not verified: internal error: ") + e.what();
  }
  res.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return res;
}

CheckResult check_file(const std::string& path, const CheckOptions& opt) {
  namespace fs = std::filesystem;
  CheckResult res;
  res.engine_seconds = std::nan("");
  std::error_code ec;
  const auto size = fs::file_size(path, ec);
  if (ec) {
    res.reason = path + ": cannot read (" + ec.message() + ")";
    return res;
  }
  if (size > kMaxCertificateBytes) {
    res.reason = path + ": too large for a certificate";
    return res;
  }
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  if (!in && !in.eof()) {
    res.reason = path + ": read error";
    return res;
  }
  const fs::path parent = fs::path(path).parent_path();
  res = check_text(ss.str(), parent.empty() ? std::string(".") : parent.string(), opt);
  if (res.verdict == Verdict::unreadable) res.reason = path + ": " + res.reason;
  return res;
}

}  // namespace attnbound::check
