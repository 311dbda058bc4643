#include <gtest/gtest.h>

#include <cfenv>
#include <thread>

#include "core/core.hpp"

using namespace attnbound;

TEST(Rounding, CanaryPasses) { EXPECT_STREQ(rounding_canary(), ""); }

TEST(Rounding, GuardSetsAndRestores) {
  ASSERT_EQ(current_rounding(), Rounding::nearest);
  {
    RoundingGuard g(Rounding::upward);
    EXPECT_TRUE(rounding_is_upward());
    EXPECT_EQ(current_rounding(), Rounding::upward);
    {
      RoundingGuard h(Rounding::downward);
      EXPECT_EQ(current_rounding(), Rounding::downward);
      EXPECT_FALSE(rounding_is_upward());
    }
    EXPECT_TRUE(rounding_is_upward());
  }
  EXPECT_EQ(current_rounding(), Rounding::nearest);
}

TEST(Rounding, ThreadsDoNotShareTheMode) {
  // A worker starts in whatever mode its creator had; the guard must be installed per thread.
  RoundingGuard g(Rounding::upward);
  bool worker_upward_after_guard = false;
  std::thread t([&] {
    RoundingGuard w(Rounding::upward);
    worker_upward_after_guard = rounding_is_upward();
  });
  t.join();
  EXPECT_TRUE(worker_upward_after_guard);
  EXPECT_TRUE(rounding_is_upward());
}

TEST(Rounding, CanaryDetectsMissingDirectedRounding) {
  // The canary's job is to fail when directed rounding has no effect. Simulate that by checking
  // the opposite expectation under round-to-nearest: 1 + 2^-54 stays 1, which is exactly what the
  // canary's upward branch rejects.
  volatile double one = 1.0, tiny = 0x1p-54;
  RoundingGuard g(Rounding::nearest);
  EXPECT_EQ(one + tiny, 1.0);
  RoundingGuard u(Rounding::upward);
  EXPECT_GT(one + tiny, 1.0);
}
