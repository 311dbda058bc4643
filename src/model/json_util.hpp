// Module-internal JSON helpers of src/model: a strict parser (no duplicate keys, bounded depth,
// errors as one-line ModelErrors) and exact number output.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

namespace attnbound::model_detail {

using json = nlohmann::json;

/// Parses `text` as JSON. ModelError "<label>: ..." on a syntax error (with line and column), a
/// duplicate key in any object, nesting deeper than `max_depth`, or a number out of double range.
/// Numbers are converted under round-to-nearest whatever the caller's rounding mode.
json parse_json_strict(std::string_view text, const std::string& label, int max_depth);

/// The shortest decimal that reads back as exactly `x` (std::to_chars), always with a '.' or an
/// exponent so that JSON readers see a floating-point number (keeps the sign of -0.0).
/// Precondition: x is finite.
std::string exact_decimal(double x);

/// A JSON string literal (quoted, escaped).
std::string json_string(const std::string& s);

/// Short description of a JSON value's type for messages ("a string", "null", "an object", ...).
std::string json_kind(const json& v);

}  // namespace attnbound::model_detail
