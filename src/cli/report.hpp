// Printing a bracket: the aligned human summary and the --json object (DESIGN.md keys).
#pragma once

#include <iosfwd>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "bound/bound.hpp"

namespace attnbound::cli {

/// The in-process run of the independent checker on a certificate before it is written.
struct SelfCheck {
  bool valid = false;
  std::string reason;  // why it was rejected (empty when valid)
  double seconds = 0.0;
};

struct Report {
  std::string command, model, digest, region, status, certificate;  // certificate: "" = none written
  double tol = 0.0;
  const Bracket* bracket = nullptr;
  std::optional<SelfCheck> self_check;  // set when a certificate was asked for
};

/// {"lower", "upper", "estimate", "status", "certificate", ...}: lower/upper are the proved
/// doubles (shortest round-trip decimals), estimate is labelled as a float estimate.
nlohmann::json report_json(const Report& r);
void print_report(const Report& r, std::ostream& out);

}  // namespace attnbound::cli
