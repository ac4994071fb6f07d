// VectorUnit: update() never blocks, reconstruct() and predict() wait for exactly the
// updates queued before them, exact lane cycles for every policy's lane-op counts.
#include "hw_models/vector_unit/vector_unit.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <nlohmann/json.hpp>
#include <vector>

#include "tests/unit/hw_models/hw_units_test_support.h"

namespace lpsim::hw {
namespace {

using test::Driver;
using test::now_cycles;
using test::simulate;
using test::test_period;
using test::wait_test_cycles;

// 1000 elements on 16 lanes: ceil(1000 / 16) = 63 issue slots; an update is 2 · 63 = 126
// cycles, an ema_grad reconstruction 63.
// backward_lane_ops: 1 for ema_grad (W + c·ū), 0 for ema_weight (ū read as it is).
VectorUnitParams ema_params(std::uint64_t backward_lane_ops) {
  VectorUnitParams params;
  params.elements = 1000;
  params.bytes_per_element = 4;
  params.lanes = 16;
  params.backward_lane_ops = backward_lane_ops;
  params.period = test_period();
  return params;
}

TEST(VectorUnit, UpdateReturnsAtOnceAndReconstructWaitsForQueuedUpdates) {
  VectorUnit ema("ema", ema_params(1));
  EXPECT_EQ(ema.update_cycles(), 126u);
  EXPECT_EQ(ema.reconstruct_cycles(), 63u);
  std::vector<std::uint64_t> marks;
  std::uint64_t pending_after_updates = 0;
  Driver pe("pe", [&] {
    ema.update();
    ema.update();
    marks.push_back(now_cycles());  // 0: update() never blocks
    pending_after_updates = ema.pending_updates();
    wait_test_cycles(10);
    ema.reconstruct();  // waits until 252, reconstructs until 315
    marks.push_back(now_cycles());
  });
  simulate();
  EXPECT_EQ(marks, (std::vector<std::uint64_t>{0, 315}));
  EXPECT_EQ(pending_after_updates, 2u);
  EXPECT_EQ(ema.pending_updates(), 0u);
  const VectorUnitStats& stats = ema.stats();
  EXPECT_EQ(stats.updates, 2u);
  EXPECT_EQ(stats.reconstructions, 1u);
  EXPECT_EQ(stats.busy_cycles, 315u);
  EXPECT_EQ(stats.caller_wait_cycles, 242u);
  EXPECT_EQ(stats.peak_bytes, 4000u);
  EXPECT_EQ(stats.bytes_read, 3u * 4000u);
  EXPECT_EQ(stats.bytes_written, 2u * 4000u);
  EXPECT_EQ(stats.lane_ops, 2u * 2u * 1000u + 1000u);  // two updates, one reconstruction
}

TEST(VectorUnit, EmaWeightReconstructionCostsNoCycles) {
  VectorUnit ema("ema", ema_params(0));
  EXPECT_EQ(ema.reconstruct_cycles(), 0u);
  std::vector<std::uint64_t> marks;
  Driver pe("pe", [&] {
    ema.update();  // 0..126
    wait_test_cycles(200);
    ema.reconstruct();  // nothing pending: returns at 200
    marks.push_back(now_cycles());
    ema.update();       // 200..326
    ema.reconstruct();  // waits for it
    marks.push_back(now_cycles());
  });
  simulate();
  EXPECT_EQ(marks, (std::vector<std::uint64_t>{200, 326}));
  EXPECT_EQ(ema.stats().caller_wait_cycles, 126u);
  EXPECT_EQ(ema.stats().busy_cycles, 252u);
  EXPECT_EQ(ema.stats().reconstructions, 2u);
  EXPECT_EQ(ema.stats().lane_ops, 2u * 2u * 1000u);  // ema_weight reads W̄: no lane work
}

TEST(VectorUnit, ReconstructionNeverSeesALaterUpdate) {
  VectorUnit ema("ema", ema_params(1));
  std::uint64_t first_reconstructed = 0;
  std::uint64_t second_reconstructed = 0;
  Driver backward("backward", [&] {
    ema.reconstruct();  // nothing queued: 0..63
    first_reconstructed = now_cycles();
  });
  Driver update("update", [&] {
    wait_test_cycles(1);
    ema.update();  // queued behind the reconstruction: 63..189
    wait_test_cycles(1);
    ema.reconstruct();  // behind the update: 189..252
    second_reconstructed = now_cycles();
  });
  simulate();
  EXPECT_EQ(first_reconstructed, 63u);
  EXPECT_EQ(second_reconstructed, 252u);
  EXPECT_EQ(ema.stats().caller_wait_cycles, 0u + (189u - 2u));
  EXPECT_EQ(ema.stats().busy_cycles, 252u);
  EXPECT_EQ(ema.stats().updates, 1u);
}

TEST(VectorUnit, EmaLwpPredictionWaitsForQueuedUpdates) {
  // ema_lwp: one tensor of |W| + |b|, updated after each update, read to predict before F.
  VectorUnitParams params = ema_params(0);
  params.forward_lane_ops = 1;
  VectorUnit ema("ema", params);
  EXPECT_EQ(ema.predict_cycles(), 63u);
  std::vector<std::uint64_t> marks;
  Driver pe("pe", [&] {
    ema.predict();  // nothing queued: 0..63
    marks.push_back(now_cycles());
    ema.update();   // 63..189
    ema.predict();  // behind it: 189..252
    marks.push_back(now_cycles());
  });
  simulate();
  EXPECT_EQ(marks, (std::vector<std::uint64_t>{63, 252}));
  EXPECT_EQ(ema.stats().predictions, 2u);
  EXPECT_EQ(ema.stats().reconstructions, 0u);
  EXPECT_EQ(ema.stats().caller_wait_cycles, 126u);
  EXPECT_EQ(ema.stats().bytes_read, 3u * 4000u);
  EXPECT_EQ(ema.stats().lane_ops, 2u * 1000u + 2u * 1000u);
}

TEST(VectorUnit, LwpHoldsNothingAndOnlyPredicts) {
  // lwp: no tensor of its own (W and v are the PE's), no update work, 1 lane-op to predict.
  VectorUnitParams params = ema_params(0);
  params.tensors = 0;
  params.update_lane_ops = 0;
  params.forward_lane_ops = 1;
  VectorUnit lwp("lwp", params);
  std::uint64_t done = 0;
  Driver pe("pe", [&] {
    lwp.update();  // nothing to do: queues nothing
    EXPECT_EQ(lwp.pending_updates(), 0u);
    lwp.predict();
    done = now_cycles();
  });
  simulate();
  EXPECT_EQ(done, 63u);
  EXPECT_EQ(lwp.stats().updates, 0u);
  EXPECT_EQ(lwp.stats().peak_bytes, 0u);
  EXPECT_EQ(lwp.stats().bytes_read, 0u);
  EXPECT_EQ(lwp.stats().bytes_written, 0u);
  EXPECT_EQ(lwp.stats().lane_ops, 1000u);
}

TEST(VectorUnit, StatsJsonHasRawCounters) {
  VectorUnitStats stats;
  stats.updates = 1;
  stats.reconstructions = 2;
  stats.predictions = 9;
  stats.busy_cycles = 3;
  stats.caller_wait_cycles = 4;
  stats.peak_bytes = 5;
  stats.bytes_read = 6;
  stats.bytes_written = 7;
  stats.lane_ops = 8;
  EXPECT_EQ(to_json(stats),
            nlohmann::json::parse(R"({"updates": 1, "reconstructions": 2, "predictions": 9,
      "busy_cycles": 3, "caller_wait_cycles": 4, "peak_bytes": 5, "bytes_read": 6,
      "bytes_written": 7, "lane_ops": 8})"));
}

}  // namespace
}  // namespace lpsim::hw

