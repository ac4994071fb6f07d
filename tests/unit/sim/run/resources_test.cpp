// The advice of a refused run (sim/run/resources.h): which batch or pipeline depth would fit.

#include "sim/run/resources.h"

#include <gtest/gtest.h>

namespace lpsim::run {
namespace {

MemoryEstimate estimate() {
  MemoryEstimate e;
  e.parameters_bytes = 100;
  e.data_bytes = 50;
  e.runtime_bytes = 50;
  e.batch = 32;
  e.max_delay = 14;            // 16 minibatches in flight
  e.in_flight_bytes = 16'000;  // 1,000 per minibatch, 500 per sample of the batch
  return e;
}

TEST(WhatWouldFit, NamesTheLargestBatchAndTheFewestStages) {
  const MemoryEstimate e = estimate();
  // 4,200 available leave 4,000 for the minibatches in flight: at 16 deep, 500 bytes per
  // sample of the batch: a batch of 8; at this batch, 1,000 per minibatch deep: 4 deep, delays
  // of at most 2, 2 stages.
  EXPECT_EQ(what_would_fit(e, 4'200),
            "it would fit with a batch of at most 8 or with at most 2 stages (delays of at most "
            "2) at this batch");
}

// ARCHITECTURE.md §4c: when recomputing every stage's activations would bring the minibatches
// in flight within the room, the refusal says so first.
TEST(WhatWouldFit, NamesRecomputeWhenItFits) {
  MemoryEstimate e = estimate();
  e.in_flight_recompute_bytes = 3'000;
  EXPECT_EQ(what_would_fit(e, 4'200),
            "it would fit with pipeline.activations \"recompute\" or with a batch of at most 8 or "
            "with at most 2 stages (delays of at most 2) at this batch");
  e.in_flight_recompute_bytes = 4'001;  // does not fit the 4,000 left
  EXPECT_EQ(what_would_fit(e, 4'200).find("recompute"), std::string::npos);
}

// A recomputing stage drops what only its backward reads: the estimate of cnn3 in {conv1,
// conv2} {fc} shrinks when the first stage recomputes, and the figure for every stage
// recomputing is what a recompute run estimates.
TEST(EstimateMemory, CountsWhatARecomputingStageDrops) {
  const auto job = [](const std::string& activations) {
    return prepare_job("",
                       {"/workload/model=cnn3", "/workload/dataset/kind=synthetic",
                        "/workload/dataset/synthetic={\"train_samples\":64,\"test_samples\":16}",
                        "/pipeline/stages=[2,1]", "/pipeline/activations=" + activations},
                       "");
  };
  const MemoryEstimate keep = estimate_memory(job("\"keep\""), true);
  const MemoryEstimate first = estimate_memory(job("[\"recompute\",\"keep\"]"), true);
  const MemoryEstimate all = estimate_memory(job("\"recompute\""), true);
  EXPECT_LT(first.in_flight_bytes, keep.in_flight_bytes);
  EXPECT_LT(all.in_flight_bytes, first.in_flight_bytes);
  EXPECT_EQ(keep.in_flight_recompute_bytes, all.in_flight_bytes);
  EXPECT_EQ(keep.parameters_bytes, all.parameters_bytes);
}

TEST(WhatWouldFit, SaysWhenNothingButTheModelHelps) {
  EXPECT_EQ(what_would_fit(estimate(), 150),
            "the parameters, their stashes and the data alone exceed it: a smaller model or data "
            "set");
  // Room for less than one sample and less than 2 minibatches.
  EXPECT_EQ(what_would_fit(estimate(), 210), "a smaller model, batch or pipeline depth");
}

}  // namespace
}  // namespace lpsim::run
