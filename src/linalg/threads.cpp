// Thread count for the linalg kernels (thread-local, RAII like MpPrecision).
#include <algorithm>

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
int resolve_threads(int requested) { return requested > 0 ? requested : std::max(tl_threads, 1); }
}  // namespace detail

}  // namespace attnbound
