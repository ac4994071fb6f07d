#include "dataflow/partition.h"

#include <algorithm>
#include <map>
#include <sstream>

#include "core/errors.h"

namespace lpsim::dataflow {

namespace {

std::int64_t parse_count(const std::string& token, const std::string& origin) {
  if (token.empty() || token.size() > 9 ||
      token.find_first_not_of("0123456789") != std::string::npos || std::stoll(token) == 0) {
    throw core::ConfigError(origin, "",
                            "stage count \"" + token +
                                "\" is not a positive integer; expected \"per_layer\" or "
                                "counts of layers per stage such as \"2,2,2\"");
  }
  return std::stoll(token);
}

}  // namespace

StageSpec parse_stage_spec(const std::string& text, const std::string& origin) {
  StageSpec spec;
  if (text == "per_layer") return spec;
  spec.kind = StageSpec::Kind::kCounts;
  std::stringstream in(text);
  std::string token;
  while (std::getline(in, token, ',')) spec.counts.push_back(parse_count(token, origin));
  if (spec.counts.empty() || text.back() == ',') {
    throw core::ConfigError(
        origin, "", "found \"" + text + "\", expected \"per_layer\" or counts such as \"2,2,2\"");
  }
  return spec;
}

StageSpec parse_stage_spec(const core::Json& value, const std::string& file,
                           const std::string& pointer) {
  const std::string expected =
      "expected \"per_layer\", a list of layer counts per stage such as [2, 2, 2], or a list of "
      "lists of layer names";
  StageSpec spec;
  if (value.is_string()) {
    if (value.get<std::string>() == "per_layer") return spec;
    throw core::ConfigError(file, pointer,
                            "found " + core::describe_value(value) + ", " + expected);
  }
  if (!value.is_array() || value.empty()) {
    throw core::ConfigError(file, pointer,
                            "found " + core::describe_value(value) + ", " + expected);
  }
  if (value[0].is_array()) {
    spec.kind = StageSpec::Kind::kNames;
    for (std::size_t i = 0; i < value.size(); ++i) {
      const std::string p = core::pointer_append(pointer, i);
      if (!value[i].is_array() || value[i].empty()) {
        throw core::ConfigError(file, p,
                                "found " + core::describe_value(value[i]) +
                                    ", expected a non-empty list of layer names (one stage)");
      }
      std::vector<std::string> stage;
      for (std::size_t j = 0; j < value[i].size(); ++j) {
        stage.push_back(core::json_string(value[i][j], file, core::pointer_append(p, j)));
      }
      spec.names.push_back(stage);
    }
    return spec;
  }
  spec.kind = StageSpec::Kind::kCounts;
  for (std::size_t i = 0; i < value.size(); ++i) {
    spec.counts.push_back(
        core::json_integer(value[i], file, core::pointer_append(pointer, i), 1, 1 << 20));
  }
  return spec;
}

std::string format_stage_spec(const StageSpec& spec) {
  switch (spec.kind) {
    case StageSpec::Kind::kPerLayer:
      return "per_layer";
    case StageSpec::Kind::kCounts: {
      std::string s;
      for (auto c : spec.counts) s += (s.empty() ? "" : ",") + std::to_string(c);
      return s;
    }
    case StageSpec::Kind::kNames: {
      std::string s;
      for (const auto& stage : spec.names) {
        std::string inner;
        for (const auto& n : stage) inner += (inner.empty() ? "" : ",") + n;
        s += (s.empty() ? "[" : "|[") + inner + "]";
      }
      return s;
    }
  }
  return "?";
}

Partition single_stage(const UnitGraph& units) {
  Partition p;
  p.num_stages = 1;
  p.stage_of_unit.assign(units.units.size(), 0);
  return p;
}

Partition make_partition(const UnitGraph& units, const StageSpec& spec, const std::string& file,
                         const std::string& pointer) {
  const std::int64_t n = static_cast<std::int64_t>(units.units.size());
  Partition p;
  p.stage_of_unit.assign(n, 0);
  switch (spec.kind) {
    case StageSpec::Kind::kPerLayer:
      p.num_stages = static_cast<int>(n);
      for (std::int64_t i = 0; i < n; ++i) p.stage_of_unit[i] = static_cast<int>(i);
      return p;
    case StageSpec::Kind::kCounts: {
      std::int64_t total = 0;
      for (std::size_t s = 0; s < spec.counts.size(); ++s) {
        if (spec.counts[s] < 1) {
          throw core::ConfigError(
              file, core::pointer_append(pointer, s),
              "found " + std::to_string(spec.counts[s]) + ", expected at least 1 layer per stage");
        }
        total += spec.counts[s];
      }
      if (static_cast<std::int64_t>(spec.counts.size()) > n) {
        throw core::ConfigError(file, pointer,
                                std::to_string(spec.counts.size()) + " stages for a network of " +
                                    std::to_string(n) +
                                    " parametrised layers; expected at most one stage per layer");
      }
      if (total != n) {
        throw core::ConfigError(file, pointer,
                                "the stage counts add up to " + std::to_string(total) +
                                    ", expected the number of parametrised layers, " +
                                    std::to_string(n));
      }
      std::int64_t unit = 0;
      for (std::size_t s = 0; s < spec.counts.size(); ++s) {
        for (std::int64_t k = 0; k < spec.counts[s]; ++k)
          p.stage_of_unit[unit++] = static_cast<int>(s);
      }
      p.num_stages = static_cast<int>(spec.counts.size());
      return p;
    }
    case StageSpec::Kind::kNames: {
      std::map<std::string, int> unit_index;
      for (std::int64_t i = 0; i < n; ++i) unit_index[units.units[i].name] = static_cast<int>(i);
      int expect = 0;
      for (std::size_t s = 0; s < spec.names.size(); ++s) {
        for (std::size_t j = 0; j < spec.names[s].size(); ++j) {
          const std::string& name = spec.names[s][j];
          const std::string ptr = core::pointer_append(core::pointer_append(pointer, s), j);
          auto it = unit_index.find(name);
          if (it == unit_index.end()) {
            throw core::ConfigError(file, ptr,
                                    "\"" + name +
                                        "\" is not a parametrised layer of the network "
                                        "(stages list linear, conv2d and batchnorm2d layers)");
          }
          if (it->second != expect) {
            const std::string want =
                expect < n ? "\"" + units.units[expect].name + "\"" : "no further layer";
            throw core::ConfigError(file, ptr,
                                    "found \"" + name + "\", expected " + want +
                                        ": stages must list the layers once each, "
                                        "contiguously, in topological order");
          }
          p.stage_of_unit[expect++] = static_cast<int>(s);
        }
      }
      if (expect != n) {
        throw core::ConfigError(file, pointer,
                                "the stages leave out \"" + units.units[expect].name +
                                    "\" and later layers; every parametrised layer needs a stage");
      }
      p.num_stages = static_cast<int>(spec.names.size());
      return p;
    }
  }
  return p;
}

Partition partition_for_policy(const UnitGraph& units, const policies::Policy& policy,
                               const StageSpec& spec, const std::string& file,
                               const std::string& pointer) {
  return policy.pipelined ? make_partition(units, spec, file, pointer) : single_stage(units);
}

}  // namespace lpsim::dataflow
