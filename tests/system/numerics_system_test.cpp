// ARCHITECTURE.md §2d on the SystemC hardware: a run under narrow formats (bf16 throughout
// with a bf16 master; the fp8 recipe with stochastic rounding) trains to the reference
// trainer's bits, differs from the fp32 run, and keeps its master copy in its format. One
// design per process: every case is its own test.

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "system_test_util.h"
#include "workloads/ops/numerics.h"

namespace lpsim {
namespace {

struct FormatCase {
  const char* name;
  std::vector<std::string> sets;
};

const FormatCase kCases[] = {
    {"bf16_master_bf16",
     {"/hw/numerics/weights=bf16", "/hw/numerics/activations=bf16",
      "/hw/numerics/activation_gradients=bf16", "/hw/numerics/weight_gradients=bf16",
      "/hw/numerics/master=bf16", "/hw/numerics/stash=bf16", "/hw/numerics/ema=bf16"}},
    {"fp8_stochastic",
     {"/hw/numerics/weights=fp8_e4m3", "/hw/numerics/activations=fp8_e4m3",
      "/hw/numerics/activation_gradients=fp8_e5m2", "/hw/numerics/weight_gradients=bf16",
      "/hw/numerics/ema=fp16", "/hw/numerics/rounding=stochastic"}},
    // A bf16 accumulator summing K in chunks of 8 (hw.pe.rows), with bf16 operands.
    {"bf16_accumulator",
     {"/hw/numerics/weights=bf16", "/hw/numerics/activations=bf16", "/hw/numerics/accumulate=bf16",
      "/hw/pe/rows=8"}},
};

class HardwareUnderFormats
    : public ::testing::TestWithParam<std::tuple<const char*, const FormatCase*>> {};

TEST_P(HardwareUnderFormats, TrainsToTheReferenceBits) {
  const std::string policy = std::get<0>(GetParam());
  const FormatCase& c = *std::get<1>(GetParam());
  run::Job job = testing::synthetic_job("cnn3", policy, "[1,1,1]", 1, c.sets);
  const reference::TrainingResult ref = reference::train_reference(
      job.network, job.units, job.trainer, job.init, job.train, job.test);
  const auto [plan, hw] = testing::run_planned(job, hardware::RunOptions{});
  EXPECT_TRUE(testing::bit_equal(ref.final_params, hw.final_params));
  EXPECT_EQ(ref.epochs.back().train_loss, hw.epochs.back().train_loss);
  EXPECT_EQ(ref.epochs.back().test_accuracy, hw.epochs.back().test_accuracy);

  run::Job fp32 = testing::synthetic_job("cnn3", policy, "[1,1,1]", 1);
  const reference::TrainingResult wide = reference::train_reference(
      fp32.network, fp32.units, fp32.trainer, fp32.init, fp32.train, fp32.test);
  EXPECT_FALSE(testing::bit_equal(wide.final_params, hw.final_params));
  // The master copy is stored in its format.
  const ops::NumberFormat master = job.config.hw.numerics.of(ops::TensorClass::kMaster);
  std::int64_t off = 0;
  for (const auto& p : hw.final_params) {
    for (Eigen::Index i = 0; i < p.weight.size(); ++i) {
      off += ops::round_to(p.weight(i), master) != p.weight(i) ? 1 : 0;
    }
  }
  EXPECT_EQ(off, 0);
}

INSTANTIATE_TEST_SUITE_P(Formats, HardwareUnderFormats,
                         ::testing::Combine(::testing::Values("stash", "ema_grad"),
                                            ::testing::Values(&kCases[0], &kCases[1], &kCases[2])),
                         [](const auto& param_info) {
                           return std::string(std::get<0>(param_info.param)) + "_" +
                                  std::get<1>(param_info.param)->name;
                         });

}  // namespace
}  // namespace lpsim
