// attnbound-check-mpi: the checker's own proof of a "distributed" upper claim (docs/distributed.md §3).
#pragma once

#include <string>
#include <utility>

#include "core/matrix.hpp"
#include "model/layer.hpp"

namespace attnbound::check::mpi {

/// Collective (every rank, same arguments). Proves sup ‖J(X)‖ <= U for the Jacobian enclosure the
/// checker assembles itself (forward_fast + assemble_jacobian_fast_blocks), each rank keeping only
/// its block-cyclic part: ‖rad‖_F by upward sums, then U' = U − ‖rad‖_F and Rump's test of
/// fl_down(U'²)·I − fl(midᵀmid) − rI by PDGEMM + PDPOTRF at the claim itself, with γ and the
/// shift computed in MPFR (rounded up). Returns {true, note} or {false, reason}; never throws for
/// a failed proof. `nb` = 0 picks the block size.
std::pair<bool, std::string> prove_distributed_upper(const AttentionLayer& layer, const Matrix& X, double U, int nb = 0);

}  // namespace attnbound::check::mpi
