// A LayerPipe schedule executed on P SystemC processors runs at exactly the scheduler's
// period and trains to exactly the reference trainer's weights.

#include <gtest/gtest.h>

#include "sim/hardware/pipedream_plan.h"
#include "sim/hardware/pipeline.h"
#include "system_test_util.h"
#include "tests/sanitizer.h"

namespace lpsim {
namespace {

struct ScheduledCase {
  std::string model;
  std::string policy;
  std::string split;
  int processors;
};

void PrintTo(const ScheduledCase& c, std::ostream* os) {
  *os << c.model << "/" << c.policy << "/" << c.split << "/P" << c.processors;
}

std::string scheduled_case_name(const ::testing::TestParamInfo<ScheduledCase>& info) {
  std::string s = info.param.model + info.param.policy + info.param.split + "P" +
                  std::to_string(info.param.processors);
  std::string out;
  for (char c : s) {
    if (std::isalnum(static_cast<unsigned char>(c))) out += c;
  }
  return out;
}

class ScheduledRun : public ::testing::TestWithParam<ScheduledCase> {};

TEST_P(ScheduledRun, MatchesTheScheduleAndTheReference) {
  const ScheduledCase& c = GetParam();
  // 4 epochs of 20 minibatches: long enough for a steady state after the longest delay.
  run::Job job = testing::synthetic_job(c.model, c.policy, "per_layer", 4,
                                        {"/pipeline/processors=" + std::to_string(c.processors),
                                         "/pipeline/backward_split=" + c.split});
  const reference::TrainingResult ref = reference::train_reference(
      job.network, job.units, job.trainer, job.init, job.train, job.test);
  const auto [plan, hw] = testing::run_planned(job, hardware::RunOptions{});
  ASSERT_TRUE(plan.schedule.has_value());
  EXPECT_EQ(plan.program.num_processors, c.processors);
  EXPECT_TRUE(testing::bit_equal(ref.final_params, hw.final_params));
  ASSERT_GE(hw.steady_state_from, 0);
  EXPECT_DOUBLE_EQ(hw.cycles_per_minibatch, plan.schedule->period);
}

std::vector<ScheduledCase> scheduled_cases() {
  std::vector<ScheduledCase> out = {
      {"mlp3", "ema_grad", "fused", 2},
      {"mlp3", "ema_grad", "intra", 3},
      {"mlp3", "stash", "intra+inter", 5},
      {"mlp6", "none", "intra", 4},
      {"mlp6", "ema_weight", "intra+inter", 3},
      {"cnn3", "sync", "intra+inter", 2},
      {"snn3", "ema_grad", "intra+inter", 3},
      // The predicting policies: the unit's prediction before F is in the schedule.
      {"mlp3", "lwp", "intra", 3},
      {"cnn3", "ema_lwp", "fused", 2},
      // Fused tasks send Ba's gradient when Ba ends, before their Bw and U (TaskDep::src_after).
      {"mlp6", "stash", "fused", 3},
      {"mlp6", "none", "fused", 3},
      // An ordering constraint across processors is a signal of the link's latency, in the
      // hardware as in the schedule; the vector unit's update runs while it travels.
      {"mlp6", "ema_lwp", "fused", 3},
      // A fused B_l waits before Ba(m + 1) for the vector unit's update after its own U(m).
      {"cnn3", "ema_grad", "fused", 3}};
  // Under ASan (the CI budget) the paths, not the cases: the ones below repeat a policy and a
  // split that a case above runs on another model.
  if (!LPSIM_TEST_ASAN) {
    out.insert(out.end(), {{"cnn3", "stash", "intra+inter", 2},
                           {"snn3", "stash", "intra", 2},
                           {"cnn3", "lwp", "intra+inter", 2}});
  }
  return out;
}

INSTANTIATE_TEST_SUITE_P(Splits, ScheduledRun, ::testing::ValuesIn(scheduled_cases()),
                         scheduled_case_name);

// Transfers a task sends on one link at the same time leave in the order they are due at
// their consumers (dataflow/elaboration_plan.cpp); the scheduler's period counted them in the
// order the dependencies were listed until session 16 and predicted 5,529,118 cycles per
// minibatch for ResNet-18 (CIFAR shape, per-layer stages, stash) on 14 processors, intra
// split, where the hardware ran the same placement at 5,453,068. Timing only, 600
// minibatches (the steady state comes after the 82-beat fill); SRAM large enough that no
// DRAM stall, which the schedule does not count, is in the way.
TEST(ScheduledRunRate, ResNet18On14ProcessorsRunsAtItsSchedulesPeriod) {
  if (LPSIM_TEST_ASAN) GTEST_SKIP() << "a 600-minibatch ResNet-18 timing run; the paths run above";
  const run::Job job = hardware::prepare_job(
      std::string(LPSIM_SOURCE_DIR) + "/configs/resnet18_cifar_schedule.json",
      {"/hw/sram/capacity_bytes=1099511627776", "/workload/dataset/synthetic/train_samples=19200",
       "/pipeline/processors=14", "/pipeline/backward_split=intra"},
      "");
  hardware::RunOptions options;
  options.math = false;
  const auto [plan, hw] = testing::run_planned(job, options);
  ASSERT_TRUE(plan.schedule.has_value());
  ASSERT_GE(hw.steady_state_from, 0);
  EXPECT_DOUBLE_EQ(hw.cycles_per_minibatch, plan.schedule->period);
}

// U(m) overwrites the weight register only after F(m + d) has read it; draining, when
// m + d is past the run's last minibatch, after the last forward (the reference trainer's
// order). A scheduled run skipped that wait, so a run shorter than a delay let U(0) overtake
// F(1) on another processor: mlp3 on 3 processors, 2 minibatches, stopped with "F(fc2,
// minibatch 1) needs weight version 1 but the layer holds version 3".
TEST(ScheduledRunDrain, AnUpdateWaitsForTheLastForwardWhenItsOwnIsPastTheEnd) {
  run::Job job = testing::synthetic_job(
      "mlp3", "none", "per_layer", 1,
      {"/pipeline/processors=3", "/pipeline/backward_split=fused", "/workload/batch_size=32",
       "/workload/dataset/synthetic={\"shape\":[1,28,28],\"classes\":10,\"train_samples\":64,"
       "\"test_samples\":16}"});
  const reference::TrainingResult ref = reference::train_reference(
      job.network, job.units, job.trainer, job.init, job.train, job.test);
  const auto [plan, hw] = testing::run_planned(job, hardware::RunOptions{});
  ASSERT_TRUE(plan.schedule.has_value());
  EXPECT_TRUE(testing::bit_equal(ref.final_params, hw.final_params));
}

// A stash version is freed by whichever of Ba(m) and the U that stashed W^(m) comes second.
// The unit used to decide from the pipeline's started/done counts, which a Ba that waits for
// DRAM between its hook and its start had not yet moved, so the version leaked: with 256 KiB
// of SRAM per processor, mlp3 on 5 scheduled processors stopped with "top.stash_fc2:
// store(4) into a full stash of 2 versions (oldest 2)" (mlp6 on 5 and ResNet-18 on 14 the
// same way). DRAM stalls are not in the schedule: the run is slower than its period.
TEST(ScheduledRunStash, AVersionIsFreedWhenBaWaitsForDram) {
  run::Job job = testing::synthetic_job("mlp3", "stash", "per_layer", 4,
                                        {"/pipeline/processors=5", "/pipeline/backward_split=intra",
                                         "/hw/sram/capacity_bytes=262144"});
  const reference::TrainingResult ref = reference::train_reference(
      job.network, job.units, job.trainer, job.init, job.train, job.test);
  const auto [plan, hw] = testing::run_planned(job, hardware::RunOptions{});
  ASSERT_TRUE(plan.schedule.has_value());
  EXPECT_TRUE(testing::bit_equal(ref.final_params, hw.final_params));
  std::uint64_t dram = 0;
  for (const std::uint64_t b : hw.dram_bytes_by_kind) dram += b;
  EXPECT_GT(dram, 0u);
  EXPECT_GE(hw.cycles_per_minibatch, plan.schedule->period);
}

}  // namespace
}  // namespace lpsim

