// Anchors the attnbound_attention library; the module's code lives in the other files of this folder.
namespace attnbound::attention {}
