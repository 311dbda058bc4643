#include "cli/inputs.hpp"

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <vector>

#include "cli/cli.hpp"
#include "core/rounding.hpp"

namespace attnbound::cli {

namespace {

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError(path + ": cannot open file");
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) throw InputError(path + ": read error");
  return ss.str();
}

double parse_number(const std::string& tok, const std::string& where) {
  RoundingGuard nearest(Rounding::nearest);  // decimal -> nearest double, whatever the caller's mode
  errno = 0;
  char* end = nullptr;
  const double v = std::strtod(tok.c_str(), &end);
  if (end == tok.c_str() || *end != '\0') throw InputError(where + ": '" + tok + "' is not a number");
  if (!std::isfinite(v)) throw InputError(where + ": '" + tok + "' is not a finite number");
  return v;
}

Matrix from_rows(const std::vector<std::vector<double>>& rows, const std::string& path, long expected_d) {
  if (rows.empty()) throw InputError(path + ": no tokens (need at least one row)");
  const long d = static_cast<long>(rows[0].size());
  if (expected_d > 0 && d != expected_d)
    throw InputError(path + ": row 1 has " + std::to_string(d) + " numbers, expected " +
                     std::to_string(expected_d) + " (the model's d)");
  Matrix X(static_cast<long>(rows.size()), d);
  for (std::size_t i = 0; i < rows.size(); ++i) {
    if (static_cast<long>(rows[i].size()) != d)
      throw InputError(path + ": row " + std::to_string(i + 1) + " has " +
                       std::to_string(rows[i].size()) + " numbers, expected " + std::to_string(d));
    for (long a = 0; a < d; ++a) X(static_cast<long>(i), a) = rows[i][a];
  }
  return X;
}

std::vector<std::vector<double>> json_rows(const nlohmann::json& j, const std::string& where) {
  if (!j.is_array()) throw InputError(where + ": expected an array of rows");
  std::vector<std::vector<double>> rows;
  for (std::size_t i = 0; i < j.size(); ++i) {
    const auto& r = j[i];
    if (!r.is_array()) throw InputError(where + "[" + std::to_string(i) + "]: expected an array of numbers");
    std::vector<double> row;
    for (std::size_t a = 0; a < r.size(); ++a) {
      const std::string w = where + "[" + std::to_string(i) + "][" + std::to_string(a) + "]";
      if (r[a].is_number()) {
        const double v = r[a].get<double>();
        if (!std::isfinite(v)) throw InputError(w + ": not a finite number");
        row.push_back(v);
      } else {
        throw InputError(w + ": not a number");
      }
    }
    rows.push_back(std::move(row));
  }
  return rows;
}

nlohmann::json parse_json(const std::string& text, const std::string& path) {
  RoundingGuard nearest(Rounding::nearest);
  try {
    return nlohmann::json::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    throw InputError(path + ": invalid JSON at byte " + std::to_string(e.byte));
  }
}

}  // namespace

Matrix read_tokens(const std::string& path, long expected_d) {
  const std::string text = slurp(path);
  const auto first = text.find_first_not_of(" \t\r\n");
  if (first != std::string::npos && text[first] == '[')
    return from_rows(json_rows(parse_json(text, path), path), path, expected_d);
  std::vector<std::vector<double>> rows;
  std::istringstream in(text);
  std::string line;
  long lineno = 0;
  while (std::getline(in, line)) {
    ++lineno;
    const auto p = line.find_first_not_of(" \t\r");
    if (p == std::string::npos || line[p] == '#') continue;
    std::istringstream ls(line);
    std::vector<double> row;
    std::string tok;
    while (ls >> tok) row.push_back(parse_number(tok, path + ": line " + std::to_string(lineno)));
    if (expected_d > 0 && static_cast<long>(row.size()) != expected_d)
      throw InputError(path + ": line " + std::to_string(lineno) + " has " + std::to_string(row.size()) +
                       " numbers, expected " + std::to_string(expected_d) + " (the model's d)");
    rows.push_back(std::move(row));
  }
  return from_rows(rows, path, expected_d);
}

Box read_box(const std::string& path, long expected_d) {
  const nlohmann::json j = parse_json(slurp(path), path);
  if (!j.is_object() || !j.contains("lo") || !j.contains("hi"))
    throw InputError(path + ": expected a JSON object with \"lo\" and \"hi\" (n×d arrays)");
  Box b{from_rows(json_rows(j["lo"], path + ": lo"), path, expected_d),
        from_rows(json_rows(j["hi"], path + ": hi"), path, expected_d)};
  if (b.lo.rows() != b.hi.rows()) throw InputError(path + ": lo and hi have different numbers of rows");
  for (long i = 0; i < b.n(); ++i)
    for (long a = 0; a < b.d(); ++a)
      if (!(b.lo(i, a) <= b.hi(i, a)))
        throw InputError(path + ": lo > hi at [" + std::to_string(i) + "][" + std::to_string(a) + "]");
  return b;
}

}  // namespace attnbound::cli
