// `lpsim models`: the built-in networks with their parameter counts; `--types`: the layer types
// a network file may use, from the registry (workloads/models/layer_type.h).

#include <cstdio>
#include <iostream>

#include "core/errors.h"
#include "sim/cli/command.h"
#include "sim/cli/options.h"
#include "workloads/models/builtin.h"
#include "workloads/models/layer_type.h"

namespace lpsim::cli {

int run_models(const std::vector<std::string>& args) {
  po::options_description options("models options");
  options.add_options()("input-shape", po::value<std::string>()->default_value("1,28,28"),
                        "input shape C,H,W the models are built for")(
      "classes", po::value<std::int64_t>()->default_value(10), "number of classes")(
      "json", "print JSON")("show", po::value<std::string>(),
                            "print one model's network document (a starting point for a file)")(
      "types", "list the layer types a network file may use (the registered kinds)");
  po::variables_map vm;
  if (!parse_options("models", "[--input-shape C,H,W] [--json | --show NAME | --types]", options,
                     args, vm)) {
    return 0;
  }
  if (vm.count("types")) {
    core::Json types = core::Json::array();
    for (const models::LayerType* t : models::layer_types()) {
      types.push_back({{"type", t->name()},
                       {"parameters", t->has_params()},
                       {"backward_reads_weights", t->backward_reads_weights()},
                       {"summary", t->summary()}});
    }
    if (vm.count("json")) {
      std::cout << types.dump(2) << "\n";
      return 0;
    }
    std::printf("%-22s %-10s %s\n", "type", "parameters", "summary");
    for (const auto& t : types) {
      std::printf("%-22s %-10s %s\n", t["type"].get<std::string>().c_str(),
                  t["parameters"].get<bool>() ? "yes" : "no",
                  t["summary"].get<std::string>().c_str());
    }
    return 0;
  }
  const ops::Shape shape = parse_shape_option(vm["input-shape"].as<std::string>(), "--input-shape");
  const std::int64_t classes = vm["classes"].as<std::int64_t>();
  if (vm.count("show")) {
    const std::string name = vm["show"].as<std::string>();
    po::variables_map one;
    std::cout << models::network_to_json(models::builtin_model(name, shape, classes)).dump(2)
              << "\n";
    return 0;
  }
  core::Json list = core::Json::array();
  for (const auto& info : models::builtin_models()) {
    core::Json entry = {{"name", info.name}, {"description", info.description}};
    try {
      const models::Network net = models::builtin_model(info.name, shape, classes);
      entry["parameters"] = net.num_params();
      entry["parametrised_layers"] = net.parametrised().size();
      entry["layers"] = net.layers.size();
    } catch (const core::ConfigError& e) {
      entry["parameters"] = nullptr;  // the model does not fit this input shape
      entry["error"] = e.problem();
    }
    list.push_back(entry);
  }
  if (vm.count("json")) {
    std::cout << list.dump(2) << "\n";
    return 0;
  }
  std::printf("%-10s %12s %8s  %s\n", "model", "parameters", "p.layers", "description");
  for (const auto& m : list) {
    if (m["parameters"].is_null()) {
      std::printf("%-10s %12s %8s  %s (does not fit a %s input)\n",
                  m["name"].get<std::string>().c_str(), "-", "-",
                  m["description"].get<std::string>().c_str(),
                  vm["input-shape"].as<std::string>().c_str());
      continue;
    }
    std::printf("%-10s %12lld %8lld  %s\n", m["name"].get<std::string>().c_str(),
                static_cast<long long>(m["parameters"].get<std::int64_t>()),
                static_cast<long long>(m["parametrised_layers"].get<std::int64_t>()),
                m["description"].get<std::string>().c_str());
  }
  return 0;
}

}  // namespace lpsim::cli
