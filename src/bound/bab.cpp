#include "bound/bab.hpp"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <queue>
#include <string>
#include <thread>

#include "linalg/linalg.hpp"

namespace attnbound {

bool permutation_symmetric(const AttentionLayer& layer, const Region& region) {
  if (layer.mask != Mask::none) return false;
  if (std::holds_alternative<BallProduct>(region)) return true;
  const Box& b = std::get<Box>(region);
  for (long i = 1; i < b.n(); ++i)
    if (b.lo.row(i) != b.lo.row(0) || b.hi.row(i) != b.hi.row(0)) return false;
  return true;
}

bool sign_symmetric(const AttentionLayer& layer, const Region& region) {
  for (const Head& h : layer.heads)
    if (h.has_qk_bias()) return false;
  if (std::holds_alternative<BallProduct>(region)) return true;
  const Box& b = std::get<Box>(region);
  return b.lo == -b.hi;
}

bool certainly_unsorted(const Box& b) {
  double t = -INFINITY;
  for (long i = 0; i < b.n(); ++i) {
    t = std::max(t, b.lo(i, 0));
    if (t > b.hi(i, 0)) return true;
  }
  return false;
}

bool certainly_negative_sum(const Box& b) {
  UpwardScope up;
  double s = 0;
  for (long i = 0; i < b.n(); ++i) s += b.hi(i, 0);
  return s < 0;
}

namespace {

using Clock = std::chrono::steady_clock;

struct Node {
  Box box;
  std::string path;
  UpperBound upper = UpperBound::infinity();
  Matrix hint;
  Matrix sensitivity;  // per coordinate, how much it widens the leaf bound (empty: unknown)
};
struct ByUpper {
  bool operator()(const Node& a, const Node& b) const { return a.upper.value() < b.upper.value(); }
};

Box root_box(const Region& r) {
  if (const Box* b = std::get_if<Box>(&r)) return *b;
  return std::get<BallProduct>(r).bounding_box();
}

Matrix project_into(const Region& r, const Matrix& X) {
  if (const Box* b = std::get_if<Box>(&r)) return b->project(X);
  return std::get<BallProduct>(r).project(X);
}

bool inside(const Region& r, const Matrix& X) {
  if (const Box* b = std::get_if<Box>(&r)) return b->certainly_contains(X);
  return std::get<BallProduct>(r).certainly_contains(X);
}

// The split coordinate: the largest r_k ‖∂J/∂x_k(B)‖ (the coordinate that widens the leaf bound
// most, from box_upper), or the widest one when that is unknown. (Weighting the width by the float
// gradient of σ, tried first, left long thin boxes whose bounds stalled the search: on the d = 2,
// n = 3 suite instance it reached a 12.8 % gap in 60 s where this rule reaches 6 %.)
std::pair<long, long> split_coordinate(const Box& b, const Matrix& sensitivity) {
  const bool use = sensitivity.rows() == b.n() && sensitivity.cols() == b.d() && sensitivity.maxCoeff() > 0;
  long bi = 0, ba = 0;
  double best = -1;
  for (long i = 0; i < b.n(); ++i)
    for (long a = 0; a < b.d(); ++a) {
      const double w = b.hi(i, a) - b.lo(i, a);
      const double s = use ? (w > 0 ? sensitivity(i, a) : -1.0) : w;
      if (s > best) {
        best = s;
        bi = i;
        ba = a;
      }
    }
  return {bi, ba};
}

class Search {
 public:
  Search(const AttentionLayer& layer, const Region& region, const BabOptions& opt)
      : layer_(layer), region_(region), opt_(opt), t0_(Clock::now()) {
    perm_ = opt.symmetry && permutation_symmetric(layer, region);
    sign_ = opt.symmetry && sign_symmetric(layer, region);
    ball_ = std::get_if<BallProduct>(&region);
  }

  Bracket run(const Bracket* initial, BabStats* stats) {
    if (initial) {
      result_.lower = initial->lower;
      result_.witness = initial->witness;
      result_.lower_method = initial->lower_method;
      result_.estimate = initial->estimate;
    }
    Node root{root_box(region_), "", UpperBound::infinity(), Matrix(), Matrix()};
    process(std::move(root));
    const int T = std::max(1, opt_.threads);
    std::vector<std::thread> pool;
    for (int t = 1; t < T; ++t) pool.emplace_back([this] { worker(); });
    worker();
    for (auto& th : pool) th.join();
    finish(stats);
    return std::move(result_);
  }

 private:
  const AttentionLayer& layer_;
  const Region& region_;
  BabOptions opt_;
  Clock::time_point t0_;
  bool perm_ = false, sign_ = false;
  const BallProduct* ball_ = nullptr;

  std::mutex mu_;
  std::condition_variable cv_;
  std::priority_queue<Node, std::vector<Node>, ByUpper> open_;
  int busy_ = 0;
  bool stop_ = false;
  Bracket result_;
  BabStats st_;
  double last_progress_ = 0.0;
  std::vector<std::pair<double, double>> gap_history_;  // (elapsed, gap) at every progress line
  std::atomic<std::size_t> ticket_{0};
  static constexpr std::size_t kLongAscentEvery = 256;

