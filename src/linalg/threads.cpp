// Thread count for the linalg kernels (thread-local, RAII like MpPrecision).
#include <algorithm>
#include <stdexcept>
#include <string>
#if defined(__SSE2__)
#include <immintrin.h>
#endif

#include "linalg/detail.hpp"
#include "linalg/linalg.hpp"

namespace attnbound {

namespace {
thread_local int tl_threads = 1;
}  // namespace

LinalgThreads::LinalgThreads(int threads) : saved_(tl_threads) { tl_threads = std::max(threads, 1); }
LinalgThreads::~LinalgThreads() { tl_threads = saved_; }
int LinalgThreads::current() { return tl_threads; }

namespace detail {
void require_gradual_underflow(const char* where) {
#if defined(__SSE2__)
  constexpr unsigned kFlushToZero = 0x8000u, kDenormalsAreZero = 0x0040u;
  if (_mm_getcsr() & (kFlushToZero | kDenormalsAreZero))
    throw std::runtime_error(std::string(where) +
                             ": flush-to-zero / denormals-are-zero is enabled in this thread; "
                             "rigorous bounds need gradual underflow");
#else
  (void)where;
#endif
}

int resolve_threads(int requested) { return requested > 0 ? requested : std::max(tl_threads, 1); }
}  // namespace detail

}  // namespace attnbound
