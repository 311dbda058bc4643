// certificate_json: the version-1 certificate of docs/certificate.md from a certify run.
#include <cmath>
#include <stdexcept>

#include "certificate/certificate.hpp"
#include "model/model.hpp"

namespace attnbound {

namespace {

using nlohmann::json;

json matrix_json(const Matrix& M) {
  json rows = json::array();
  for (Eigen::Index i = 0; i < M.rows(); ++i) {
    json r = json::array();
    for (Eigen::Index j = 0; j < M.cols(); ++j) {
      if (!std::isfinite(M(i, j))) throw std::invalid_argument("certificate: non-finite matrix entry");
      r.push_back(M(i, j));
    }
    rows.push_back(std::move(r));
  }
  return rows;
}

/// An upper bound as a number, or the string "inf" when nothing finite was proved.
json upper_json(const UpperBound& u) { return u.is_finite() ? json(u.value()) : json("inf"); }

json region_json(const Region& region, bool radius_from_norm) {
  if (const Box* b = std::get_if<Box>(&region)) {
    if (b->is_point()) return {{"kind", "point"}, {"n", b->n()}, {"d", b->d()}, {"X", matrix_json(b->lo)}};
    return {{"kind", "box"}, {"n", b->n()}, {"d", b->d()}, {"lo", matrix_json(b->lo)}, {"hi", matrix_json(b->hi)}};
  }
  if (const TokenBalls* t = std::get_if<TokenBalls>(&region))
    return {{"kind", "l2"}, {"n", t->n()}, {"d", t->d()}, {"rho", t->rho}, {"center", matrix_json(t->c)}};
  const auto& bp = std::get<BallProduct>(region);
  return {{"kind", "ball"}, {"n", bp.n}, {"d", bp.d}, {"R", bp.R},
          {"R_source", radius_from_norm ? "layernorm" : "given"}};
}

json model_json(const CertifyRecord& rec) {
  const AttentionLayer& L = *rec.layer;
  json load = {{"arch", rec.model_arch},
               {"layer", rec.model_layer},
               {"heads", rec.model_heads.empty() ? json(nullptr) : json(rec.model_heads)},
               {"seed", rec.model_seed},
               {"mask", rec.model_mask.empty() ? json(nullptr) : json(rec.model_mask)},
               {"n_heads", rec.model_n_heads}};
  return {{"sha256", model_digest(L)}, {"spec", rec.model_spec}, {"load", load}, {"d", L.d},
          {"heads", L.n_heads()}, {"mask", to_string(L.mask)}, {"source", L.source}};
}

json lower_evidence(const Bracket& b) {
  if (b.witness) {
    return {{"kind", "witness"}, {"name", b.witness->name}, {"method", b.lower_method},
            {"X", matrix_json(b.witness->X)}, {"direction", matrix_json(b.witness->dir)}};
  }
  // The cluster tier proves its lower side on the reduced operators; the checker re-derives it.
  if (b.upper_evidence.tier == "cluster") return {{"kind", "cluster"}, {"method", b.lower_method}};
  return {{"kind", "none"}, {"method", b.lower_method}};
}

json leaf_json(const PartitionLeaf& leaf) {
  json j = {{"path", leaf.path}, {"tier", leaf.tier}, {"engine_upper", upper_json(leaf.upper)},
            {"lo", matrix_json(leaf.box.lo)}, {"hi", matrix_json(leaf.box.hi)}};
  if (leaf.hint.size() > 0) j["hint"] = matrix_json(leaf.hint);
  return j;
}

json upper_evidence(const Bracket& b, const Region& region) {
  if (!b.upper.is_finite()) return {{"tier", "none"}, {"method", b.upper_method}};
  if (!b.partition.empty()) {
    json leaves = json::array();
    for (const PartitionLeaf& l : b.partition) leaves.push_back(leaf_json(l));
    return {{"tier", "partition"},
            {"engine_tier", b.upper_evidence.tier},
            {"method", b.upper_method},
            {"root", std::holds_alternative<Box>(region) ? "region" : "ball-bounding-box"},
            {"leaves", std::move(leaves)}};
  }
  json j = {{"tier", b.upper_evidence.tier}, {"method", b.upper_method}};
  if (b.upper_evidence.tier == "analytic") {
    // docs/certificate.md "Analytic evidence": the statement and its constants (proved upper
    // bounds of the exact norms); the checker proves each norm bound and re-evaluates the value.
    if (!b.analytic) throw std::invalid_argument("certificate: analytic evidence without constants");
    const AnalyticConstants& c = *b.analytic;
    json heads = json::array();
    for (std::size_t h = 0; h < c.a.size(); ++h) heads.push_back({{"a", c.a[h]}, {"v", c.v[h]}, {"w", c.w[h]}});
    j["statement"] = b.analytic_statement;
    j["constants"] = {{"n", c.n},   {"R2", c.R2}, {"mask", c.causal ? "causal" : "none"},
                      {"augmented", c.augmented}, {"wo", c.wo}, {"heads", std::move(heads)}};
  }
  if (b.upper_evidence.direction.size() > 0) j["hint"] = matrix_json(b.upper_evidence.direction);
  if (b.upper_evidence.tier == "box-first-order") {
    j["centre"] = matrix_json(b.upper_evidence.centre);
    j["centre_tier"] = b.upper_evidence.centre_tier;
    j["centre_upper"] = b.upper_evidence.centre_upper;
    j["excess"] = b.upper_evidence.excess;
    j["direct"] = b.upper_evidence.direct;
    if (!b.upper_evidence.subspace.empty()) {
      json vs = json::array();
      for (const Matrix& v : b.upper_evidence.subspace) vs.push_back(matrix_json(v));
      j["subspace"] = {{"vectors", std::move(vs)}, {"upper", b.upper_evidence.subspace_upper}};
    }
  }
  return j;
}

}  // namespace

CertificateClaim certificate_claim(const Bracket& b) {
  CertificateClaim c;
  const double lo = b.lower.value();
  // A norm is >= 0, so a non-positive (or -inf) engine lower becomes the trivial claim 0.
  c.lower = lo > 0 ? LowerBound::proved(mul_down(lo, 1.0 - kClaimSlack)) : LowerBound::zero();
  c.upper = b.upper.is_finite() ? UpperBound::proved(mul_up(b.upper.value(), 1.0 + kClaimSlack))
                                : UpperBound::infinity();
  return c;
}

json certificate_json(const CertifyRecord& rec) {
  if (rec.layer == nullptr) throw std::invalid_argument("certificate: the record has no model layer");
  const Bracket& b = rec.bracket;
  const CertificateClaim claim = certificate_claim(b);

  json j;
  j["format"] = "attnbound-certificate";
  j["version"] = 1;
  j["tool"] = {{"name", "attnbound"}, {"version", rec.tool_version}, {"git_revision", rec.git_revision},
               {"build", rec.build}};
  j["arithmetic"] = {{"tier", "double-interval"},
                     {"precision", 53},
                     {"claim_slack", kClaimSlack},
                     {"check_precision", 128}};
  j["model"] = model_json(rec);
  j["region"] = region_json(rec.region, rec.radius_from_norm);
  j["claim"] = {{"quantity", "sup over the region of the spectral norm of the Jacobian"},
                {"lower", claim.lower.value()},
                {"upper", upper_json(claim.upper)}};
  j["evidence"] = {{"lower", lower_evidence(b)}, {"upper", upper_evidence(b, rec.region)}};
  j["run"] = {{"status", rec.status},
              {"tol", rec.tol},
              {"seconds", std::isfinite(b.seconds) ? json(b.seconds) : json(nullptr)},
              {"estimate", std::isfinite(b.estimate.value()) ? json(b.estimate.value()) : json(nullptr)},
              {"engine_lower", std::isfinite(b.lower.value()) ? json(b.lower.value()) : json(nullptr)},
              {"engine_upper", upper_json(b.upper)},
              {"lower_method", b.lower_method},
              {"upper_method", b.upper_method}};
  return j;
}

std::string certificate_text(const CertifyRecord& record) {
  return certificate_layout(certificate_json(record)) + "\n";
}

}  // namespace attnbound
