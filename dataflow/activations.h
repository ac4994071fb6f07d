#pragma once
// What a stage holds for its backward (ARCHITECTURE.md §4c, `pipeline.activations`): `keep`
// (every layer's saved tensors, in whatever memory the placement gives them), `recompute` (only
// the stage's input; the forward reruns with the backward's weights just before the backward)
// or `offload` (what keep holds, always in DRAM).

#include <string>
#include <vector>

#include "core/json_reader.h"

namespace lpsim::dataflow {

enum class ActivationChoice { kKeep, kRecompute, kOffload };

const char* activation_choice_name(ActivationChoice choice);
// "keep", "recompute", "offload" (in enum order).
const std::vector<std::string>& activation_choice_names();

// The config's value: one choice for every stage, or one per stage.
struct ActivationSpec {
  std::vector<ActivationChoice> choices{ActivationChoice::kKeep};
  bool per_stage = false;  // a list (its length must be the number of stages)
  bool all_keep() const;
};

// A string or a non-empty list of strings; core::ConfigError naming `file` and `pointer` (or
// the list entry's pointer) otherwise.
ActivationSpec parse_activation_spec(const core::Json& value, const std::string& file,
                                     const std::string& pointer);
core::Json activation_spec_json(const ActivationSpec& spec);

// One choice per stage; core::ConfigError when a list's length is not `stages`.
std::vector<ActivationChoice> activations_per_stage(const ActivationSpec& spec, int stages,
                                                    const std::string& file,
                                                    const std::string& pointer);

}  // namespace lpsim::dataflow
