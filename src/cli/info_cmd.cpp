// `attnbound info`: what the model is, with verified norms of its paper form.
#include <iomanip>
#include <nlohmann/json.hpp>
#include <ostream>

#include "attention/paper_form.hpp"
#include "cli/cli.hpp"
#include "cli/commands.hpp"
#include "linalg/linalg.hpp"

namespace attnbound::cli {

int run_info(const InfoArgs& a, std::ostream& out, std::ostream& err) {
  const AttentionLayer layer = a.model.load(false);
  const bool aug = needs_augmentation(layer);
  PaperFormEnclosure pf;
  {
    UpwardScope up;
    pf = paper_form_enclosure(layer, aug);
  }
  nlohmann::json j;
  j["source"] = layer.source;
  j["digest"] = model_digest(layer);
  j["d"] = layer.d;
  j["heads"] = layer.n_heads();
  j["mask"] = to_string(layer.mask);
  j["augmented"] = aug;
  nlohmann::json hs = nlohmann::json::array();
  for (std::size_t h = 0; h < pf.A.size(); ++h) {
    nlohmann::json e;
    e["d_k"] = layer.heads[h].dk();
    e["norm_A_upper"] = norm2_upper(pf.A[h]).value();
    e["norm_V_upper"] = norm2_upper(pf.V[h]).value();
    hs.push_back(e);
  }
  j["paper_form"] = hs;
  if (layer.norm.kind != Norm::Kind::none) j["layernorm_radius_upper"] = layernorm_radius(layer.norm).value();
  if (a.json) {
    out << j.dump() << "\n";
    return kExitOk;
  }
  out << describe(layer);
  out << "paper form" << (aug ? " (augmented with the query/key biases: tokens (x, 1))" : "")
      << ", verified upper bounds:\n";
  out << "  head   d_k   ‖A_h‖ ≤               ‖V_h‖ ≤\n";
  for (std::size_t h = 0; h < hs.size(); ++h)
    out << "  " << std::setw(4) << h << "  " << std::setw(4) << hs[h]["d_k"].get<long>() << "   "
        << std::setprecision(17) << std::setw(22) << std::left << hs[h]["norm_A_upper"].get<double>()
        << hs[h]["norm_V_upper"].get<double>() << std::right << "\n";
  return kExitOk;
}

}  // namespace attnbound::cli
