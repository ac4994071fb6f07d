#include "reports/derived.h"

#include <algorithm>

namespace lpsim::reports {

double minibatches_per_second(double cycles_per_minibatch, double period_ns) {
  return 1e9 / (cycles_per_minibatch * period_ns);
}

double utilization(std::uint64_t busy_cycles, std::uint64_t processors,
                   std::uint64_t total_cycles) {
  const double slots = static_cast<double>(std::max<std::uint64_t>(1, processors)) *
                       static_cast<double>(std::max<std::uint64_t>(1, total_cycles));
  return static_cast<double>(busy_cycles) / slots;
}

core::Json processor_row(core::Json pe, const std::string& name, std::uint64_t total_cycles) {
  const auto busy = pe.at("busy_cycles").get<std::uint64_t>();
  const auto stall = pe.at("stall_cycles").get<std::uint64_t>();
  pe["name"] = name;
  pe["idle_cycles"] = total_cycles - std::min(total_cycles, busy + stall);
  pe["utilization"] = utilization(busy, 1, total_cycles);
  return pe;
}

}  // namespace lpsim::reports
