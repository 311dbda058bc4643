// read_certificate: the checker's own reader of version-1 certificates (docs/certificate.md).
//
// Strict about types and shapes, lenient about extra keys (informational fields such as "run"
// may grow). Numbers are parsed under round-to-nearest (strtod follows the rounding mode), so a
// decimal written by the engine reads back as the exact double it proved. Any failure is an
// Unreadable naming the key at fault.
#include <cmath>
#include <nlohmann/json.hpp>

#include "internal.hpp"

namespace attnbound::check {

namespace {

using nlohmann::json;

constexpr int kMaxDepth = 16;
constexpr long kMaxDim = 1L << 24;

[[noreturn]] void bad(const std::string& where, const std::string& what) {
  throw Unreadable(where + ": " + what);
}

const json& key(const json& obj, const char* k, const std::string& where) {
  if (!obj.is_object()) bad(where, "expected an object");
  auto it = obj.find(k);
  if (it == obj.end()) bad(where, std::string("missing key \"") + k + "\"");
  return *it;
}

const json* opt_key(const json& obj, const char* k) {
  auto it = obj.find(k);
  return it == obj.end() || it->is_null() ? nullptr : &*it;
}

std::string str(const json& j, const std::string& where) {
  if (!j.is_string()) bad(where, "expected a string");
  return j.get<std::string>();
}

/// A finite double (integers too when exactly representable, |v| <= 2^53); nullptr on success,
/// else what is wrong.
const char* to_double(const json& j, double& out) {
  if (j.is_number_float()) {
    out = j.get<double>();
    return std::isfinite(out) ? nullptr : "not a finite number";
  }
  if (j.is_number_unsigned()) {
    const auto u = j.get<std::uint64_t>();
    if (u > (std::uint64_t{1} << 53)) return "integer too large to be an exact double";
    out = static_cast<double>(u);
    return nullptr;
  }
  if (j.is_number_integer()) {
    const auto v = j.get<std::int64_t>();
    if (v > (std::int64_t{1} << 53) || v < -(std::int64_t{1} << 53)) return "integer too large to be an exact double";
    out = static_cast<double>(v);
    return nullptr;
  }
  return "expected a number";
}

double num(const json& j, const std::string& where) {
  double v = 0;
  if (const char* err = to_double(j, v)) bad(where, err);
  return v;
}

long integer(const json& j, const std::string& where, long lo, long hi) {
  if (!j.is_number_integer()) bad(where, "expected an integer");
  if (j.is_number_unsigned()) {
    const auto u = j.get<std::uint64_t>();
    if (u > static_cast<std::uint64_t>(hi)) bad(where, "out of range");
    return static_cast<long>(u);
  }
  const auto v = j.get<std::int64_t>();
  if (v < lo || v > hi) bad(where, "out of range");
  return static_cast<long>(v);
}

/// An n×d matrix of finite numbers (array of n rows of d numbers). n, d < 0: take from the data.
Matrix matrix(const json& j, long n, long d, const std::string& where) {
  if (!j.is_array()) bad(where, "expected an array of rows");
  if (n >= 0 && static_cast<long>(j.size()) != n)
    bad(where, "has " + std::to_string(j.size()) + " rows, expected " + std::to_string(n));
  if (j.empty()) bad(where, "empty matrix");
  const long rows = static_cast<long>(j.size());
  if (d < 0) {
    if (!j[0].is_array()) bad(where + "[0]", "expected an array of numbers");
    d = static_cast<long>(j[0].size());
  }
  if (d < 1) bad(where, "empty rows");
  if (rows > kMaxDim / d) bad(where, "too large");
  Matrix M(rows, d);
  for (long i = 0; i < rows; ++i) {
    // Locations are only spelled out on failure (large partitions hold millions of numbers).
    auto wi = [&] { return where + "[" + std::to_string(i) + "]"; };
    const json& r = j[static_cast<std::size_t>(i)];
    if (!r.is_array()) bad(wi(), "expected an array of numbers");
    if (static_cast<long>(r.size()) != d)
      bad(wi(), "has " + std::to_string(r.size()) + " entries, expected " + std::to_string(d));
    for (long a = 0; a < d; ++a)
      if (const char* err = to_double(r[static_cast<std::size_t>(a)], M(i, a)))
        bad(wi() + "[" + std::to_string(a) + "]", err);
  }
  return M;
}

/// True if the JSON text nests arrays/objects deeper than `limit` (brackets inside strings do not
/// count). A cheap pre-pass, so the parser itself runs without a callback.
bool nested_deeper_than(std::string_view text, int limit) {
  int depth = 0;
  bool in_string = false, escaped = false;
  for (const char ch : text) {
    if (in_string) {
      if (escaped) escaped = false;
      else if (ch == '\\') escaped = true;
      else if (ch == '"') in_string = false;
    } else if (ch == '"') {
      in_string = true;
    } else if (ch == '[' || ch == '{') {
      if (++depth > limit) return true;
    } else if (ch == ']' || ch == '}') {
      --depth;
    }
  }
  return false;
}

/// Parses with a nesting limit (deeply nested input is rejected before it costs anything).
json parse(std::string_view text) {
  if (nested_deeper_than(text, kMaxDepth))
    throw Unreadable("not a certificate: JSON nested deeper than " + std::to_string(kMaxDepth));
  RoundingGuard nearest(Rounding::nearest);
  try {
    return json::parse(text.begin(), text.end());
  } catch (const json::exception& e) {
    std::string m = e.what();
    if (text.empty()) m = "empty file";
    throw Unreadable("not valid JSON (truncated or corrupted?): " + m);
  }
}

void read_model(const json& m, Certificate& c) {
  c.sha256 = str(key(m, "sha256", "model"), "model.sha256");
  if (c.sha256.size() != 64 || c.sha256.find_first_not_of("0123456789abcdef") != std::string::npos)
    bad("model.sha256", "expected 64 lowercase hex digits");
  c.spec = str(key(m, "spec", "model"), "model.spec");
  if (const json* load = opt_key(m, "load")) {
    if (!load->is_object()) bad("model.load", "expected an object");
    if (const json* a = opt_key(*load, "arch")) c.arch = str(*a, "model.load.arch");
    if (const json* a = opt_key(*load, "layer")) c.layer = static_cast<int>(integer(*a, "model.load.layer", 0, 1 << 20));
    if (const json* a = opt_key(*load, "n_heads")) c.n_heads = static_cast<int>(integer(*a, "model.load.n_heads", 0, 1 << 20));
    if (const json* a = opt_key(*load, "mask")) c.mask = str(*a, "model.load.mask");
    if (const json* a = opt_key(*load, "seed")) {
      if (!a->is_number_unsigned() && !(a->is_number_integer() && a->get<std::int64_t>() >= 0))
        bad("model.load.seed", "expected a non-negative integer");
      c.seed = a->get<std::uint64_t>();
    }
    if (const json* a = opt_key(*load, "heads")) {
      if (!a->is_array() || a->size() > 4096) bad("model.load.heads", "expected an array of head indices");
      std::vector<int> h;
      for (std::size_t i = 0; i < a->size(); ++i)
        h.push_back(static_cast<int>(integer((*a)[i], "model.load.heads[" + std::to_string(i) + "]", 0, 1 << 20)));
      c.heads = h;
    }
  }
}

void read_region(const json& r, Certificate& c) {
  const std::string kind = str(key(r, "kind", "region"), "region.kind");
  c.n = integer(key(r, "n", "region"), "region.n", 1, kMaxDim);
  c.d = integer(key(r, "d", "region"), "region.d", 1, kMaxDim);
  if (c.n > kMaxDim / c.d) bad("region", "n·d too large");
  if (kind == "point") {
    c.kind = Certificate::Kind::point;
    const Matrix X = matrix(key(r, "X", "region"), c.n, c.d, "region.X");
    c.box = CBox{X, X};
  } else if (kind == "box") {
    c.kind = Certificate::Kind::box;
    c.box = CBox{matrix(key(r, "lo", "region"), c.n, c.d, "region.lo"),
                 matrix(key(r, "hi", "region"), c.n, c.d, "region.hi")};
  } else if (kind == "ball") {
    c.kind = Certificate::Kind::ball;
    c.R = num(key(r, "R", "region"), "region.R");
    if (const json* s = opt_key(r, "R_source")) {
      const std::string src = str(*s, "region.R_source");
      if (src != "given" && src != "layernorm") bad("region.R_source", "expected \"given\" or \"layernorm\"");
      c.R_from_norm = src == "layernorm";
    }
  } else if (kind == "l2") {
    c.kind = Certificate::Kind::l2;
    c.center = matrix(key(r, "center", "region"), c.n, c.d, "region.center");
    c.rho = num(key(r, "rho", "region"), "region.rho");
    // The bounding box [c − ρ, c + ρ], each end moved one ulp outward (an enclosure).
    c.box = CBox{Matrix(c.n, c.d), Matrix(c.n, c.d)};
    for (Eigen::Index k = 0; k < c.center.size(); ++k) {
      c.box.lo(k) = std::nextafter(c.center(k) - c.rho, -INFINITY);
      c.box.hi(k) = std::nextafter(c.center(k) + c.rho, INFINITY);
    }
  } else {
    bad("region.kind", "unknown region kind \"" + kind.substr(0, 40) + "\" (expected point, box, ball or l2)");
  }
}

void read_claim(const json& cl, Certificate& c) {
  c.lower = num(key(cl, "lower", "claim"), "claim.lower");
  const json& u = key(cl, "upper", "claim");
  if (u.is_string()) {
    const std::string s = u.get<std::string>();
    if (s != "inf" && s != "+inf") bad("claim.upper", "expected a number or \"inf\"");
  } else {
    c.upper = num(u, "claim.upper");
  }
}

Leaf read_leaf(const json& l, std::size_t k, long n, long d) {
  const std::string w = "evidence.upper.leaves[" + std::to_string(k) + "]";
  if (!l.is_object()) bad(w, "expected an object");
  Leaf leaf;
  leaf.path = str(key(l, "path", w), w + ".path");
  leaf.tier = str(key(l, "tier", w), w + ".tier");
  const json* lo = opt_key(l, "lo");
  const json* hi = opt_key(l, "hi");
  if ((lo == nullptr) != (hi == nullptr)) bad(w, "\"lo\" and \"hi\" go together");
  if (lo) leaf.box = CBox{matrix(*lo, n, d, w + ".lo"), matrix(*hi, n, d, w + ".hi")};
  if (const json* h = opt_key(l, "hint")) leaf.hint = matrix(*h, n, d, w + ".hint");
  return leaf;
}

void read_evidence(const json& ev, Certificate& c) {
  const json& lo = key(ev, "lower", "evidence");
  if (!lo.is_object()) bad("evidence.lower", "expected an object");
  if (const json* k = opt_key(lo, "kind")) c.lower_kind = str(*k, "evidence.lower.kind");
  else c.lower_kind = opt_key(lo, "X") ? "witness" : "none";
  if (c.lower_kind == "witness") {
    c.wX = matrix(key(lo, "X", "evidence.lower"), c.n, c.d, "evidence.lower.X");
    c.wdir = matrix(key(lo, "direction", "evidence.lower"), c.n, c.d, "evidence.lower.direction");
  } else if (c.lower_kind != "cluster" && c.lower_kind != "none") {
    bad("evidence.lower.kind", "unknown kind \"" + c.lower_kind.substr(0, 40) + "\"");
  }

  const json& up = key(ev, "upper", "evidence");
  if (!up.is_object()) bad("evidence.upper", "expected an object");
  c.upper_tier = str(key(up, "tier", "evidence.upper"), "evidence.upper.tier");
  if (const json* h = opt_key(up, "hint")) c.hint = matrix(*h, c.n, c.d, "evidence.upper.hint");
  if (c.upper_tier == "analytic") {
    c.statement = str(key(up, "statement", "evidence.upper"), "evidence.upper.statement");
    const json& k = key(up, "constants", "evidence.upper");
    if (!k.is_object()) bad("evidence.upper.constants", "expected an object");
    auto& an = c.analytic;
    an.n = integer(key(k, "n", "evidence.upper.constants"), "evidence.upper.constants.n", 1, 1L << 50);
    an.R2 = num(key(k, "R2", "evidence.upper.constants"), "evidence.upper.constants.R2");
    an.wo = num(key(k, "wo", "evidence.upper.constants"), "evidence.upper.constants.wo");
    an.mask = str(key(k, "mask", "evidence.upper.constants"), "evidence.upper.constants.mask");
    const json& aug = key(k, "augmented", "evidence.upper.constants");
    if (!aug.is_boolean()) bad("evidence.upper.constants.augmented", "expected true or false");
    an.augmented = aug.get<bool>();
    const json& heads = key(k, "heads", "evidence.upper.constants");
    if (!heads.is_array()) bad("evidence.upper.constants.heads", "expected an array");
    for (std::size_t h = 0; h < heads.size(); ++h) {
      const std::string w = "evidence.upper.constants.heads[" + std::to_string(h) + "]";
      if (!heads[h].is_object()) bad(w, "expected an object");
      an.a.push_back(num(key(heads[h], "a", w), w + ".a"));
      an.v.push_back(num(key(heads[h], "v", w), w + ".v"));
      an.w.push_back(num(key(heads[h], "w", w), w + ".w"));
    }
  }
  if (c.upper_tier == "box-first-order") {
    c.fo_centre = matrix(key(up, "centre", "evidence.upper"), c.n, c.d, "evidence.upper.centre");
    c.fo_centre_tier = str(key(up, "centre_tier", "evidence.upper"), "evidence.upper.centre_tier");
    c.fo_centre_upper = num(key(up, "centre_upper", "evidence.upper"), "evidence.upper.centre_upper");
    c.fo_excess = num(key(up, "excess", "evidence.upper"), "evidence.upper.excess");
    // Optional centred subspace form (docs/box.md §3b): k in [1, kMaxSubspace] exact n × d vectors.
    if (const json* sub = opt_key(up, "subspace")) {
      const std::string w = "evidence.upper.subspace";
      if (!sub->is_object()) bad(w, "expected an object");
      const json& vecs = key(*sub, "vectors", w);
      if (!vecs.is_array()) bad(w + ".vectors", "expected an array of matrices");
      if (vecs.empty() || static_cast<long>(vecs.size()) > kMaxSubspace)
        bad(w + ".vectors", "has " + std::to_string(vecs.size()) + " vectors, expected 1 to " +
                                std::to_string(kMaxSubspace));
      for (std::size_t b = 0; b < vecs.size(); ++b)
        c.fo_subspace.push_back(matrix(vecs[b], c.n, c.d, w + ".vectors[" + std::to_string(b) + "]"));
      c.fo_subspace_upper = num(key(*sub, "upper", w), w + ".upper");
    }
  }
  if (c.upper_tier == "partition") {
    c.root = str(key(up, "root", "evidence.upper"), "evidence.upper.root");
    if (c.root != "region" && c.root != "ball-bounding-box")
      bad("evidence.upper.root", "expected \"region\" or \"ball-bounding-box\"");
    const json& leaves = key(up, "leaves", "evidence.upper");
    if (!leaves.is_array()) bad("evidence.upper.leaves", "expected an array");
    c.leaves.reserve(leaves.size());
    for (std::size_t k = 0; k < leaves.size(); ++k) c.leaves.push_back(read_leaf(leaves[k], k, c.n, c.d));
  }
}

}  // namespace

Certificate read_certificate(std::string_view text) {
  const json j = parse(text);
  if (!j.is_object()) throw Unreadable("not a certificate: the top level is not a JSON object");
  const json* fmt = opt_key(j, "format");
  if (!fmt || !fmt->is_string() || fmt->get<std::string>() != "attnbound-certificate")
    throw Unreadable("not a certificate: \"format\" is not \"attnbound-certificate\"");
  const long version = integer(key(j, "version", "certificate"), "version", 0, 1 << 20);
  if (version != 1) throw Unreadable("unsupported certificate version " + std::to_string(version) + " (this checker reads version 1)");
  Certificate c;
  read_model(key(j, "model", "certificate"), c);
  read_region(key(j, "region", "certificate"), c);
  read_claim(key(j, "claim", "certificate"), c);
  read_evidence(key(j, "evidence", "certificate"), c);
  c.engine_seconds = std::nan("");
  if (const json* run = opt_key(j, "run"); run && run->is_object())
    if (const json* s = opt_key(*run, "seconds"); s && s->is_number()) c.engine_seconds = s->get<double>();
  return c;
}

}  // namespace attnbound::check