namespace lpsim::hw {
namespace {

// Lazy use is the threaded unit worked out on its caller's time: for a random sequence of
// updates, reconstructions and predictions at random gaps, the cycle every call returns at
// and every counter are the threaded unit's (one design: two units, one threaded and one
// lazy, driven by one thread that mirrors every call on both).
TEST(VectorUnit, LazyUseIsTheThreadedUnitOnTheCallersTime) {
  VectorUnitParams params = ema_params(1);
  params.forward_lane_ops = 3;
  VectorUnit threaded("threaded", params);
  VectorUnit lazy("lazy", params);
  std::vector<std::uint64_t> threaded_marks, lazy_marks;
  std::uint64_t seed = 12345;  // printed on failure
  const auto next = [&seed](std::uint64_t n) {
    seed = seed * 6364136223846793005ull + 1442695040888963407ull;
    return (seed >> 33) % n;
  };
  Driver pe("pe", [&] {
    std::uint64_t lazy_now = 0;  // the lazy caller's own time, kept apart from SystemC's
    for (int i = 0; i < 200; ++i) {
      const std::uint64_t gap = next(200);
      wait_test_cycles(gap);
      lazy_now += gap;
      switch (next(3)) {
        case 0:
          threaded.update();
          lazy.update_at(lazy_now);
          break;
        case 1:
          threaded.reconstruct();
          lazy_now = lazy.reconstruct_at(lazy_now);
          break;
        default:
          threaded.predict();
          lazy_now = lazy.predict_at(lazy_now);
          break;
      }
      threaded_marks.push_back(now_cycles());
      lazy_marks.push_back(lazy_now);
    }
  });
  simulate();
  EXPECT_EQ(threaded_marks, lazy_marks) << "seed 12345";
  const VectorUnitStats& t = threaded.stats();
  const VectorUnitStats& l = lazy.stats();
  EXPECT_EQ(t.updates, l.updates);
  EXPECT_EQ(t.reconstructions, l.reconstructions);
  EXPECT_EQ(t.predictions, l.predictions);
  EXPECT_EQ(t.busy_cycles, l.busy_cycles);
  EXPECT_EQ(t.caller_wait_cycles, l.caller_wait_cycles);
  EXPECT_EQ(t.bytes_read, l.bytes_read);
  EXPECT_EQ(t.bytes_written, l.bytes_written);
  EXPECT_EQ(t.lane_ops, l.lane_ops);
  EXPECT_GT(lazy.idle_at(), 0u);
  EXPECT_GE(lazy.idle_at(), lazy_marks.back());
}

}  // namespace
}  // namespace lpsim::hw