  double elapsed() const { return std::chrono::duration<double>(Clock::now() - t0_).count(); }

  // A leaf that needs no bound: the reason is checked by the certificate checker.
  void prune(Node&& n, const char* tier) {
    std::lock_guard<std::mutex> lk(mu_);
    result_.partition.push_back(PartitionLeaf{n.path, std::move(n.box), UpperBound::proved(0.0), tier, Matrix()});
    if (tier[0] == 'o') ++st_.pruned_outside;
    else ++st_.pruned_symmetry;
  }

  void leaf(Node&& n) {
    result_.partition.push_back(
        PartitionLeaf{n.path, std::move(n.box), n.upper, ball_ ? "box-centred-ball" : "box-centred", std::move(n.hint)});
  }

  // Bounds a box (outside the lock), offers its lower candidate, queues it.
  void process(Node&& n) {
    if (ball_ && ball_->certainly_disjoint(n.box)) return prune(std::move(n), "outside");
    if (perm_ && certainly_unsorted(n.box)) return prune(std::move(n), "symmetry:perm");
    if (sign_ && certainly_negative_sum(n.box)) return prune(std::move(n), "symmetry:sign");
    const Matrix c = project_into(region_, n.box.center());
    auto est = approx::jacobian_norm(layer_, c, 100, 1e-10, n.hint.size() ? &n.hint : nullptr);
    n.hint = est.right;
    double best_est;
    {
      std::lock_guard<std::mutex> lk(mu_);
      best_est = result_.lower.value();
    }
    // No hint: box_upper needs one only for the centred form, which the search leaves out.
    n.upper = box_upper(layer_, n.box, nullptr, ball_, best_est * (1 + opt_.tol), &n.sensitivity,
                         /*centred_form=*/false);
    // Lower candidate: the centre, and a short ascent when it is competitive. Every
    // kLongAscentEvery-th box (a child of the box with the largest upper bound, so near where the
    // maximum may be) also gets a long ascent: short ones stall on slowly rising ridges.
    const bool long_ascent = ticket_.fetch_add(1) % kLongAscentEvery == 0;
    if ((est.sigma.value() > best_est || long_ascent) && inside(region_, c)) {
      Witness w{"box centre", c, est.right};
      if (opt_.ascent_steps > 0) {
        approx::AscentOptions ao;
        ao.steps = long_ascent ? std::max(opt_.ascent_steps, 60) : opt_.ascent_steps;
        ao.power_iterations = 40;
        Witness a = approx::ascend(layer_, region_, c, ao);
        if (inside(region_, a.X)) w = a;
      }
      const LowerBound l = evaluate_witness(layer_, w.X, w.dir);
      std::lock_guard<std::mutex> lk(mu_);
      if (l.value() > result_.lower.value()) {
        result_.lower = l;
        result_.witness = Witness{"branch-and-bound: " + w.name, w.X, w.dir};
        result_.lower_method = "witness: " + result_.witness->name + ", ‖J(X)v‖/‖v‖ by interval JVP";
        result_.estimate = est.sigma;
      }
    }
    std::lock_guard<std::mutex> lk(mu_);
    ++st_.boxes;
    // A box at or under the stopping threshold will never be split (the lower bound only rises),
    // so it is a leaf now rather than a queue entry: the queue, and its cap, hold live boxes only.
    const double L = result_.lower.value();
    if (L > 0 && n.upper.value() <= threshold_locked()) {
      if (n.upper.value() <= L) ++st_.pruned_bound;
      else ++st_.closed_within_tol;
      leaf(std::move(n));
      return;
    }
    open_.push(std::move(n));
    st_.peak_open = std::max(st_.peak_open, open_.size());
    cv_.notify_one();
  }

  // lower · (1 + tol) rounded down: a box bounded at or below it meets the tolerance.
  double threshold_locked() const { return mul_down(result_.lower.value(), add_down(1.0, opt_.tol)); }

  bool done_locked() const {
    if (open_.empty()) return true;
    return result_.lower.value() > 0 && open_.top().upper.value() <= threshold_locked();
  }

  void progress_locked() {
    // An empty queue (workers still bounding the last boxes) has no current upper bound to show.
    if (!opt_.progress || open_.empty()) return;
    const double t = elapsed();
    if (t - last_progress_ < 0.2) return;
    last_progress_ = t;
    const double U = open_.top().upper.value(), L = result_.lower.value();
    const double gap = L > 0 ? U / L - 1 : INFINITY;
    if (std::isfinite(gap)) gap_history_.emplace_back(t, gap);
    // The ETA to --tol from the fitted gap history, and when the time limit will stop the run first.
    const std::optional<double> left = approx::eta_seconds(gap_history_, opt_.tol);
    const double to_limit = opt_.time_limit > 0 ? std::max(0.0, opt_.time_limit - t) : INFINITY;
    std::string eta = left ? "~" + duration_text(*left) : "?";
    if (std::isfinite(to_limit) && !(left && *left <= to_limit)) eta += " (limit in " + duration_text(to_limit) + ")";
    std::fprintf(stderr, "\r  boxes %zu  queue %zu  bracket [%.9g, %.9g]  gap %.2e  %s  ETA %s   ", st_.boxes,
                 open_.size(), L, U, gap, duration_text(t).c_str(), eta.c_str());
  }

