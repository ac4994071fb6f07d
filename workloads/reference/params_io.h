#pragma once
// Network parameters <-> checkpoint tensors with PyTorch's names and layouts:
// <layer>.weight (linear [O, I], conv [O, C, kh, kw], batch norm [C]), <layer>.bias [O]
// (absent for a layer without bias), and batch norm's <layer>.running_mean/.running_var.

#include <string>
#include <vector>

#include "workloads/data/checkpoint.h"
#include "workloads/models/network.h"
#include "workloads/models/units.h"
#include "workloads/reference/engine.h"

namespace lpsim::reference {

std::vector<data::NamedTensor> to_named_tensors(const models::Network& network,
                                                const models::UnitGraph& units,
                                                const std::vector<UnitParams>& params);

// Every tensor of the network must be present with its exact shape, and no other tensor
// may be (core::DataError naming the checkpoint's manifest and the tensor otherwise).
std::vector<UnitParams> params_from_checkpoint(const models::Network& network,
                                               const models::UnitGraph& units,
                                               const data::Checkpoint& checkpoint);

}  // namespace lpsim::reference
