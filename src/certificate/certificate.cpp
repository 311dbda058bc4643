#include "certificate/certificate.hpp"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <unistd.h>

#include "model/model.hpp"

namespace attnbound {

namespace {
nlohmann::json matrix_json(const Matrix& M) {
  nlohmann::json rows = nlohmann::json::array();
  for (Eigen::Index i = 0; i < M.rows(); ++i) {
    nlohmann::json r = nlohmann::json::array();
    for (Eigen::Index j = 0; j < M.cols(); ++j) r.push_back(M(i, j));
    rows.push_back(std::move(r));
  }
  return rows;
}
nlohmann::json region_json(const Region& region) {
  if (const Box* b = std::get_if<Box>(&region)) {
    if (b->is_point()) return {{"kind", "point"}, {"X", matrix_json(b->lo)}};
    return {{"kind", "box"}, {"lo", matrix_json(b->lo)}, {"hi", matrix_json(b->hi)}};
  }
  const auto& bp = std::get<BallProduct>(region);
  return {{"kind", "ball"}, {"R", bp.R}, {"n", bp.n}, {"d", bp.d}};
}
}  // namespace

nlohmann::json certificate_json(const CertifyRecord& rec) {
  const Bracket& b = rec.bracket;
  nlohmann::json j;
  j["format"] = "attnbound-certificate";
  j["version"] = 1;
  j["model"] = {{"sha256", model_digest(*rec.layer)}, {"spec", rec.model_spec}};
  j["region"] = region_json(rec.region);
  j["claim"] = {{"lower", b.lower.value()}, {"upper", b.upper.is_finite() ? nlohmann::json(b.upper.value()) : nlohmann::json("inf")}};
  nlohmann::json lower = {{"method", b.lower_method}};
  if (b.witness) {
    lower["X"] = matrix_json(b.witness->X);
    lower["direction"] = matrix_json(b.witness->dir);
  }
  j["evidence"] = {{"lower", lower}, {"upper", {{"tier", b.upper_evidence.tier}, {"method", b.upper_method}}}};
  return j;
}

void write_certificate(const std::string& path, const CertifyRecord& rec) {
  namespace fs = std::filesystem;
  const std::string text = certificate_json(rec).dump(1) + "\n";
  const fs::path target(path);
  const fs::path dir = target.has_parent_path() ? target.parent_path() : fs::path(".");
  std::string tmpl = (dir / ".attnbound-cert-XXXXXX").string();
  const int fd = ::mkstemp(tmpl.data());
  if (fd < 0) throw std::runtime_error(path + ": cannot write certificate");
  ::close(fd);
  std::ofstream o(tmpl, std::ios::binary | std::ios::trunc);
  o << text;
  o.close();
  if (!o || std::rename(tmpl.c_str(), path.c_str()) != 0) {
    std::remove(tmpl.c_str());
    throw std::runtime_error(path + ": cannot write certificate");
  }
}

}  // namespace attnbound
