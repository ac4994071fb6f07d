// `lpsim policies`: the registered weight-version policies (workloads/policies), their rule
// and what their hardware holds and does; with --stability, the largest stable lr·λ of each
// policy's forward rule at the given delays (workloads/reference/stability.h).

#include <cmath>
#include <cstdio>
#include <iostream>
#include <sstream>

#include "core/errors.h"
#include "sim/cli/command.h"
#include "sim/cli/options.h"
#include "workloads/policies/policy.h"
#include "workloads/reference/stability.h"

namespace lpsim::cli {
namespace {

// The delay ceiling of --delays: the polynomial has degree d + 3, and the bisection tests it
// about 100 times, so d = 1024 answers in well under a second.
constexpr std::int64_t kMaxDelay = 1024;

std::vector<std::int64_t> parse_delays(const std::string& text) {
  const auto bad = [&text] {
    return core::UserError("", "--delays",
                           "found \"" + text +
                               "\", expected a comma-separated list of integers 0.." +
                               std::to_string(kMaxDelay));
  };
  if (text.empty() || text.back() == ',') throw bad();
  std::vector<std::int64_t> out;
  std::stringstream in(text);
  std::string item;
  while (std::getline(in, item, ',')) {
    std::size_t used = 0;
    long long d = -1;
    try {
      d = std::stoll(item, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used == 0 || used != item.size() || d < 0 || d > kMaxDelay) throw bad();
    out.push_back(d);
  }
  return out;
}

// {"delay": d, "max_lr_curvature": a, "max_lr_curvature_spike": a'} for each delay.
core::Json stability_rows(const policies::Policy& p, double momentum,
                          const std::vector<std::int64_t>& delays) {
  core::Json rows = core::Json::array();
  for (std::int64_t d : delays) {
    const double plain = reference::max_stable_lr_curvature({d, momentum, p.forward, false});
    const double spike = reference::max_stable_lr_curvature({d, momentum, p.forward, true});
    rows.push_back({{"delay", d}, {"max_lr_curvature", plain}, {"max_lr_curvature_spike", spike}});
  }
  return rows;
}

}  // namespace

int run_policies(const std::vector<std::string>& args) {
  po::options_description options("policies options");
  options.add_options()("json", "print JSON")("names", "print the names only, one per line")(
      "stability",
      "the largest stable lr·λ of each pipelined policy's forward rule (stability.h), plain and "
      "with pipeline.spike_compensation")("delays",
                                          po::value<std::string>()->default_value("1,2,4,10"),
                                          "with --stability: the delays d, comma-separated")(
      "momentum", po::value<double>()->default_value(0.9), "with --stability: the momentum μ");
  po::variables_map vm;
  if (!parse_options("policies",
                     "[--json | --names] [--stability [--delays D,D,...] [--momentum M]]", options,
                     args, vm)) {
    return 0;
  }
  if (vm.count("names")) {
    for (const std::string& n : policies::names()) std::cout << n << "\n";
    return 0;
  }
  const bool stability = vm.count("stability") > 0;
  const std::vector<std::int64_t> delays = parse_delays(vm["delays"].as<std::string>());
  const double momentum = vm["momentum"].as<double>();
  if (!(momentum >= 0.0 && momentum < 1.0)) {
    throw core::UserError("", "--momentum",
                          "found " + std::to_string(momentum) + ", expected 0 <= momentum < 1");
  }
  core::Json list = core::Json::array();
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
    if (stability && p->pipelined) {
      list.back()["forward_rule"] = policies::forward_rule_name(p->forward);
      list.back()["stability"] = stability_rows(*p, momentum, delays);
    }
  }
  if (vm.count("json")) {
    std::cout << list.dump(2) << "\n";
    return 0;
  }
  if (stability) {
    std::printf("largest stable lr·λ at momentum %g (plain / with spike compensation)\n", momentum);
    std::printf("%-11s %-20s", "policy", "forward rule");
    for (std::int64_t d : delays) std::printf(" %21s", ("d = " + std::to_string(d)).c_str());
    std::printf("\n");
    for (const auto& p : list) {
      if (!p.contains("stability")) continue;
      std::printf("%-11s %-20s", p["name"].get<std::string>().c_str(),
                  p["forward_rule"].get<std::string>().c_str());
      for (const auto& row : p["stability"]) {
        std::printf(" %10.4g / %-8.4g", row["max_lr_curvature"].get<double>(),
                    row["max_lr_curvature_spike"].get<double>());
      }
      std::printf("\n");
    }
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
