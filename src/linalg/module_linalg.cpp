// Anchors the attnbound_linalg library; the module's code lives in the other files of this folder.
namespace attnbound::linalg {}