  static std::string duration_text(double s) {
    char buf[32];
    if (s < 60) std::snprintf(buf, sizeof buf, "%.1fs", s);
    else if (s < 3600) std::snprintf(buf, sizeof buf, "%dm%02ds", static_cast<int>(s / 60), static_cast<int>(s) % 60);
    else if (s < 1e7) std::snprintf(buf, sizeof buf, "%.1fh", s / 3600);
    else std::snprintf(buf, sizeof buf, ">100d");
    return buf;
  }

  void worker() {
    for (;;) {
      Node n;
      {
        std::unique_lock<std::mutex> lk(mu_);
        for (;;) {
          if (stop_) return;
          if (!open_.empty() && !done_locked()) {
            if ((opt_.time_limit > 0 && elapsed() > opt_.time_limit) || open_.size() >= opt_.max_nodes) {
              st_.budget = true;
              stop_ = true;
              cv_.notify_all();
              return;
            }
            break;
          }
          // Nothing worth splitting now. Finished if nobody can add boxes; else wait for them.
          if (busy_ == 0) {
            stop_ = true;
            cv_.notify_all();
            return;
          }
          cv_.wait(lk);
        }
        n = open_.top();
        open_.pop();
        ++busy_;
        progress_locked();
      }
      split(std::move(n));
      {
        std::lock_guard<std::mutex> lk(mu_);
        --busy_;
      }
      cv_.notify_all();
    }
  }

  void split(Node&& n) {
    auto [i, a] = split_coordinate(n.box, n.sensitivity);
    auto halves = n.box.split(i, a);
    if (!halves) {  // no double strictly inside: the box cannot shrink further
      std::lock_guard<std::mutex> lk(mu_);
      leaf(std::move(n));
      return;
    }
    const std::string tag = std::to_string(i) + "." + std::to_string(a);
    const std::string pre = n.path.empty() ? "" : n.path + "/";
    process(Node{std::move(halves->first), pre + tag + ".L", UpperBound::infinity(), n.hint, Matrix()});
    process(Node{std::move(halves->second), pre + tag + ".R", UpperBound::infinity(), n.hint, Matrix()});
  }

  void finish(BabStats* stats) {
    double U = 0.0;
    while (!open_.empty()) {
      Node n = open_.top();
      open_.pop();
      U = std::max(U, n.upper.value());
      leaf(std::move(n));
    }
    for (const auto& l : result_.partition) U = std::max(U, l.upper.value());
    result_.upper = UpperBound::proved(U);
    result_.upper_method = "branch-and-bound: " + std::to_string(result_.partition.size()) +
                           " leaves, plain and vertex box bounds on each" + (perm_ ? ", permutation symmetry" : "") +
                           (sign_ ? ", sign symmetry" : "");
    result_.upper_evidence = UpperEvidence{"bab", Matrix()};
    if (result_.witness) result_.estimate = approx::jacobian_norm(layer_, result_.witness->X).sigma;
    st_.leaves = result_.partition.size();
    st_.seconds = elapsed();
    result_.seconds = st_.seconds;
    result_.budget_exhausted = st_.budget;
    if (opt_.progress) std::fprintf(stderr, "\n");
    if (stats) *stats = st_;
  }
};

}  // namespace

BabOptions bab_options_for(const CertifyOptions& opt, double elapsed) {
  BabOptions bo;
  bo.tol = opt.tol;
  bo.time_limit = opt.time_limit > 0 ? std::max(1e-9, opt.time_limit - elapsed) : 0.0;
  bo.threads = opt.threads > 0 ? opt.threads : 1;
  bo.progress = opt.progress;
  return bo;
}

namespace approx {

std::optional<double> eta_seconds(const std::vector<std::pair<double, double>>& history, double tol) {
  if (history.empty()) return std::nullopt;
  const auto [t1, g1] = history.back();
  if (g1 <= tol) return 0.0;
  // The first sample at or after t1/2: the fit sees the recent half of the run, where the search
  // behaves as it will next, not its start.
  auto it = std::lower_bound(history.begin(), history.end(), t1 / 2,
                             [](const std::pair<double, double>& h, double t) { return h.first < t; });
  const auto [t0, g0] = *it;
  if (!(t0 > 0 && t1 > t0 && g0 > g1 && g1 > 0)) return std::nullopt;
  const double alpha = std::log(g1 / g0) / std::log(t1 / t0);  // < 0
  const double t_star = t1 * std::pow(tol / g1, 1.0 / alpha);
  if (!std::isfinite(t_star)) return std::nullopt;
  return std::max(0.0, t_star - t1);
}

}  // namespace approx

Bracket branch_and_bound(const AttentionLayer& layer, const Region& region, const BabOptions& opt,
                         const Bracket* initial, BabStats* stats) {
  Search s(layer, region, opt);
  return s.run(initial, stats);
}

}  // namespace attnbound
