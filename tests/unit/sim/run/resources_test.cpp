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

TEST(WhatWouldFit, SaysWhenNothingButTheModelHelps) {
  EXPECT_EQ(what_would_fit(estimate(), 150),
            "the parameters, their stashes and the data alone exceed it: a smaller model or data "
            "set");
  // Room for less than one sample and less than 2 minibatches.
  EXPECT_EQ(what_would_fit(estimate(), 210), "a smaller model, batch or pipeline depth");
}

}  // namespace
}  // namespace lpsim::run
