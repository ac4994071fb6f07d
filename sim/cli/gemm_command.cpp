// `lpsim gemm`: one GEMM's cycles on the PE array (SCALE-Sim v2's compute model).

#include <cstdio>
#include <iostream>

#include "hw_models/pe/gemm_report.h"
#include "sim/cli/command.h"
#include "sim/cli/options.h"
#include "sim/core/errors.h"

namespace lpsim::cli {
namespace {

std::int64_t positive(const po::variables_map& vm, const char* name, std::int64_t max) {
  const std::int64_t v = vm[name].as<std::int64_t>();
  if (v < 1 || v > max) {
    throw UserError("", std::string("--") + name,
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
      "n", po::value<std::int64_t>()->required(), "N")(
      "k", po::value<std::int64_t>()->required(), "K")("json", "print JSON");
  po::variables_map vm;
  if (!parse_options("gemm", "--rows R --cols C [--dataflow os|ws|is] --m M --n N --k K [--json]",
                     options, args, vm)) {
    return 0;
  }
  constexpr std::int64_t kMaxArray = 1 << 16, kMaxDim = std::int64_t{1} << 32;
  const hw::ArrayShape array{positive(vm, "rows", kMaxArray), positive(vm, "cols", kMaxArray)};
  const hw::GemmShape gemm{positive(vm, "m", kMaxDim), positive(vm, "n", kMaxDim),
                           positive(vm, "k", kMaxDim)};
  const hw::Dataflow dataflow = hw::parse_dataflow(vm["dataflow"].as<std::string>(), "", "--dataflow");
  const Json report = hw::gemm_report(array, dataflow, gemm);
  if (vm.count("json")) {
    std::cout << report.dump(2) << "\n";
    return 0;
  }
  std::printf("%lldx%lld %s array, GEMM [%lld x %lld]·[%lld x %lld]\n",
              static_cast<long long>(array.rows), static_cast<long long>(array.cols),
              hw::format_dataflow(dataflow), static_cast<long long>(gemm.m),
              static_cast<long long>(gemm.k), static_cast<long long>(gemm.k),
              static_cast<long long>(gemm.n));
  std::printf("cycles       %llu\nfolds        %llu (%llu x %llu)\nmacs         %llu\nutilization  %.4f\n",
              static_cast<unsigned long long>(report["cycles"].get<std::uint64_t>()),
              static_cast<unsigned long long>(report["folds"].get<std::uint64_t>()),
              static_cast<unsigned long long>(report["row_folds"].get<std::uint64_t>()),
              static_cast<unsigned long long>(report["col_folds"].get<std::uint64_t>()),
              static_cast<unsigned long long>(report["macs"].get<std::uint64_t>()),
              report["utilization"].get<double>());
  return 0;
}

}  // namespace lpsim::cli
