// libFuzzer target: the checker's certificate reader and the partition replay on hostile input.
// Expected failures are Unreadable / Invalid; anything else (a crash, a sanitizer report, another
// exception) is a bug.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "internal.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace attnbound::check;
  try {
    const Certificate c = read_certificate(std::string_view(reinterpret_cast<const char*>(data), size));
    if (c.upper_tier == "partition" && c.n * c.d <= 4096) {  // the checker's own limit is 12288
      try {
        replay_partition(root_box(c), c.leaves);
      } catch (const Invalid&) {
      }
    }
    if (c.lower_kind == "witness") {
      try {
        require_inside_region(c, c.wX, "witness");
      } catch (const Invalid&) {
      }
    }
  } catch (const Unreadable&) {
  }
  return 0;
}
