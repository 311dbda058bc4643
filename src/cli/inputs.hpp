// Reading user input files: token matrices (points, centres) and boxes.
#pragma once

#include <string>

#include "core/matrix.hpp"
#include "region/region.hpp"

namespace attnbound::cli {

/// An n × d matrix from FILE: either n lines of d whitespace-separated numbers (blank lines and
/// lines starting with '#' ignored) or a JSON array of n arrays of d numbers. Every number becomes
/// the double nearest to its decimal. Throws InputError naming the file and line/entry on any
/// problem (unreadable, ragged rows, non-numbers, non-finite values, d != expected_d).
Matrix read_tokens(const std::string& path, long expected_d);

/// A box from a JSON file {"lo": n×d, "hi": n×d} with lo <= hi entrywise.
Box read_box(const std::string& path, long expected_d);

}  // namespace attnbound::cli
