// Anchors the attnbound_bound library; the module's code lives in the other files of this folder.
namespace attnbound::bound {}
