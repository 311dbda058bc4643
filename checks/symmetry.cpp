// Symmetry leaves of a partition (docs/certificate.md, "Symmetry leaves"). A leaf may be left
// unbounded when a symmetry of ‖J‖ and of the region maps each of its points into the kept part:
//   symmetry:perm  unmasked layer (J(πX) = Π J(X) Πᵀ), region invariant under token permutations;
//                  the leaf has no point with x_{0,0} <= x_{1,0} <= … <= x_{n−1,0}.
//   symmetry:sign  no query/key biases (J(−X) = J(X)), region invariant under X → −X;
//                  every point of the leaf has Σ_i x_{i,0} < 0.
// The kept part {sorted, Σ_i x_{i,0} >= 0} meets every orbit (sort; if the sum is negative negate
// and sort again: sorting keeps the sum), so the sup of ‖J‖ over the region is the sup over it.
#include "internal.hpp"

namespace attnbound::check {

void require_symmetry_leaf(const AttentionLayer& layer, const Certificate& c, const CBox& box,
                           const std::string& tier, const std::string& path) {
  const std::string where = "partition leaf \"" + path + "\" (" + tier + "): ";
  const bool ball = c.kind == Certificate::Kind::ball;
  if (tier == "symmetry:perm") {
    if (layer.mask != Mask::none) throw Invalid(where + "permutation symmetry needs an unmasked layer");
    if (!ball)
      for (long i = 1; i < c.n; ++i)
        if (c.box.lo.row(i) != c.box.lo.row(0) || c.box.hi.row(i) != c.box.hi.row(0))
          throw Invalid(where + "the region is not invariant under token permutations");
    double t = -INFINITY;
    for (long i = 0; i < box.n(); ++i) {
      t = std::max(t, box.lo(i, 0));
      if (t > box.hi(i, 0)) return;  // x_{k,0} > x_{i,0} for some k < i, at every point
    }
    throw Invalid(where + "the leaf contains points with sorted first coordinates");
  }
  if (tier == "symmetry:sign") {
    for (std::size_t h = 0; h < layer.heads.size(); ++h)
      if (layer.heads[h].has_qk_bias())
        throw Invalid(where + "sign symmetry needs a layer without query/key biases (head " + std::to_string(h) + " has one)");
    if (!ball && c.box.lo != -c.box.hi) throw Invalid(where + "the region is not invariant under X → −X");
    MpInterval s(0);
    for (long i = 0; i < box.n(); ++i) s += MpInterval(box.hi(i, 0));
    if (certainly_less(s, MpInterval(0))) return;
    throw Invalid(where + "Σ_i x_{i,0} < 0 is not proved on the leaf");
  }
  throw Invalid(where + "unknown tier");
}

}  // namespace attnbound::check
