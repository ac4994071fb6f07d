// Network parameters survive a checkpoint round trip bit for bit, in PyTorch's layouts.

#include "workloads/reference/params_io.h"

#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>

#include "core/errors.h"
#include "workloads/models/builtin.h"

namespace lpsim::reference {
namespace {

// (memcmp of empty tensors would pass null pointers: compare sizes first.)
bool same(const ops::Matrix& a, const ops::Matrix& b) {
  return a.rows() == b.rows() && a.cols() == b.cols() &&
         (a.size() == 0 || std::memcmp(a.data(), b.data(), sizeof(float) * a.size()) == 0);
}
bool same(const ops::Vector& a, const ops::Vector& b) {
  return a.size() == b.size() &&
         (a.size() == 0 || std::memcmp(a.data(), b.data(), sizeof(float) * a.size()) == 0);
}

TEST(CheckpointRoundTrip, Resnet18ParametersAndBatchNormStatistics) {
  const models::Network net = models::builtin_model("resnet18", {3, 8, 8}, 10);
  const models::UnitGraph units = models::group_units(net);
  std::vector<UnitParams> params = initial_parameters(net, units, 9);
  for (auto& p : params) {  // make the batch-norm statistics non-trivial
    if (p.running_mean.size() > 0) p.running_mean.setRandom();
    if (p.running_var.size() > 0) p.running_var = p.running_var.array() + 0.5f;
  }
  const std::string dir = ::testing::TempDir() + "/lpsim_ckpt_resnet18";
  std::filesystem::remove_all(dir);
  const auto tensors = to_named_tensors(net, units, params);
  data::write_checkpoint(dir, tensors);
  const data::Checkpoint ck = data::read_checkpoint(dir);
  EXPECT_EQ(ck.at("layer2.0.downsample.0.weight").shape,
            (std::vector<std::int64_t>{128, 64, 1, 1}));
  EXPECT_EQ(ck.at("conv1.weight").shape, (std::vector<std::int64_t>{64, 3, 3, 3}));
  EXPECT_EQ(ck.find("conv1.bias"), nullptr);  // bias=False as in torchvision
  EXPECT_EQ(ck.at("bn1.running_var").shape, (std::vector<std::int64_t>{64}));
  const std::vector<UnitParams> back = params_from_checkpoint(net, units, ck);
  ASSERT_EQ(back.size(), params.size());
  for (std::size_t u = 0; u < params.size(); ++u) {
    EXPECT_TRUE(same(params[u].weight, back[u].weight)) << units.units[u].name;
    EXPECT_TRUE(same(params[u].bias, back[u].bias)) << units.units[u].name;
    EXPECT_TRUE(same(params[u].running_mean, back[u].running_mean)) << units.units[u].name;
    EXPECT_TRUE(same(params[u].running_var, back[u].running_var)) << units.units[u].name;
  }
}

TEST(CheckpointRoundTrip, ATensorOfAnotherNetworkIsRejected) {
  const models::Network mlp3 = models::builtin_model("mlp3");
  const models::Network mlp6 = models::builtin_model("mlp6");
  const models::UnitGraph u3 = models::group_units(mlp3);
  const models::UnitGraph u6 = models::group_units(mlp6);
  const std::string dir = ::testing::TempDir() + "/lpsim_ckpt_mlp6";
  std::filesystem::remove_all(dir);
  data::write_checkpoint(dir, to_named_tensors(mlp6, u6, initial_parameters(mlp6, u6, 1)));
  try {
    params_from_checkpoint(mlp3, u3, data::read_checkpoint(dir));
    FAIL() << "mlp6 weights accepted for mlp3";
  } catch (const core::DataError& e) {
    EXPECT_NE(std::string(e.what()).find("fc2.weight: shape (256, 256) found, (128, 256) expected"),
              std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace lpsim::reference
