// libFuzzer target: the safetensors reader (SafetensorsFile::from_bytes, tensor reads) and the
// GPT-2/BERT layout code on whatever it accepts. Expected failures are ModelError.
#include <cstddef>
#include <cstdint>
#include <string>

#include "model/model.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace attnbound;
  try {
    const SafetensorsFile f = SafetensorsFile::from_bytes(std::string(reinterpret_cast<const char*>(data), size), "fuzz");
    for (const SafetensorsEntry& e : f.entries()) {
      try {
        (void)f.read(e);
      } catch (const ModelError&) {
      }
    }
    try {
      (void)layer_from_safetensors(f, LoadOptions{});
    } catch (const ModelError&) {
    }
  } catch (const ModelError&) {
  }
  return 0;
}
