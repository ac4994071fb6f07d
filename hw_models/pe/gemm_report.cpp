#include "hw_models/pe/gemm_report.h"

namespace lpsim::hw {

nlohmann::json gemm_report(ArrayShape array, Dataflow dataflow, GemmShape gemm) {
  const GemmTiming timing = gemm_timing(array, dataflow, gemm);
  nlohmann::json report = nlohmann::json::object();
  report["rows"] = array.rows;
  report["cols"] = array.cols;
  report["dataflow"] = format_dataflow(dataflow);
  report["m"] = gemm.m;
  report["n"] = gemm.n;
  report["k"] = gemm.k;
  report["cycles"] = timing.cycles;
  report["folds"] = timing.folds;
  report["row_folds"] = timing.row_folds;
  report["col_folds"] = timing.col_folds;
  report["macs"] = timing.macs;
  report["utilization"] = static_cast<double>(timing.macs) / static_cast<double>(timing.mac_slots);
  return report;
}

}  // namespace lpsim::hw
