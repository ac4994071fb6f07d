#pragma once
// The hardware run's timeline as Chrome trace events (chrome://tracing, Perfetto): one
// track per PE, then one per weight-version unit and link, in order of first use.

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "core/json_reader.h"
#include "dataflow/training_graph.h"

namespace lpsim::hardware {

class TraceRecorder {
 public:
  // PE p is track p; units and links get the tracks after the `processors` PE tracks.
  TraceRecorder(const dataflow::TrainingGraph& graph, int processors, double period_ns);

  // The track of a weight-version unit or a link (created on first use).
  int unit_track(const std::string& name);
  // A complete event [begin, end) in cycles, of minibatch m and unit `unit` (-1: the loss).
  void event(int track, const std::string& name, std::uint64_t begin, std::uint64_t end,
             std::int64_t m, int unit, const char* category);
  // The trace-event document: PE track names first, then every event recorded.
  core::Json document(const std::vector<std::string>& pe_names, const std::string& network_name,
                      std::int64_t trace_begin, std::int64_t trace_end);

 private:
  const dataflow::TrainingGraph& graph_;
  int processors_;
  double period_ns_;
  std::map<std::string, int> unit_tracks_;
  core::Json events_ = core::Json::array();
};

}  // namespace lpsim::hardware
