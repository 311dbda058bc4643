// libFuzzer target: the attnbound-model JSON parser (model_from_json) and the digest of whatever
// it accepts. Expected failures are ModelError; anything else is a bug.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "model/model.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace attnbound;
  try {
    const AttentionLayer L = model_from_json(std::string_view(reinterpret_cast<const char*>(data), size), "fuzz.json");
    (void)model_digest(L);
  } catch (const ModelError&) {
  }
  return 0;
}
