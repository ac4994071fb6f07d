// `lpsim graph`: the retimed training dataflow graph of a network and a stage partition.

#include <iostream>

#include "core/atomic_file.h"
#include "core/errors.h"
#include "dataflow/export.h"
#include "dataflow/partition.h"
#include "dataflow/training_graph.h"
#include "sim/cli/command.h"
#include "sim/cli/options.h"
#include "sim/run/job.h"

namespace lpsim::cli {

namespace {

// "a, b, c or d"
std::string spoken_list(const std::vector<std::string>& names) {
  std::string out;
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (i > 0) out += i + 1 == names.size() ? " or " : ", ";
    out += names[i];
  }
  return out;
}

}  // namespace

int run_graph(const std::vector<std::string>& args) {
  po::options_description options("graph options");
  const std::string policy_help =
      "weight policy: " + spoken_list(policies::names()) + " (sync forces one stage)";
  add_network_options(options);
  options.add_options()("stages", po::value<std::string>()->default_value("per_layer"),
                        "partition: per_layer, or parametrised layers per stage (e.g. 2,2,2)")(
      "policy", po::value<std::string>()->default_value("ema_grad"), policy_help.c_str())(
      "batch", po::value<std::int64_t>()->default_value(32), "minibatch size (for work and bytes)")(
      "format", po::value<std::string>()->default_value("json"), "json or dot")(
      "config", po::value<std::string>(),
      "take the network, stages, policy and batch size from a run config instead")(
      "set", po::value<std::vector<std::string>>()->composing(), "override a config value")(
      "out", po::value<std::string>(), "write to this file instead of stdout");
  po::variables_map vm;
  if (!parse_options("graph", "(--model NAME | --network FILE) [--stages SPEC] [options]", options,
                     args, vm)) {
    return 0;
  }
  const std::string format = vm["format"].as<std::string>();
  if (format != "json" && format != "dot") {
    throw core::UserError("", "--format", "found \"" + format + "\", expected json or dot");
  }
  std::int64_t batch = vm["batch"].as<std::int64_t>();
  models::UpdateCost update;  // SGD's, unless a config names the optimizer
  if (batch < 1 || batch > (1 << 20)) {
    throw core::UserError("", "--batch",
                          "found " + std::to_string(batch) + ", expected 1..1048576");
  }
  const std::string policy_name = vm["policy"].as<std::string>();
  const policies::Policy* policy = policies::find(policy_name);
  if (policy == nullptr) {
    throw core::UserError(
        "", "--policy",
        "found \"" + policy_name + "\", expected " + spoken_list(policies::names()));
  }
  models::Network network;
  dataflow::StageSpec spec;
  std::string spec_file = "--stages", spec_pointer;
  dataflow::ActivationSpec activations;
  ops::Numerics numerics;
  if (vm.count("config")) {
    if (vm.count("model") || vm.count("network")) {
      throw core::UserError("", "--config", "give either --config or --model/--network, not both");
    }
    const std::string path = vm["config"].as<std::string>();
    const config::Config c =
        config::load_config(path, vm.count("set") ? vm["set"].as<std::vector<std::string>>()
                                                  : std::vector<std::string>{});
    network = run::network_of_config(c, path);
    spec = c.stages;
    activations = c.activations;
    numerics = c.hw.numerics;
    spec_file = c.source;
    spec_pointer = "/pipeline/stages";
    policy = c.policy;
    batch = c.batch_size;
    update = reference::update_cost(c.optimizer);
  } else {
    network = network_from_options(vm);
    spec = dataflow::parse_stage_spec(vm["stages"].as<std::string>(), "--stages");
  }
  const dataflow::UnitGraph units = dataflow::group_units(network);
  const dataflow::Partition partition =
      dataflow::partition_for_policy(units, *policy, spec, spec_file, spec_pointer);
  const dataflow::TrainingGraph graph = dataflow::build_training_graph(
      network, units, partition, *policy, batch, update,
      dataflow::activations_per_stage(activations, partition.num_stages, spec_file,
                                      "/pipeline/activations"),
      numerics);
  std::string text;
  if (format == "json") {
    core::Json j = dataflow::graph_to_json(graph, dataflow::node_ops(graph), "ops");
    j["model"] = network.name;
    j["stage_spec"] = dataflow::format_stage_spec(spec);
    text = j.dump(2) + "\n";
  } else {
    text = dataflow::graph_to_dot(graph, network.name + ", " + std::to_string(graph.num_stages) +
                                             " stages, policy " + policy->name);
  }
  if (vm.count("out")) {
    core::write_file_atomic(vm["out"].as<std::string>(), text);
  } else {
    std::cout << text;
  }
  return 0;
}

}  // namespace lpsim::cli
