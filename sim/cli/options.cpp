#include "sim/cli/options.h"

#include <iostream>
#include <sstream>

#include "core/errors.h"
#include "workloads/models/builtin.h"

namespace lpsim::cli {

bool parse_options(const std::string& command, const std::string& synopsis,
                   const po::options_description& options, const std::vector<std::string>& args,
                   po::variables_map& vm) {
  return parse_options(command, synopsis, options, po::positional_options_description(), args, vm);
}

bool parse_options(const std::string& command, const std::string& synopsis,
                   const po::options_description& options,
                   const po::positional_options_description& positional,
                   const std::vector<std::string>& args, po::variables_map& vm) {
  po::options_description all = options;
  all.add_options()("help,h", "print this help");
  po::store(po::command_line_parser(args).options(all).positional(positional).run(), vm);
  if (vm.count("help")) {
    std::cout << "usage: lpsim " << command << " " << synopsis << "\n\n" << all << "\n";
    return false;
  }
  po::notify(vm);
  return true;
}

ops::Shape parse_shape_option(const std::string& text, const std::string& option) {
  std::vector<std::int64_t> dims;
  std::stringstream in(text);
  std::string token;
  while (std::getline(in, token, ',')) {
    if (token.empty() || token.size() > 7 ||
        token.find_first_not_of("0123456789") != std::string::npos || std::stoll(token) < 1) {
      throw core::UserError("", option,
                            "found \"" + text + "\", expected C,H,W or F with positive integers");
    }
    dims.push_back(std::stoll(token));
  }
  if (dims.size() == 1) return {dims[0], 1, 1};
  if (dims.size() == 3) return {dims[0], dims[1], dims[2]};
  throw core::UserError("", option, "found \"" + text + "\", expected C,H,W or F");
}

void add_network_options(po::options_description& options) {
  options.add_options()("model", po::value<std::string>(), "built-in model (see `lpsim models`)")(
      "network", po::value<std::string>(), "network JSON file")(
      "input-shape", po::value<std::string>()->default_value("1,28,28"),
      "input shape C,H,W (or F) for a built-in model")(
      "classes", po::value<std::int64_t>()->default_value(10), "classes for a built-in model");
}

models::Network network_from_options(const po::variables_map& vm) {
  const bool model = vm.count("model") > 0;
  const bool file = vm.count("network") > 0;
  if (model == file) {
    throw core::UserError("", "--model/--network",
                          "give exactly one of --model NAME or --network FILE");
  }
  if (file) return models::load_network_file(vm["network"].as<std::string>());
  const std::int64_t classes = vm["classes"].as<std::int64_t>();
  if (classes < 2 || classes > (1 << 24)) {
    throw core::UserError("", "--classes",
                          "found " + std::to_string(classes) + ", expected 2..16777216");
  }
  const ops::Shape shape = parse_shape_option(vm["input-shape"].as<std::string>(), "--input-shape");
  try {
    return models::builtin_model(vm["model"].as<std::string>(), shape, classes);
  } catch (const core::ConfigError& e) {
    // A built-in model that does not fit the input (e.g. cnn3 on 2x2 images).
    throw core::UserError("", "--model", e.what());
  }
}

}  // namespace lpsim::cli
