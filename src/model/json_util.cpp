#include "model/json_util.hpp"

#include <charconv>
#include <set>
#include <vector>

#include "core/rounding.hpp"
#include "model/layer.hpp"

namespace attnbound::model_detail {

json parse_json_strict(std::string_view text, const std::string& label, int max_depth) {
  // JSON decimals become doubles through strtod, which honours the current rounding mode.
  RoundingGuard nearest(Rounding::nearest);
  std::vector<std::set<std::string>> keys;  // one set per open object
  std::string duplicate;
  bool too_deep = false;
  json::parser_callback_t cb = [&](int depth, json::parse_event_t ev, json& parsed) {
    switch (ev) {
      case json::parse_event_t::object_start:
        keys.emplace_back();
        [[fallthrough]];
      case json::parse_event_t::array_start:
        if (depth >= max_depth) too_deep = true;
        break;
      case json::parse_event_t::object_end:
        if (!keys.empty()) keys.pop_back();
        break;
      case json::parse_event_t::key:
        if (!keys.empty() && parsed.is_string() &&
            !keys.back().insert(parsed.get<std::string>()).second && duplicate.empty())
          duplicate = parsed.get<std::string>();
        break;
      default:
        break;
    }
    return true;
  };
  json j;
  try {
    j = json::parse(text.begin(), text.end(), cb, /*allow_exceptions=*/true,
                    /*ignore_comments=*/false);
  } catch (const json::exception& e) {
    std::string msg = e.what();
    // "[json.exception.parse_error.101] parse error at line 1, ..." -> "parse error at line 1, ..."
    if (auto p = msg.find("] "); p != std::string::npos && msg.rfind("[json.exception", 0) == 0)
      msg = msg.substr(p + 2);
    throw ModelError(label + ": not valid JSON: " + msg);
  }
  if (too_deep)
    throw ModelError(label + ": JSON nested deeper than " + std::to_string(max_depth) + " levels");
  if (!duplicate.empty()) throw ModelError(label + ": duplicate key " + json_string(duplicate));
  return j;
}

std::string exact_decimal(double x) {
  char buf[64];
  auto r = std::to_chars(buf, buf + sizeof buf, x);  // shortest round-trip (C++17 guarantee)
  std::string s(buf, r.ptr);
  if (s.find_first_of(".eEn") == std::string::npos) s += ".0";  // "-0" -> "-0.0", "1" -> "1.0"
  return s;
}

std::string json_string(const std::string& s) {
  return json(s).dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string json_kind(const json& v) {
  switch (v.type()) {
    case json::value_t::null: return "null";
    case json::value_t::boolean: return "a boolean";
    case json::value_t::string: return "a string";
    case json::value_t::array: return "an array";
    case json::value_t::object: return "an object";
    case json::value_t::number_integer:
    case json::value_t::number_unsigned:
    case json::value_t::number_float: return "a number";
    default: return "an unsupported value";
  }
}

}  // namespace attnbound::model_detail
