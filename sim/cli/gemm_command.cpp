// `lpsim gemm`: one GEMM's cycles on the PE array (SCALE-Sim v2's compute model); with
// --sram-bytes, the same GEMM with its operands in DRAM (hw_models/memory/gemm_memory.h):
// compute and stall cycles, traffic and energy (the default energy table, reports/energy.h).

#include <cstdio>
#include <iostream>

#include "core/errors.h"
#include "hw_models/memory/gemm_memory.h"
#include "hw_models/memory/placement.h"
#include "hw_models/pe/gemm_report.h"
#include "reports/energy.h"
#include "sim/cli/command.h"
#include "sim/cli/options.h"
#include "sim/config/config.h"

namespace lpsim::cli {
namespace {

std::int64_t positive(const po::variables_map& vm, const char* name, std::int64_t max) {
  const std::int64_t v = vm[name].as<std::int64_t>();
  if (v < 1 || v > max) {
    throw core::UserError("", std::string("--") + name,
                          "found " + std::to_string(v) + ", expected 1.." + std::to_string(max));
  }
  return v;
}

}  // namespace

int run_gemm(const std::vector<std::string>& args) {
  po::options_description options("gemm options");
  options.add_options()("rows", po::value<std::int64_t>()->required(), "array rows R")(
      "cols", po::value<std::int64_t>()->required(), "array columns C")(
      "dataflow", po::value<std::string>()->default_value("os"), "os, ws or is")(
      "m", po::value<std::int64_t>()->required(), "M of [M x K]·[K x N]")(
      "n", po::value<std::int64_t>()->required(), "N")("k", po::value<std::int64_t>()->required(),
                                                       "K")(
      "sram-bytes", po::value<std::int64_t>(),
      "SRAM beside the array: the operands start in DRAM, the result goes back there")(
      "dram-bytes-per-cycle", po::value<std::int64_t>()->default_value(64),
      "DRAM bandwidth (with --sram-bytes)")(
      "dram-latency-cycles", po::value<std::int64_t>()->default_value(100),
      "DRAM latency to the first byte (with --sram-bytes)")("json", "print JSON");
  po::variables_map vm;
  if (!parse_options(
          "gemm",
          "--rows R --cols C [--dataflow os|ws|is] --m M --n N --k K "
          "[--sram-bytes S [--dram-bytes-per-cycle B] [--dram-latency-cycles L]] [--json]",
          options, args, vm)) {
    return 0;
  }
  constexpr std::int64_t kMaxArray = 1 << 16, kMaxDim = std::int64_t{1} << 32;
  const hw::ArrayShape array{positive(vm, "rows", kMaxArray), positive(vm, "cols", kMaxArray)};
  const hw::GemmShape gemm{positive(vm, "m", kMaxDim), positive(vm, "n", kMaxDim),
                           positive(vm, "k", kMaxDim)};
  const hw::Dataflow dataflow =
      hw::parse_dataflow(vm["dataflow"].as<std::string>(), "", "--dataflow");
  core::Json report = hw::gemm_report(array, dataflow, gemm);
  if (vm.count("sram-bytes")) {
    hw::GemmMemoryParams mp;
    mp.sram_bytes = static_cast<std::uint64_t>(positive(vm, "sram-bytes", std::int64_t{1} << 50));
    mp.dram_bytes_per_cycle =
        static_cast<std::uint64_t>(positive(vm, "dram-bytes-per-cycle", std::int64_t{1} << 30));
    const std::int64_t latency = vm["dram-latency-cycles"].as<std::int64_t>();
    if (latency < 0 || latency > (std::int64_t{1} << 30)) {
      throw core::UserError(
          "", "--dram-latency-cycles",
          "found " + std::to_string(latency) + ", expected 0.." + std::to_string(1 << 30));
    }
    mp.dram_latency_cycles = static_cast<std::uint64_t>(latency);
    const std::uint64_t staging = hw::gemm_staging_bytes(array, dataflow, gemm);
    if (mp.sram_bytes < staging) {
      throw core::UserError("", "--sram-bytes",
                            "found " + std::to_string(mp.sram_bytes) +
                                ", but the GEMM's double-buffered "
                                "operand tiles need " +
                                std::to_string(staging) + " bytes; expected at least " +
                                std::to_string(staging));
    }
    const hw::GemmMemoryTiming t = hw::gemm_memory_timing(array, dataflow, gemm, mp);
    const config::HwConfig defaults = config::load_config("", {}).hw;  // hw.energy, bank size
    const reports::EnergyTable& table = defaults.energy;
    reports::PeActivity a;
    a.macs = t.compute.macs;
    a.macs_by_format["fp32"] = a.macs;  // lpsim gemm times an fp32 GEMM
    a.sram_read_bytes = t.sram_read_bytes;
    a.sram_write_bytes = t.sram_write_bytes;
    a.dram_bytes = t.dram_read_bytes + t.dram_write_bytes;
    a.sram_capacity_bytes = mp.sram_bytes;
    a.sram_bank_bytes = static_cast<std::uint64_t>(defaults.sram_bank_bytes);
    const reports::EnergyBreakdown e = reports::pe_energy(table, a, 0.0);
    report["memory"] = {{"sram_bytes", mp.sram_bytes},
                        {"dram_bytes_per_cycle", mp.dram_bytes_per_cycle},
                        {"dram_latency_cycles", mp.dram_latency_cycles},
                        {"staging_bytes", t.staging_bytes},
                        {"kept_in_sram", t.kept_in_sram},
                        {"cycles", t.cycles},
                        {"compute_cycles", t.compute.cycles},
                        {"stall_cycles", t.stall_cycles},
                        {"dram_read_bytes", t.dram_read_bytes},
                        {"dram_write_bytes", t.dram_write_bytes},
                        {"sram_read_bytes", t.sram_read_bytes},
                        {"sram_write_bytes", t.sram_write_bytes},
                        {"energy_pj",
                         {{"mac", e.mac},
                          {"sram", e.sram},
                          {"dram", e.dram},
                          {"total", e.total()},
                          {"source", table.source}}}};
  }
  if (vm.count("json")) {
    std::cout << report.dump(2) << "\n";
    return 0;
  }
  std::printf("%lldx%lld %s array, GEMM [%lld x %lld]·[%lld x %lld]\n",
              static_cast<long long>(array.rows), static_cast<long long>(array.cols),
              hw::format_dataflow(dataflow), static_cast<long long>(gemm.m),
              static_cast<long long>(gemm.k), static_cast<long long>(gemm.k),
              static_cast<long long>(gemm.n));
  std::printf(
      "cycles       %llu\nfolds        %llu (%llu x %llu)\nmacs         %llu\nutilization  %.4f\n",
      static_cast<unsigned long long>(report["cycles"].get<std::uint64_t>()),
      static_cast<unsigned long long>(report["folds"].get<std::uint64_t>()),
      static_cast<unsigned long long>(report["row_folds"].get<std::uint64_t>()),
      static_cast<unsigned long long>(report["col_folds"].get<std::uint64_t>()),
      static_cast<unsigned long long>(report["macs"].get<std::uint64_t>()),
      report["utilization"].get<double>());
  if (report.contains("memory")) {
    const core::Json& m = report["memory"];
    const auto u = [&](const char* k) {
      return static_cast<unsigned long long>(m[k].get<std::uint64_t>());
    };
    std::printf("with the operands in DRAM (%llu B SRAM, %llu B/cycle, latency %llu):\n",
                u("sram_bytes"), u("dram_bytes_per_cycle"), u("dram_latency_cycles"));
    std::printf("  cycles     %llu (compute %llu, DRAM stall %llu)\n", u("cycles"),
                u("compute_cycles"), u("stall_cycles"));
    std::printf("  DRAM       %llu B read, %llu B written (%s kept in SRAM)\n",
                u("dram_read_bytes"), u("dram_write_bytes"),
                m["kept_in_sram"].get<bool>() ? "reused matrix" : "nothing");
    const core::Json& e = m["energy_pj"];
    std::printf("  energy     %.4g pJ: MAC %.4g, SRAM %.4g, DRAM %.4g (%s)\n",
                e["total"].get<double>(), e["mac"].get<double>(), e["sram"].get<double>(),
                e["dram"].get<double>(), e["source"].get<std::string>().c_str());
  }
  return 0;
}

}  // namespace lpsim::cli