namespace lpsim {
namespace {

// mlp6 under lwp on 3 processors: over 100 minibatches the loss settles into a stride of
// 38,485 cycles while processor 1 falls behind at 38,656, the schedule's period (a run of
// 1,000 minibatches measures 38,656 at the loss too). That is no steady state; the rate
// reported is the slowest processor's.
TEST(ScheduledRunRate, AStageFallingBehindIsNoSteadyState) {
  run::Job job = testing::synthetic_job(
      "mlp6", "lwp", "per_layer", 5, {"/pipeline/processors=3", "/pipeline/backward_split=intra"});
  hardware::RunOptions options;
  const auto [plan, hw] = testing::run_planned(job, options);
  ASSERT_TRUE(plan.schedule.has_value());
  EXPECT_EQ(hw.minibatches, 100);
  EXPECT_EQ(hw.steady_state_from, -1);
  EXPECT_DOUBLE_EQ(hw.cycles_per_minibatch, plan.schedule->period);
}

}  // namespace
}  // namespace lpsim

namespace lpsim {
namespace {

struct PipeDreamCase {
  std::string model;
  std::string policy;
  int processors;
};

void PrintTo(const PipeDreamCase& c, std::ostream* os) {
  *os << c.model << "/" << c.policy << "/P" << c.processors;
}

std::string pipedream_case_name(const ::testing::TestParamInfo<PipeDreamCase>& info) {
  return info.param.model + info.param.policy + "P" + std::to_string(info.param.processors);
}

class PipeDreamRun : public ::testing::TestWithParam<PipeDreamCase> {};

// PipeDream's stages, one SystemC processor each, 1F1B: the run's period is the stage
// schedule's, and the weights are the reference trainer's with the delays those stages imply.
TEST_P(PipeDreamRun, MatchesItsScheduleAndTheReference) {
  const PipeDreamCase& c = GetParam();
  run::Job job = testing::synthetic_job(
      c.model, c.policy, "per_layer", 4,
      {"/pipeline/processors=" + std::to_string(c.processors), "/pipeline/scheduler=pipedream"});
  ASSERT_TRUE(job.pipedream_stages);
  const int units = static_cast<int>(job.units.units.size());
  ASSERT_GE(job.partition.num_stages, 2);
  ASSERT_LE(job.partition.num_stages, std::min(units, c.processors));
  const reference::TrainingResult ref = reference::train_reference(
      job.network, job.units, job.trainer, job.init, job.train, job.test);
  const auto [plan, hw] = testing::run_planned(job, hardware::RunOptions{});
  ASSERT_TRUE(plan.schedule.has_value());
  EXPECT_EQ(plan.program.num_processors, job.partition.num_stages);
  const dataflow::Program stages = dataflow::stage_program(plan.graph);
  for (int p = 0; p < stages.num_processors; ++p) {
    ASSERT_EQ(plan.program.entries[p].size(), stages.entries[p].size());
    for (std::size_t i = 0; i < stages.entries[p].size(); ++i) {
      EXPECT_EQ(plan.program.entries[p][i].node, stages.entries[p][i].node);
      EXPECT_EQ(plan.program.entries[p][i].lag, stages.entries[p][i].lag);
    }
  }
  EXPECT_TRUE(testing::bit_equal(ref.final_params, hw.final_params));
  ASSERT_GE(hw.steady_state_from, 0);
  EXPECT_DOUBLE_EQ(hw.cycles_per_minibatch, plan.schedule->period);
  // The measured staleness is the stages' 2·S(l), not the per-layer 2·(units - 1 - l).
  for (int u = 0; u < units; ++u) {
    EXPECT_EQ(plan.graph.layers[u].delay,
              2 * (job.partition.num_stages - 1 - job.partition.stage_of_unit[u]))
        << "unit " << u;
    if (plan.graph.layers[u].delay > 0) {
      EXPECT_EQ(hw.measured_staleness[u], plan.graph.layers[u].delay) << "unit " << u;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Stages, PipeDreamRun,
                         ::testing::Values(PipeDreamCase{"mlp6", "stash", 3},
                                           PipeDreamCase{"cnn3", "ema_grad", 2},
                                           PipeDreamCase{"mlp3", "none", 2}),
                         pipedream_case_name);

}  // namespace
}  // namespace lpsim
