// Anchors the attnbound_region library; the module's code lives in the other files of this folder.
namespace attnbound::region {}
