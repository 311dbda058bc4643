// Test helpers for certificate round trips: the text an engine bracket becomes, the checker's
// verdict on a text, and a text edited as JSON (tamper tests). Header-only, tests only.
#pragma once

#include <functional>
#include <string>

#include <nlohmann/json.hpp>

#include "certificate/certificate.hpp"
#include "checker.hpp"

namespace attnbound::testing {

/// The certificate text of an engine bracket for `region` of the layer loaded from `spec`.
inline std::string cert_text(const AttentionLayer& L, const std::string& spec, const Region& region, const Bracket& b) {
  CertifyRecord rec;
  rec.model_spec = spec;
  rec.layer = &L;
  rec.region = region;
  rec.bracket = b;
  rec.status = "ok";
  return certificate_text(rec);
}

/// The checker's verdict on a certificate text (2 threads, paths relative to the working directory).
inline check::CheckResult run_check(const std::string& text) {
  check::CheckOptions o;
  o.threads = 2;
  return check::check_text(text, ".", o);
}

/// The certificate text after `f` edits its JSON (laid out as the engine writes it).
inline std::string edited(const std::string& text, const std::function<void(nlohmann::json&)>& f) {
  nlohmann::json j = nlohmann::json::parse(text);
  f(j);
  return certificate_layout(j);
}

}  // namespace attnbound::testing
