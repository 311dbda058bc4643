// Anchors the attnbound_certificate library; the module's code lives in the other files of this folder.
namespace attnbound::certificate {}
