// TEMPORARY: the Dual<MpInterval> instantiations of the shared attention templates (forward,
// softmax_rows, jvp, vjp) that the checker's centred box bound needs. The template definitions live
// in src/attention/*.cpp, so they are compiled here from those same sources; every other
// instantiation those files define is emitted again as identical weak (COMDAT) symbols.
// To be removed once src/attention instantiates Dual<MpInterval> itself (asked of the module owner).
#include "attention/attention.hpp"

#include "attention/derivatives.cpp"  // NOLINT(bugprone-suspicious-include)
#include "attention/forward.cpp"      // NOLINT(bugprone-suspicious-include)
#include "attention/softmax.cpp"      // NOLINT(bugprone-suspicious-include)

namespace attnbound {
template ForwardState<Dual<MpInterval>> forward<Dual<MpInterval>>(const AttentionLayer&, const Mat<Dual<MpInterval>>&);
template Mat<Dual<MpInterval>> softmax_rows<Dual<MpInterval>>(const Mat<Dual<MpInterval>>&, Mask);
template Mat<Dual<MpInterval>> jvp<Dual<MpInterval>>(const AttentionLayer&, const ForwardState<Dual<MpInterval>>&,
                                                     const Mat<Dual<MpInterval>>&);
template Mat<Dual<MpInterval>> vjp<Dual<MpInterval>>(const AttentionLayer&, const ForwardState<Dual<MpInterval>>&,
                                                     const Mat<Dual<MpInterval>>&);
}  // namespace attnbound
