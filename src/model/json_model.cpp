// The attnbound-model JSON format: paper form (DESIGN.md contract) and the full form defined in
// docs/models.md. Reader: strict, every message names the JSON path. Writer: exact decimals.
#include <bit>
#include <cctype>
#include <cmath>
#include <cstring>
#include <initializer_list>
#include <sstream>

#include "core/rounding.hpp"
#include "model/file_io.hpp"
#include "model/json_util.hpp"
#include "model/model.hpp"

namespace attnbound {

using model_detail::json;
using model_detail::json_kind;
using model_detail::json_string;

namespace {

constexpr int kMaxDepth = 16;           // the format needs 4 levels
constexpr std::uint64_t kMaxDim = 1u << 24;  // any real d, d_k; keeps products far from overflow

class Reader {
 public:
  explicit Reader(const std::string& label) : label_(label) {}

  [[noreturn]] void fail(const std::string& path, const std::string& what) const {
    throw ModelError(label_ + ": " + (path.empty() ? "" : path + ": ") + what);
  }

  void only_keys(const json& obj, const std::string& path, std::initializer_list<const char*> allowed,
                 const char* hint = nullptr) const {
    for (auto it = obj.begin(); it != obj.end(); ++it) {
      bool ok = false;
      for (const char* a : allowed) ok = ok || it.key() == a;
      if (!ok) fail(path, "unknown field " + json_string(it.key()) + (hint ? hint : ""));
    }
  }

  const json& need(const json& obj, const std::string& path, const char* key) const {
    auto it = obj.find(key);
    if (it == obj.end()) fail(path, std::string("missing field \"") + key + "\"");
    return *it;
  }

  static std::string sub(const std::string& path, const char* key) {
    return path.empty() ? std::string(key) : path + "." + key;
  }

  std::uint64_t positive_int(const json& v, const std::string& path, std::uint64_t max) const {
    if (v.is_number_unsigned()) {
      auto x = v.get<std::uint64_t>();
      if (x >= 1 && x <= max) return x;
      fail(path, "must be between 1 and " + std::to_string(max) + " (got " + std::to_string(x) + ")");
    }
    if (v.is_number_integer()) fail(path, "must be >= 1 (got " + std::to_string(v.get<std::int64_t>()) + ")");
    if (v.is_number_float()) fail(path, "must be an integer (got " + v.dump() + ")");
    fail(path, "is " + json_kind(v) + ", expected a positive integer");
  }

  double number(const json& v, const std::string& path) const {
    double x = 0;
    if (v.is_number_float()) {
      x = v.get<double>();
    } else if (v.is_number_unsigned()) {
      x = static_cast<double>(v.get<std::uint64_t>());  // nearest (guard in model_from_json)
    } else if (v.is_number_integer()) {
      x = static_cast<double>(v.get<std::int64_t>());
    } else if (v.is_string()) {
      std::string s = v.get<std::string>();
      std::string t;
      for (char c : s)
        if (c != '+' && c != '-') t += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      if (t == "nan" || t == "inf" || t == "infinity")
        fail(path, "non-finite value " + json_string(s) + " (NaN and infinities are not allowed)");
      fail(path, "is a string (" + json_string(s.substr(0, 40)) + "), expected a number");
    } else {
      fail(path, "is " + json_kind(v) + ", expected a number");
    }
    if (!std::isfinite(x)) fail(path, "non-finite value");
    return x;
  }

  Matrix matrix(const json& v, const std::string& path, std::uint64_t rows, std::uint64_t cols,
                const char* rows_name) const {
    if (!v.is_array()) fail(path, "is " + json_kind(v) + ", expected an array of rows");
    if (v.size() != rows)
      fail(path, "has " + std::to_string(v.size()) + " rows, expected " + rows_name + " = " +
                     std::to_string(rows));
    for (std::size_t i = 0; i < v.size(); ++i) {
      if (!v[i].is_array()) fail(path, "row " + std::to_string(i) + " is " + json_kind(v[i]) + ", expected an array");
      if (v[i].size() != cols)
        fail(path, "row " + std::to_string(i) + " has " + std::to_string(v[i].size()) +
                       " entries, expected " + std::to_string(cols));
    }
    // Sizes are now those of data actually present in the input: allocation is bounded by it.
    Matrix m(static_cast<Eigen::Index>(rows), static_cast<Eigen::Index>(cols));
    for (std::size_t i = 0; i < rows; ++i)
      for (std::size_t j = 0; j < cols; ++j)
        m(static_cast<Eigen::Index>(i), static_cast<Eigen::Index>(j)) =
            number(v[i][j], path + "[" + std::to_string(i) + "][" + std::to_string(j) + "]");
    return m;
  }

