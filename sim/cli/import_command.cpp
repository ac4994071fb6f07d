// `lpsim import MODEL.onnx --out DIR`: an ONNX model as DIR/network.json and, with its
// weights, DIR/checkpoint/ (workloads/onnx_import).

#include <iostream>

#include "core/errors.h"
#include "sim/cli/command.h"
#include "sim/cli/options.h"
#include "workloads/data/checkpoint.h"
#include "workloads/data/npy.h"
#include "workloads/models/units.h"
#include "workloads/onnx_import/onnx_import.h"
#include "workloads/reference/engine.h"
#include "workloads/reference/params_io.h"

namespace lpsim::cli {

namespace {

std::string import_shape_text(const ops::Shape& s) {
  if (s.h == 1 && s.w == 1) return std::to_string(s.c);
  return std::to_string(s.c) + "x" + std::to_string(s.h) + "x" + std::to_string(s.w);
}

// Runs lpsim's forward pass (batch norm in evaluation mode) over the batch in `input` with the
// network and checkpoint as written to `dir`, and writes the logits [B, classes] to `output`.
std::int64_t import_forward(const std::string& dir, const std::string& input,
                            const std::string& output) {
  const models::Network net = models::load_network_file(dir + "/" + onnx_import::kNetworkFileName);
  const models::UnitGraph units = models::group_units(net);
  std::vector<reference::UnitParams> params = reference::params_from_checkpoint(
      net, units, data::read_checkpoint(dir + "/" + onnx_import::kCheckpointDirName));
  const data::NpyArray<float> x = data::read_npy<float>(input);
  const std::int64_t features = net.input_shape.size();
  std::int64_t per_sample = 1;
  for (std::size_t k = 1; k < x.shape.size(); ++k) per_sample *= x.shape[k];
  if (x.shape.size() < 2 || x.shape[0] < 1 || per_sample != features) {
    throw core::DataError(input, "",
                          "shape " + data::shape_text(x.shape) + " found, expected [B, " +
                              import_shape_text(net.input_shape) + "] (the network's input)");
  }
  const std::int64_t batch = x.shape[0];
  reference::EngineSettings settings;
  settings.delays.assign(units.units.size(), 0);
  const reference::TaskEngine engine(net, units, settings, std::move(params));
  const ops::Matrix logits =
      engine.predict(Eigen::Map<const ops::Matrix>(x.data.data(), batch, features));
  data::write_npy(output, {batch, logits.cols()},
                  std::vector<float>(logits.data(), logits.data() + logits.size()));
  return batch;
}

}  // namespace

int run_import(const std::vector<std::string>& args) {
  po::options_description options("import options");
  options.add_options()("model", po::value<std::string>(),
                        "the ONNX model (or the first argument)")(
      "out", po::value<std::string>(),
      "directory to write: network.json and checkpoint/ (absent, empty or an earlier import)")(
      "json", "print the summary as JSON")(
      "forward", po::value<std::string>(),
      "then run lpsim's forward pass (batch norm in evaluation mode) with the files written on "
      "this .npy batch [B, C, H, W] or [B, features]")("forward-out", po::value<std::string>(),
                                                       "where --forward writes the logits (.npy)");
  po::positional_options_description positional;
  positional.add("model", 1);
  po::variables_map vm;
  if (!parse_options("import",
                     "MODEL.onnx --out DIR [--json] [--forward X.npy --forward-out Y.npy]", options,
                     positional, args, vm)) {
    return 0;
  }
  if (!vm.count("model")) throw core::UserError("", "MODEL.onnx", "give the ONNX model to import");
  if (!vm.count("out")) throw core::UserError("", "--out", "give the directory to write");
  if (vm.count("forward") != vm.count("forward-out")) {
    throw core::UserError("", "--forward", "give --forward and --forward-out together");
  }
  const std::string path = vm["model"].as<std::string>();
  const std::string dir = vm["out"].as<std::string>();
  const onnx_import::ImportedModel model = onnx_import::import_onnx(path);
  if (vm.count("forward") && model.tensors.empty()) {
    throw core::UserError("", "--forward", "the model has no weights to run the forward pass with");
  }
  onnx_import::write_imported(model, dir);

  const models::Network& net = model.network;
  const std::string network_file = dir + "/" + onnx_import::kNetworkFileName;
  const std::string checkpoint = dir + "/" + onnx_import::kCheckpointDirName;
  core::Json summary = {
      {"model", path},
      {"network_file", network_file},
      {"checkpoint", model.tensors.empty() ? core::Json() : core::Json(checkpoint)},
      {"name", net.name},
      {"input_shape", model.document["input"]["shape"]},
      {"classes", net.num_classes},
      {"layers", net.layers.size()},
      {"parametrised_layers", net.parametrised().size()},
      {"parameters", net.num_params()},
      {"tensors", core::Json::array()},
      {"renamed", model.renamed},
      {"folded", model.folded}};
  for (const auto& t : model.tensors) summary["tensors"].push_back(t.name);
  if (vm.count("forward")) {
    const std::string out = vm["forward-out"].as<std::string>();
    const std::int64_t batch = import_forward(dir, vm["forward"].as<std::string>(), out);
    summary["forward"] = {
        {"input", vm["forward"].as<std::string>()}, {"output", out}, {"samples", batch}};
  }
  if (vm.count("json")) {
    std::cout << summary.dump(2) << "\n";
    return 0;
  }
  std::cout << "imported " << path << ": network \"" << net.name << "\", input "
            << import_shape_text(net.input_shape) << ", " << net.num_classes << " classes, "
            << net.layers.size() << " layers (" << net.parametrised().size()
            << " with parameters), " << net.num_params() << " parameters\n";
  if (!model.folded.empty()) {
    std::cout << "folded (export artefacts, no layer):";
    for (const auto& [op, count] : model.folded) std::cout << " " << op << " " << count;
    std::cout << "\n";
  }
  for (const auto& [from, to] : model.renamed) {
    std::cout << "renamed: " << from << " -> " << to << "\n";
  }
  if (model.tensors.empty()) {
    std::cout << "wrote " << network_file << " (the model has no weights: lpsim initialises them)\n"
              << "train it: lpsim run --set /workload/network_file=" << network_file << "\n";
  } else {
    std::cout << "wrote " << network_file << " and " << checkpoint << " (" << model.tensors.size()
              << " tensors)\n"
              << "train it: lpsim run --set /workload/network_file=" << network_file
              << " --init-from " << checkpoint << "\n";
  }
  if (vm.count("forward")) {
    std::cout << "forward: " << summary["forward"]["samples"].get<std::int64_t>() << " samples -> "
              << summary["forward"]["output"].get<std::string>() << "\n";
  }
  return 0;
}

}  // namespace lpsim::cli
