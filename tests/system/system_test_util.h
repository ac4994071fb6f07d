#pragma once
// Jobs on synthetic data for the system tests, and hardware runs of them.

#include <cstring>
#include <string>
#include <vector>

#include "sim/hardware/hardware_plan.h"
#include "sim/hardware/pipeline.h"
#include "sim/run/job.h"

namespace lpsim::testing {

inline run::Job synthetic_job(const std::string& model, const std::string& policy,
                              const std::string& stages, std::int64_t epochs = 2,
                              std::vector<std::string> extra = {}) {
  std::vector<std::string> sets = {
      "/workload/model=" + model,
      "/pipeline/policy=" + policy,
      "/pipeline/stages=" + stages,
      "/workload/dataset/kind=synthetic",
      "/workload/dataset/synthetic={\"shape\":[1,28,28],\"classes\":10,\"train_samples\":320,"
      "\"test_samples\":100}",
      "/workload/batch_size=16",
      "/workload/epochs=" + std::to_string(epochs),
      "/workload/optimizer/weight_decay=0.0001",
      "/pipeline/stability_check=false"};
  sets.insert(sets.end(), extra.begin(), extra.end());
  return hardware::prepare_job("", sets, "");
}

// A hardware run of `job` with the plan it ran.
struct PlannedRun {
  hardware::HardwarePlan plan;
  hardware::HardwareResult result;
};
inline PlannedRun run_planned(const run::Job& job, const hardware::RunOptions& options = {}) {
  PlannedRun r{hardware::plan_hardware(job), {}};
  r.result = hardware::run_hardware(job, r.plan, options);
  return r;
}

inline bool bit_equal(const std::vector<reference::UnitParams>& a,
                      const std::vector<reference::UnitParams>& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t u = 0; u < a.size(); ++u) {
    const auto& x = a[u];
    const auto& y = b[u];
    if (x.weight.size() != y.weight.size() || x.bias.size() != y.bias.size() ||
        x.running_mean.size() != y.running_mean.size()) {
      return false;
    }
    auto same = [](const float* p, const float* q, long n) {
      return n == 0 || std::memcmp(p, q, static_cast<std::size_t>(n) * sizeof(float)) == 0;
    };
    if (!same(x.weight.data(), y.weight.data(), x.weight.size()) ||
        !same(x.bias.data(), y.bias.data(), x.bias.size()) ||
        !same(x.running_mean.data(), y.running_mean.data(), x.running_mean.size()) ||
        !same(x.running_var.data(), y.running_var.data(), x.running_var.size())) {
      return false;
    }
  }
  return true;
}

}  // namespace lpsim::testing
