// Verdict rules. Both sides of every comparison are proved numbers: the certified bracket, and the
// ends of the statement's enclosure rounded outward to doubles (lower_down, upper_up). Rounding the
// enclosure outward only ever turns a verdict into "undecided", never into a wrong one.
#include "proofs/theorems.hpp"

namespace attnbound::proofs {

Verdict upper_verdict(const MpInterval& S, double certified_lower, double certified_upper) {
  if (S.is_empty()) return Verdict::undecided;
  // Lip ≥ L > S.hi ≥ S: the statement "Lip ≤ S" is false.
  if (certified_lower > S.upper_up()) return Verdict::refuted;
  // Lip ≤ U ≤ S.lo ≤ S: the statement holds on this instance.
  if (certified_upper <= S.lower_down()) return Verdict::holds;
  return Verdict::undecided;
}

Verdict lower_verdict(const MpInterval& S, double certified_lower, double certified_upper) {
  if (S.is_empty()) return Verdict::undecided;
  if (certified_upper < S.lower_down()) return Verdict::refuted;  // Lip ≤ U < S.lo ≤ S
  if (certified_lower >= S.upper_up()) return Verdict::holds;     // Lip ≥ L ≥ S.hi ≥ S
  return Verdict::undecided;
}

bool StatementResult::expected_refutation() const {
  return statement && statement->category != Category::theorem;
}

std::vector<std::string> InstanceReport::unexpected_refutations() const {
  std::vector<std::string> ids;
  for (const StatementResult& r : statements)
    if (r.verdict == Verdict::refuted && !r.expected_refutation()) ids.push_back(r.statement->id);
  return ids;
}

const StatementResult* InstanceReport::find(std::string_view id) const {
  for (const StatementResult& r : statements)
    if (r.statement && r.statement->id == id) return &r;
  return nullptr;
}

}  // namespace attnbound::proofs
