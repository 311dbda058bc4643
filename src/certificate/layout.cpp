// certificate_layout: the certificate's text. Exact numbers (shortest round-trip decimals through
// std::to_chars, which the C++ standard guarantees to read back as the same double) and a layout
// for people and diffs: one key per line, one matrix row per line, one partition leaf per line.
#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <stdexcept>
#include <string_view>
#include <vector>

#include "certificate/certificate.hpp"

namespace attnbound {

namespace {

using nlohmann::json;

void put_double(std::string& out, double v) {
  if (!std::isfinite(v)) throw std::invalid_argument("certificate: a non-finite number cannot be written");
  std::array<char, 64> buf;
  const auto r = std::to_chars(buf.data(), buf.data() + buf.size(), v);
  const std::string_view s(buf.data(), static_cast<std::size_t>(r.ptr - buf.data()));
  out += s;
  // Keep it a floating-point literal for every reader ("2" would parse as an integer).
  if (s.find_first_of(".e") == std::string_view::npos) out += ".0";
}

void put_scalar(std::string& out, const json& j) {
  switch (j.type()) {
    case json::value_t::number_float:
      put_double(out, j.get<double>());
      break;
    case json::value_t::number_integer:
      out += std::to_string(j.get<std::int64_t>());
      break;
    case json::value_t::number_unsigned:
      out += std::to_string(j.get<std::uint64_t>());
      break;
    default:
      out += j.dump();  // strings (escaped, UTF-8 kept), booleans, null
  }
}

/// Keys in reading order: the contract keys first, the rest alphabetically.
int key_rank(const std::string& k) {
  static const std::array<std::string_view, 24> order = {
      "format", "version", "tool", "arithmetic", "model", "region", "claim", "evidence", "run",
      "kind", "tier", "name", "quantity", "lower", "upper", "sha256", "spec", "path", "engine_tier",
      "engine_upper", "root", "method", "n", "d"};
  const auto it = std::find(order.begin(), order.end(), k);
  return it == order.end() ? static_cast<int>(order.size()) : static_cast<int>(it - order.begin());
}

std::vector<std::string> ordered_keys(const json& obj) {
  std::vector<std::string> keys;
  for (auto it = obj.begin(); it != obj.end(); ++it) keys.push_back(it.key());
  std::stable_sort(keys.begin(), keys.end(), [](const std::string& a, const std::string& b) {
    const int ra = key_rank(a), rb = key_rank(b);
    return ra != rb ? ra < rb : a < b;
  });
  return keys;
}

bool is_scalar(const json& j) { return !j.is_array() && !j.is_object(); }

bool all_scalars(const json& arr) {
  return std::all_of(arr.begin(), arr.end(), [](const json& e) { return is_scalar(e); });
}

/// Everything on one line.
void put_compact(std::string& out, const json& j) {
  if (j.is_object()) {
    out += "{";
    bool first = true;
    for (const std::string& k : ordered_keys(j)) {
      if (!first) out += ", ";
      first = false;
      out += json(k).dump();
      out += ": ";
      put_compact(out, j.at(k));
    }
    out += "}";
  } else if (j.is_array()) {
    out += "[";
    for (std::size_t i = 0; i < j.size(); ++i) {
      if (i) out += ", ";
      put_compact(out, j[i]);
    }
    out += "]";
  } else {
    put_scalar(out, j);
  }
}

void put_layout(std::string& out, const json& j, int indent) {
  const std::string pad(static_cast<std::size_t>(indent), ' ');
  const std::string inner(static_cast<std::size_t>(indent + 2), ' ');
  if (j.is_object()) {
    if (j.empty()) {
      out += "{}";
      return;
    }
    out += "{\n";
    bool first = true;
    for (const std::string& k : ordered_keys(j)) {
      if (!first) out += ",\n";
      first = false;
      out += inner;
      out += json(k).dump();
      out += ": ";
      put_layout(out, j.at(k), indent + 2);
    }
    out += "\n" + pad + "}";
  } else if (j.is_array()) {
    if (j.empty() || all_scalars(j)) {
      put_compact(out, j);
      return;
    }
    // Rows of a matrix, partition leaves, lists of objects: one element per line.
    out += "[\n";
    for (std::size_t i = 0; i < j.size(); ++i) {
      if (i) out += ",\n";
      out += inner;
      put_compact(out, j[i]);
    }
    out += "\n" + pad + "]";
  } else {
    put_scalar(out, j);
  }
}

}  // namespace

std::string certificate_layout(const json& j) {
  std::string out;
  put_layout(out, j, 0);
  return out;
}

}  // namespace attnbound
