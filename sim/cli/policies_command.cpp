// `lpsim policies`: the registered weight-version policies (workloads/policies), their rule
// and what their hardware holds and does.

#include <cstdio>
#include <iostream>

#include "sim/cli/command.h"
#include "sim/cli/options.h"
#include "workloads/policies/policy.h"

namespace lpsim::cli {

int run_policies(const std::vector<std::string>& args) {
  po::options_description options("policies options");
  options.add_options()("json", "print JSON")("names", "print the names only, one per line");
  po::variables_map vm;
  if (!parse_options("policies", "[--json | --names]", options, args, vm)) return 0;
  if (vm.count("names")) {
    for (const std::string& n : policies::names()) std::cout << n << "\n";
    return 0;
  }
  Json list = Json::array();
  for (const policies::Policy* p : policies::all()) {
    const policies::HardwareWork& w = p->hardware;
    list.push_back({{"name", p->name},
                    {"description", p->description},
                    {"pipelined", p->pipelined},
                    {"stash", w.stash},
                    {"unit_tensors", w.tensors},
                    {"unit_covers_bias", w.covers_bias},
                    {"lane_ops_per_update", w.update_lane_ops},
                    {"lane_ops_per_backward", w.backward_lane_ops},
                    {"lane_ops_per_forward", w.forward_lane_ops}});
  }
  if (vm.count("json")) {
    std::cout << list.dump(2) << "\n";
    return 0;
  }
  std::printf("%-11s %-7s %-7s %-13s  %s\n", "policy", "stash", "tensors", "lane-ops U/B/F",
              "description");
  for (const auto& p : list) {
    const std::string ops = std::to_string(p["lane_ops_per_update"].get<int>()) + "/" +
                            std::to_string(p["lane_ops_per_backward"].get<int>()) + "/" +
                            std::to_string(p["lane_ops_per_forward"].get<int>());
    std::printf("%-11s %-7s %-7d %-13s  %s\n", p["name"].get<std::string>().c_str(),
                p["stash"].get<bool>() ? "d·|W|" : "-", p["unit_tensors"].get<int>(), ops.c_str(),
                p["description"].get<std::string>().c_str());
  }
  return 0;
}

}  // namespace lpsim::cli
