// Region consistency: containment of witnesses, the partition tree (replay and coverage), leaves
// outside the ball. Exact double comparisons or MPFI; no engine region code.
#include <charconv>

#include "internal.hpp"

namespace attnbound::check {

CBox root_box(const Certificate& c) {
  if (c.kind != Certificate::Kind::ball) return c.box;
  return CBox{Matrix::Constant(c.n, c.d, -c.R), Matrix::Constant(c.n, c.d, c.R)};
}

namespace {

/// ‖x_i‖² of row i of X, enclosed in MPFI.
MpInterval row_norm2(const Matrix& X, long i) {
  MpInterval s(0);
  for (long a = 0; a < X.cols(); ++a) s += square(MpInterval(X(i, a)));
  return s;
}

std::string entry(long i, long a) { return "(" + std::to_string(i) + ", " + std::to_string(a) + ")"; }

}  // namespace

void require_inside_region(const Certificate& c, const Matrix& X, const std::string& what) {
  if (X.rows() != c.n || X.cols() != c.d) throw Invalid(what + " has the wrong shape");
  switch (c.kind) {
    case Certificate::Kind::point:
      for (long i = 0; i < c.n; ++i)
        for (long a = 0; a < c.d; ++a)
          if (X(i, a) != c.box.lo(i, a))
            throw Invalid(what + " is not the region's point: entry " + entry(i, a) + " is " + dec(X(i, a)) +
                          ", the point has " + dec(c.box.lo(i, a)));
      return;
    case Certificate::Kind::box:
      for (long i = 0; i < c.n; ++i)
        for (long a = 0; a < c.d; ++a)
          if (!(c.box.lo(i, a) <= X(i, a) && X(i, a) <= c.box.hi(i, a)))
            throw Invalid(what + " outside the box: entry " + entry(i, a) + " = " + dec(X(i, a)) + " is not in [" +
                          dec(c.box.lo(i, a)) + ", " + dec(c.box.hi(i, a)) + "]");
      return;
    case Certificate::Kind::ball: {
      const MpInterval R2 = square(MpInterval(c.R));  // exact at >= 106 bits
      for (long i = 0; i < c.n; ++i) {
        const MpInterval s = row_norm2(X, i);
        if (!certainly_le(s, R2))
          throw Invalid(what + " token " + std::to_string(i) + " outside the ball: ‖x_" + std::to_string(i) +
                        "‖² ≤ R² not proved (‖x‖² ∈ [" + dec_lower(s, 10) + ", " + dec_upper(s, 10) +
                        "], R² = " + dec_lower(R2, 10) + ")");
      }
      return;
    }
    case Certificate::Kind::l2: {
      const MpInterval r2 = square(MpInterval(c.rho));
      for (long i = 0; i < c.n; ++i) {
        MpInterval s(0);
        for (long a = 0; a < c.d; ++a) s += square(MpInterval(X(i, a)) - MpInterval(c.center(i, a)));
        if (!certainly_le(s, r2))
          throw Invalid(what + " token " + std::to_string(i) + " outside the l2 region: ‖x_" + std::to_string(i) +
                        " − c_" + std::to_string(i) + "‖² ≤ ρ² not proved");
      }
      return;
    }
  }
}

bool certainly_outside_ball(const CBox& b, double R) {
  const MpInterval R2 = square(MpInterval(R));
  for (long i = 0; i < b.n(); ++i) {
    // A lower bound of min over the row box of ‖x‖²: per coordinate, the distance of [lo, hi] to 0.
    MpInterval s(0);
    for (long a = 0; a < b.d(); ++a) {
      const double lo = b.lo(i, a), hi = b.hi(i, a);
      const double m = lo > 0 ? lo : (hi < 0 ? -hi : 0.0);
      s += square(MpInterval(m));
    }
    if (certainly_less(R2, s)) return true;
  }
  return false;
}

std::optional<double> split_point(double l, double h) {
  double m;
  {
    RoundingGuard nearest(Rounding::nearest);
    volatile double w = h - l;  // the engine's Box::split: l + (h − l)/2, round to nearest
    m = l + w / 2;
  }
  if (!(l < m && m < h)) return std::nullopt;
  return m;
}

namespace {

struct Split {
  long i = 0, a = 0;
  bool right = false;
};

/// Parses one path token "i.a.L" / "i.a.R".
Split parse_token(std::string_view t, long n, long d, const std::string& path) {
  Split s;
  const char* p = t.data();
  const char* e = t.data() + t.size();
  auto r1 = std::from_chars(p, e, s.i);
  if (r1.ec != std::errc() || r1.ptr == e || *r1.ptr != '.') throw Invalid("partition leaf path \"" + path + "\": bad token \"" + std::string(t) + "\"");
  auto r2 = std::from_chars(r1.ptr + 1, e, s.a);
  if (r2.ec != std::errc() || r2.ptr + 2 != e || r2.ptr[0] != '.' || (r2.ptr[1] != 'L' && r2.ptr[1] != 'R'))
    throw Invalid("partition leaf path \"" + path + "\": bad token \"" + std::string(t) + "\"");
  s.right = r2.ptr[1] == 'R';
  if (s.i < 0 || s.i >= n || s.a < 0 || s.a >= d)
    throw Invalid("partition leaf path \"" + path + "\": entry " + entry(s.i, s.a) + " out of range");
  return s;
}

std::vector<Split> parse_path(const std::string& path, long n, long d) {
  std::vector<Split> out;
  if (path.empty()) return out;
  std::size_t start = 0;
  for (;;) {
    const std::size_t slash = path.find('/', start);
    const std::string_view tok(path.data() + start, (slash == std::string::npos ? path.size() : slash) - start);
    out.push_back(parse_token(tok, n, d, path));
    if (slash == std::string::npos) break;
    start = slash + 1;
  }
  return out;
}

/// A node of the partition tree, in a pool (indices, so nothing recurses on deep trees).
struct Node {
  bool leaf = false;
  bool split = false;  // has children
  long i = -1, a = -1;
  long child[2] = {-1, -1};
  long parent = -1;
  int side = 0;  // which child of its parent
};

std::string token_name(long i, long a, int side) {
  return std::to_string(i) + "." + std::to_string(a) + (side ? ".R" : ".L");
}

std::string prefix_name(const std::vector<Split>& s, std::size_t k) {
  if (k == 0) return "root";
  std::string out;
  for (std::size_t t = 0; t < k; ++t) {
    if (t) out += "/";
    out += token_name(s[t].i, s[t].a, s[t].right ? 1 : 0);
  }
  return out;
}

/// The path of node `k` ("" for the root).
std::string node_name(const std::vector<Node>& pool, long k) {
  std::vector<std::string> toks;
  while (pool[static_cast<std::size_t>(k)].parent >= 0) {
    const Node& me = pool[static_cast<std::size_t>(k)];
    const Node& up = pool[static_cast<std::size_t>(me.parent)];
    toks.push_back(token_name(up.i, up.a, me.side));
    k = me.parent;
  }
  std::string out;
  for (auto it = toks.rbegin(); it != toks.rend(); ++it) out += (out.empty() ? "" : "/") + *it;
  return out;
}

}  // namespace

std::vector<CBox> replay_partition(const CBox& root, const std::vector<Leaf>& leaves) {
  if (leaves.empty()) throw Invalid("partition does not cover the region: it has no leaves");
  const long n = root.n(), d = root.d();
  std::vector<Node> pool(1);
  std::vector<CBox> boxes;
  boxes.reserve(leaves.size());
  for (const Leaf& leaf : leaves) {
    const std::vector<Split> s = parse_path(leaf.path, n, d);
    CBox b = root;
    long node = 0;
    for (std::size_t k = 0; k < s.size(); ++k) {
      Node& nd = pool[static_cast<std::size_t>(node)];
      if (nd.leaf)
        throw Invalid("partition leaves overlap: leaf \"" + leaf.path + "\" lies inside leaf \"" + prefix_name(s, k) + "\"");
      if (nd.split && (nd.i != s[k].i || nd.a != s[k].a))
        throw Invalid("partition is inconsistent: node " + prefix_name(s, k) + " is split at entry " +
                      entry(nd.i, nd.a) + " and at " + entry(s[k].i, s[k].a));
      nd.split = true;
      nd.i = s[k].i;
      nd.a = s[k].a;
      const auto m = split_point(b.lo(s[k].i, s[k].a), b.hi(s[k].i, s[k].a));
      if (!m)
        throw Invalid("partition leaf \"" + leaf.path + "\": entry " + entry(s[k].i, s[k].a) + " of node " +
                      prefix_name(s, k) + " cannot be split (no double strictly inside)");
      if (s[k].right) b.lo(s[k].i, s[k].a) = *m;
      else b.hi(s[k].i, s[k].a) = *m;
      const int side = s[k].right ? 1 : 0;
      long next = pool[static_cast<std::size_t>(node)].child[side];
      if (next < 0) {
        next = static_cast<long>(pool.size());
        Node child;
        child.parent = node;
        child.side = side;
        pool.push_back(child);
        pool[static_cast<std::size_t>(node)].child[side] = next;
      }
      node = next;
    }
    Node& nd = pool[static_cast<std::size_t>(node)];
    if (nd.leaf) throw Invalid("partition lists leaf \"" + leaf.path + "\" twice");
    if (nd.split) throw Invalid("partition leaves overlap: leaf \"" + leaf.path + "\" contains other leaves");
    nd.leaf = true;
    if (leaf.box && (leaf.box->lo != b.lo || leaf.box->hi != b.hi))
      throw Invalid("partition leaf \"" + leaf.path + "\": the recorded box is not the box its path replays to");
    boxes.push_back(std::move(b));
  }
  for (std::size_t k = 0; k < pool.size(); ++k) {
    const Node& nd = pool[k];
    if (!nd.split) continue;
    for (int side = 0; side < 2; ++side)
      if (nd.child[side] < 0) {
        const std::string name = node_name(pool, static_cast<long>(k));
        throw Invalid("partition does not cover the region: missing child " + token_name(nd.i, nd.a, side) + " of " +
                      (name.empty() ? "the root" : "path " + name));
      }
  }
  return boxes;
}

}  // namespace attnbound::check
