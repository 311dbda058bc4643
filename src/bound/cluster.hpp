// Certified ‖J(X)‖ at clustered inputs (unmasked layers), at a cost independent of n.
#pragma once

#include "attention/cluster.hpp"
#include "bound/bound.hpp"

namespace attnbound {

/// Certified bracket of ‖J(X)‖ at the clustered input (unmasked layers only; throws
/// std::invalid_argument otherwise). Lower and upper are proved.
Bracket certify_clustered(const AttentionLayer& layer, const ClusteredInput& in);

}  // namespace attnbound