  /// Rows of a matrix whose row count is not declared (W_V): at least one, at most kMaxDim.
  std::uint64_t row_count(const json& v, const std::string& path) const {
    if (!v.is_array()) fail(path, "is " + json_kind(v) + ", expected an array of rows");
    if (v.empty()) fail(path, "has no rows");
    if (v.size() > kMaxDim) fail(path, "has too many rows");
    return v.size();
  }

  Vector vector(const json& v, const std::string& path, std::uint64_t len, const char* len_name) const {
    if (!v.is_array()) fail(path, "is " + json_kind(v) + ", expected an array of numbers");
    if (v.size() != len)
      fail(path, "has " + std::to_string(v.size()) + " entries, expected " + len_name + " = " +
                     std::to_string(len));
    Vector x(static_cast<Eigen::Index>(len));
    for (std::size_t i = 0; i < len; ++i)
      x(static_cast<Eigen::Index>(i)) = number(v[i], path + "[" + std::to_string(i) + "]");
    return x;
  }

  Vector optional_vector(const json& obj, const std::string& path, const char* key, std::uint64_t len,
                         const char* len_name) const {
    auto it = obj.find(key);
    if (it == obj.end()) return Vector::Zero(static_cast<Eigen::Index>(len));
    return vector(*it, sub(path, key), len, len_name);
  }

  Norm norm(const json& v, long d) const {
    const std::string path = "norm";
    if (!v.is_object()) fail(path, "is " + json_kind(v) + ", expected an object");
    only_keys(v, path, {"kind", "gamma", "beta", "eps"});
    const json& kind = need(v, path, "kind");
    Norm n;
    if (kind == "layernorm") {
      n.kind = Norm::Kind::layernorm;
    } else if (kind == "rmsnorm") {
      n.kind = Norm::Kind::rmsnorm;
    } else {
      fail(sub(path, "kind"), "must be \"layernorm\" or \"rmsnorm\" (got " + kind.dump() + ")");
    }
    const auto ud = static_cast<std::uint64_t>(d);
    n.gamma = vector(need(v, path, "gamma"), sub(path, "gamma"), ud, "d");
    if (n.kind == Norm::Kind::layernorm) {
      n.beta = vector(need(v, path, "beta"), sub(path, "beta"), ud, "d");
    } else if (v.contains("beta")) {
      fail(sub(path, "beta"), "an RMSNorm has no beta");
    }
    if (auto it = v.find("eps"); it != v.end()) {
      n.eps = number(*it, sub(path, "eps"));
      if (n.eps < 0) fail(sub(path, "eps"), "must be >= 0");
    }
    return n;
  }

