#pragma once
// One GEMM's timing on the PE array as a JSON object, for `lpsim gemm`.
//
// Contract: the object has exactly the fields rows, cols, dataflow ("os"/"ws"/"is"), m, n,
// k, cycles, folds, row_folds, col_folds, macs (integers) and utilization (a number in
// (0, 1]: macs / (rows·cols·cycles)). Counts come from gemm_timing() (pe_timing.h); the
// same preconditions apply.

#include <nlohmann/json.hpp>

#include "hw_models/pe/pe_timing.h"
#include "hw_models/pe/pe_types.h"

namespace lpsim::hw {

nlohmann::json gemm_report(ArrayShape array, Dataflow dataflow, GemmShape gemm);

}  // namespace lpsim::hw
