#pragma once
// The retimed training graph as JSON (the `lpsim graph` output) and as Graphviz DOT.

#include <string>
#include <vector>

#include "core/json_reader.h"
#include "dataflow/training_graph.h"

namespace lpsim::dataflow {

// `node_cost` gives each node's time per beat in `cost_unit` ("ops" when no hardware is
// attached, "cycles" with a PE model); the iteration bound and stage work use it.
core::Json graph_to_json(const TrainingGraph& graph, const std::vector<double>& node_cost,
                         const std::string& cost_unit);
std::string graph_to_dot(const TrainingGraph& graph, const std::string& title);

}  // namespace lpsim::dataflow