 private:
  const std::string& label_;
};

}  // namespace

AttentionLayer model_from_json(std::string_view text, const std::string& label) {
  const json j = model_detail::parse_json_strict(text, label, kMaxDepth);
  RoundingGuard nearest(Rounding::nearest);  // integer -> double conversions
  Reader r(label);
  if (!j.is_object()) r.fail("", "the document is " + json_kind(j) + ", expected an object");
  r.only_keys(j, "", {"format", "version", "form", "d", "mask", "heads", "b_O", "norm", "source"});

  const json& format = r.need(j, "", "format");
  if (format != "attnbound-model")
    r.fail("format", "must be \"attnbound-model\" (got " + format.dump() + ")");
  if (auto it = j.find("version"); it != j.end() && !(it->is_number_unsigned() && *it == 1))
    r.fail("version", "unsupported version " + it->dump() + " (this reader knows version 1)");

  bool full = false;
  if (auto it = j.find("form"); it != j.end()) {
    if (*it == "full") {
      full = true;
    } else if (*it != "paper") {
      r.fail("form", "must be \"paper\" or \"full\" (got " + it->dump() + ")");
    }
  }

  const std::uint64_t d = r.positive_int(r.need(j, "", "d"), "d", kMaxDim);

  Mask mask = Mask::none;
  if (auto it = j.find("mask"); it != j.end()) {
    if (*it == "causal") {
      mask = Mask::causal;
    } else if (*it != "none") {
      r.fail("mask", "must be \"none\" or \"causal\" (got " + it->dump() + ")");
    }
  }

  const json& heads = r.need(j, "", "heads");
  if (!heads.is_array()) r.fail("heads", "is " + json_kind(heads) + ", expected an array");
  if (heads.empty()) r.fail("heads", "is empty (a model needs at least one head)");

  AttentionLayer L;
  try {
    if (!full) {
      if (j.contains("b_O")) r.fail("b_O", "a paper-form model has no output bias (use \"form\": \"full\")");
      std::vector<Matrix> A, V;
      for (std::size_t h = 0; h < heads.size(); ++h) {
        const std::string p = "heads[" + std::to_string(h) + "]";
        const json& H = heads[h];
        if (!H.is_object()) r.fail(p, "is " + json_kind(H) + ", expected an object");
        r.only_keys(H, p, {"A", "V"}, " (paper form has A and V; use \"form\": \"full\" for W_Q, W_K, ...)");
        A.push_back(r.matrix(r.need(H, p, "A"), p + ".A", d, d, "d"));
        V.push_back(r.matrix(r.need(H, p, "V"), p + ".V", d, d, "d"));
      }
      L = make_paper_layer(A, V, mask);
    } else {
      L.d = static_cast<long>(d);
      L.mask = mask;
      for (std::size_t h = 0; h < heads.size(); ++h) {
        const std::string p = "heads[" + std::to_string(h) + "]";
        const json& H = heads[h];
        if (!H.is_object()) r.fail(p, "is " + json_kind(H) + ", expected an object");
        r.only_keys(H, p, {"d_k", "logit_divisor", "W_Q", "W_K", "W_V", "W_O", "b_Q", "b_K", "b_V"});
        Head hd;
        const std::uint64_t dk = r.positive_int(r.need(H, p, "d_k"), p + ".d_k", kMaxDim);
        hd.logit_divisor = static_cast<long>(
            r.positive_int(r.need(H, p, "logit_divisor"), p + ".logit_divisor", std::uint64_t{1} << 52));
        hd.Wq = r.matrix(r.need(H, p, "W_Q"), p + ".W_Q", dk, d, "d_k");
        hd.Wk = r.matrix(r.need(H, p, "W_K"), p + ".W_K", dk, d, "d_k");
        const json& wv = r.need(H, p, "W_V");
        const std::uint64_t dv = r.row_count(wv, p + ".W_V");
        hd.Wv = r.matrix(wv, p + ".W_V", dv, d, "rows");
        hd.Wo = r.matrix(r.need(H, p, "W_O"), p + ".W_O", d, dv, "d");
        hd.bq = r.optional_vector(H, p, "b_Q", dk, "d_k");
        hd.bk = r.optional_vector(H, p, "b_K", dk, "d_k");
        hd.bv = r.optional_vector(H, p, "b_V", dv, "the rows of W_V");
        L.heads.push_back(std::move(hd));
      }
      L.bo = r.optional_vector(j, "", "b_O", d, "d");
    }
    if (auto it = j.find("norm"); it != j.end()) L.norm = r.norm(*it, L.d);
    L.source = label;
    if (auto it = j.find("source"); it != j.end()) {
      if (!it->is_string()) r.fail("source", "is " + json_kind(*it) + ", expected a string");
      std::string note = it->get<std::string>().substr(0, 200);
      for (char& c : note)
        if (static_cast<unsigned char>(c) < 0x20) c = ' ';  // keeps messages built from source one line
      L.source += " (" + note + ")";
    }
    L.validate();
  } catch (const ModelError& e) {
    std::string msg = e.what();
    if (msg.rfind(label + ": ", 0) == 0) throw;
    throw ModelError(label + ": " + msg);
  }
  return L;
}

// ---- writer --------------------------------------------------------------------------------------

namespace {

bool bits_equal(double a, double b) { return std::bit_cast<std::uint64_t>(a) == std::bit_cast<std::uint64_t>(b); }

template <class M>
bool all_bits(const M& m, double v) {
  for (Eigen::Index i = 0; i < m.size(); ++i)
    if (!bits_equal(m.data()[i], v)) return false;
  return true;
}

bool is_identity_bits(const Matrix& m, long d) {
  if (m.rows() != d || m.cols() != d) return false;
  for (long i = 0; i < d; ++i)
    for (long j = 0; j < d; ++j)
      if (!bits_equal(m(i, j), i == j ? 1.0 : 0.0)) return false;
  return true;
}

/// True when the paper form represents the layer bit for bit (reading it back gives the same digest).
bool writable_as_paper(const AttentionLayer& L) {
  if (!L.paper_form || !all_bits(L.bo, 0.0)) return false;
  for (const Head& h : L.heads) {
    if (h.logit_divisor != 1 || !is_identity_bits(h.Wq, L.d) || !is_identity_bits(h.Wo, L.d)) return false;
    if (h.Wk.rows() != L.d || h.Wv.rows() != L.d) return false;
    if (!all_bits(h.bq, 0.0) || !all_bits(h.bk, 0.0) || !all_bits(h.bv, 0.0)) return false;
  }
  return true;
}

void put_vector(std::ostringstream& os, const Vector& v) {
  os << '[';
  for (Eigen::Index i = 0; i < v.size(); ++i) os << (i ? ", " : "") << model_detail::exact_decimal(v(i));
  os << ']';
}

void put_matrix(std::ostringstream& os, const Matrix& m, const std::string& indent) {
  os << '[';
  for (Eigen::Index i = 0; i < m.rows(); ++i) {
    if (i) os << ",\n" << indent << ' ';
    os << '[';
    for (Eigen::Index j = 0; j < m.cols(); ++j) os << (j ? ", " : "") << model_detail::exact_decimal(m(i, j));
    os << ']';
  }
  os << ']';
}

}  // namespace

std::string model_to_json(const AttentionLayer& L) {
  L.validate();
  RoundingGuard nearest(Rounding::nearest);
  const bool paper = writable_as_paper(L);
  std::ostringstream os;
  os << "{\n  \"format\": \"attnbound-model\",\n  \"version\": 1,\n  \"form\": \""
     << (paper ? "paper" : "full") << "\",\n  \"d\": " << L.d << ",\n  \"mask\": \"" << to_string(L.mask)
     << "\",\n";
  if (!L.source.empty()) os << "  \"source\": " << json_string(L.source) << ",\n";
  os << "  \"heads\": [";
  const std::string ind = "          ";
  for (std::size_t h = 0; h < L.heads.size(); ++h) {
    const Head& H = L.heads[h];
    os << (h ? ",\n    {" : "\n    {");
    if (paper) {
      os << "\"A\": ";
      put_matrix(os, H.Wk, ind);
      os << ",\n     \"V\": ";
      put_matrix(os, H.Wv, ind);
    } else {
      os << "\"d_k\": " << H.dk() << ", \"logit_divisor\": " << H.logit_divisor;
      const std::pair<const char*, const Matrix*> mats[] = {
          {"W_Q", &H.Wq}, {"W_K", &H.Wk}, {"W_V", &H.Wv}, {"W_O", &H.Wo}};
      for (const auto& [name, m] : mats) {
        os << ",\n     \"" << name << "\": ";
        put_matrix(os, *m, ind);
      }
      const std::pair<const char*, const Vector*> vecs[] = {{"b_Q", &H.bq}, {"b_K", &H.bk}, {"b_V", &H.bv}};
      for (const auto& [name, v] : vecs) {
        os << ",\n     \"" << name << "\": ";
        put_vector(os, *v);
      }
    }
    os << '}';
  }
  os << "\n  ]";
  if (!paper) {
    os << ",\n  \"b_O\": ";
    put_vector(os, L.bo);
  }
  if (L.norm.kind != Norm::Kind::none) {
    os << ",\n  \"norm\": {\"kind\": \"" << (L.norm.kind == Norm::Kind::layernorm ? "layernorm" : "rmsnorm")
       << "\", \"eps\": " << model_detail::exact_decimal(L.norm.eps) << ",\n    \"gamma\": ";
    put_vector(os, L.norm.gamma);
    if (L.norm.kind == Norm::Kind::layernorm) {
      os << ",\n    \"beta\": ";
      put_vector(os, L.norm.beta);
    }
    os << '}';
  }
  os << "\n}\n";
  return os.str();
}

void save_model_json(const AttentionLayer& layer, const std::string& path) {
  std::string text;
  try {
    text = model_to_json(layer);
  } catch (const ModelError& e) {
    throw ModelError(path + ": cannot save an invalid model: " + e.what());
  }
  model_detail::write_file_atomically(path, text);
}

}  // namespace attnbound
