// Printing a bracket: the aligned human summary and the --json object (DESIGN.md keys).
#pragma once

#include <iosfwd>
#include <nlohmann/json.hpp>
#include <string>

#include "bound/bound.hpp"

namespace attnbound::cli {

struct Report {
  std::string command, model, digest, region, status, certificate;
  double tol = 0.0;
  const Bracket* bracket = nullptr;
};

/// {"lower", "upper", "estimate", "status", "certificate", ...}: lower/upper are the proved
/// doubles (shortest round-trip decimals), estimate is labelled as a float estimate.
nlohmann::json report_json(const Report& r);
void print_report(const Report& r, std::ostream& out);

}  // namespace attnbound::cli
