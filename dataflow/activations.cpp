#include "dataflow/activations.h"

#include <algorithm>

#include "core/errors.h"

namespace lpsim::dataflow {

const char* activation_choice_name(ActivationChoice choice) {
  switch (choice) {
    case ActivationChoice::kKeep:
      return "keep";
    case ActivationChoice::kRecompute:
      return "recompute";
    case ActivationChoice::kOffload:
      return "offload";
  }
  return "keep";
}

const std::vector<std::string>& activation_choice_names() {
  static const std::vector<std::string> names = {"keep", "recompute", "offload"};
  return names;
}

bool ActivationSpec::all_keep() const {
  return std::all_of(choices.begin(), choices.end(),
                     [](ActivationChoice c) { return c == ActivationChoice::kKeep; });
}

namespace {

ActivationChoice parse_choice(const core::Json& value, const std::string& file,
                              const std::string& pointer) {
  const auto& names = activation_choice_names();
  if (value.is_string()) {
    const auto it = std::find(names.begin(), names.end(), value.get<std::string>());
    if (it != names.end()) return static_cast<ActivationChoice>(it - names.begin());
  }
  throw core::ConfigError(
      file, pointer,
      "found " + core::describe_value(value) + ", expected \"keep\", \"recompute\" or \"offload\"");
}

}  // namespace

ActivationSpec parse_activation_spec(const core::Json& value, const std::string& file,
                                     const std::string& pointer) {
  ActivationSpec spec;
  if (!value.is_array()) {
    spec.choices = {parse_choice(value, file, pointer)};
    return spec;
  }
  if (value.empty()) {
    throw core::ConfigError(file, pointer,
                            "found an empty list, expected \"keep\", \"recompute\", \"offload\" "
                            "or a list of them with one per stage");
  }
  spec.per_stage = true;
  spec.choices.clear();
  for (std::size_t i = 0; i < value.size(); ++i) {
    spec.choices.push_back(parse_choice(value[i], file, core::pointer_append(pointer, i)));
  }
  return spec;
}

core::Json activation_spec_json(const ActivationSpec& spec) {
  if (!spec.per_stage) return activation_choice_name(spec.choices.at(0));
  core::Json list = core::Json::array();
  for (ActivationChoice c : spec.choices) list.push_back(activation_choice_name(c));
  return list;
}

std::vector<ActivationChoice> activations_per_stage(const ActivationSpec& spec, int stages,
                                                    const std::string& file,
                                                    const std::string& pointer) {
  if (!spec.per_stage) return std::vector<ActivationChoice>(stages, spec.choices.at(0));
  if (static_cast<int>(spec.choices.size()) != stages) {
    throw core::ConfigError(file, pointer,
                            "found a list of " + std::to_string(spec.choices.size()) +
                                " choices, expected one per stage: " + std::to_string(stages));
  }
  return spec.choices;
}

}  // namespace lpsim::dataflow
