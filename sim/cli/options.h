#pragma once
// Helpers shared by the subcommands' option parsing.

#include <boost/program_options.hpp>
#include <string>
#include <vector>

#include "workloads/models/network.h"

namespace lpsim::cli {

namespace po = boost::program_options;

// Parses `args` into `vm`; returns false (after printing usage) when --help was given.
bool parse_options(const std::string& command, const std::string& synopsis,
                   const po::options_description& options, const std::vector<std::string>& args,
                   po::variables_map& vm);
// The same with positional arguments (`lpsim import MODEL.onnx`).
bool parse_options(const std::string& command, const std::string& synopsis,
                   const po::options_description& options,
                   const po::positional_options_description& positional,
                   const std::vector<std::string>& args, po::variables_map& vm);

// "C,H,W" or "F" -> Shape; errors name the option.
ops::Shape parse_shape_option(const std::string& text, const std::string& option);

// The network from --model NAME or --network FILE (exactly one of them).
models::Network network_from_options(const po::variables_map& vm);
void add_network_options(po::options_description& options);

}  // namespace lpsim::cli
