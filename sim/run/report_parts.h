#pragma once
// Report sections shared by the reference and the hardware runs.

#include <vector>

#include "sim/run/job.h"
#include "workloads/reference/trainer.h"

namespace lpsim::run {

// The fields every report starts with: schema_version, status, mode, policy,
// spike_compensation, config_hash, run, network.
core::Json report_head(const Job& job, const std::string& mode, bool interrupted);
// `final_test_accuracy`: with the final (drained) weights. `tokens`: a token model (a label per
// position), whose test loss is also given in bits per token.
core::Json training_json(const std::vector<reference::EpochResult>& epochs,
                         double final_test_accuracy, bool tokens);
// One row per unit. `measured_staleness` empty for the reference run.
core::Json layers_json(const Job& job, const std::vector<std::int64_t>& delays,
                       const std::vector<reference::ReconstructionStats>& reconstruction,
                       const std::vector<std::int64_t>& measured_staleness);
core::Json network_json(const Job& job);
// Operation counts per minibatch from the cost model (GEMM MACs, accumulates on spike
// operands, vector operations) and, for spiking networks with the math run, the measured
// firing rates and the accumulates an event-driven array would do (`spikes` empty
// otherwise).
core::Json ops_json(const Job& job, const std::vector<reference::SpikeStats>& spikes);
// The one-screen summary printed on stdout.
std::string summary_text(const core::Json& report);
// Writes the final weights as a checkpoint directory.
void save_weights(const Job& job, const std::vector<reference::UnitParams>& params,
                  const std::string& dir);

}  // namespace lpsim::run
