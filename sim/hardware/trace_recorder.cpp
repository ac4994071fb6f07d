#include "sim/hardware/trace_recorder.h"

namespace lpsim::hardware {

TraceRecorder::TraceRecorder(const dataflow::TrainingGraph& graph, int processors, double period_ns)
    : graph_(graph), processors_(processors), period_ns_(period_ns) {}

int TraceRecorder::unit_track(const std::string& name) {
  auto it = unit_tracks_.find(name);
  if (it != unit_tracks_.end()) return it->second;
  const int track = processors_ + static_cast<int>(unit_tracks_.size());
  unit_tracks_[name] = track;
  events_.push_back({{"ph", "M"},
                     {"name", "thread_name"},
                     {"pid", 0},
                     {"tid", track},
                     {"args", {{"name", name}}}});
  return track;
}

void TraceRecorder::event(int track, const std::string& name, std::uint64_t begin,
                          std::uint64_t end, std::int64_t m, int unit, const char* category) {
  const double us_per_cycle = period_ns_ / 1000.0;
  events_.push_back(
      {{"ph", "X"},
       {"name", name},
       {"cat", category},
       {"pid", 0},
       {"tid", track},
       {"ts", static_cast<double>(begin) * us_per_cycle},
       {"dur", static_cast<double>(end - begin) * us_per_cycle},
       {"args",
        {{"minibatch", m},
         {"layer", unit >= 0 ? core::Json(graph_.layers[unit].name) : core::Json("loss")},
         {"begin_cycle", begin},
         {"end_cycle", end}}}});
}

core::Json TraceRecorder::document(const std::vector<std::string>& pe_names,
                                   const std::string& network_name, std::int64_t trace_begin,
                                   std::int64_t trace_end) {
  core::Json events = core::Json::array();
  for (std::size_t p = 0; p < pe_names.size(); ++p) {
    events.push_back({{"ph", "M"},
                      {"name", "thread_name"},
                      {"pid", 0},
                      {"tid", p},
                      {"args", {{"name", pe_names[p]}}}});
  }
  events.push_back({{"ph", "M"},
                    {"name", "process_name"},
                    {"pid", 0},
                    {"args", {{"name", "lpsim " + network_name}}}});
  for (auto& e : events_) events.push_back(std::move(e));
  events_ = core::Json::array();
  return {
      {"traceEvents", events},
      {"displayTimeUnit", "ns"},
      {"otherData", {{"clock_period_ns", period_ns_}, {"minibatches", {trace_begin, trace_end}}}}};
}

}  // namespace lpsim::hardware
