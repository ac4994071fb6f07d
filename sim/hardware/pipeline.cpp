#include "sim/hardware/pipeline.h"

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <limits>
#include <map>
#include <memory>
#include <systemc>

#include "hw_models/common/clock.h"
#include "hw_models/common/simulate.h"
#include "hw_models/delay_buffer/delay_buffer.h"
#include "hw_models/ema_unit/ema_unit.h"
#include "hw_models/link/link.h"
#include "hw_models/memory/memory.h"
#include "hw_models/pe/processing_element.h"
#include "hw_models/stash_unit/stash_unit.h"
#include "reports/derived.h"
#include "sim/core/errors.h"
#include "workloads/data/checkpoint.h"
#include "workloads/data/sampler.h"
#include "workloads/reference/params_io.h"
#include "sim/core/atomic_file.h"

namespace lpsim::hardware {

using dataflow::EdgeKind;
using dataflow::NodeKind;
using models::WeightPolicy;

Json MemoryPeaks::to_json() const {
  return {{"weights", weights},     {"optimizer", optimizer},     {"stash", stash},
          {"ema", ema},             {"activations", activations}, {"gradients", gradients},
          {"in_flight", in_flight}, {"total", total()}};
}

namespace {

constexpr std::uint64_t kScalarBytes = sizeof(ops::Scalar);

// Which memory kind an edge's buffer holds.
enum class BufferKind { kActivations, kGradients, kInFlight };

BufferKind buffer_kind(EdgeKind kind) {
  switch (kind) {
    case EdgeKind::kStoredActivation:
      return BufferKind::kActivations;
    case EdgeKind::kGradient:
      return BufferKind::kGradients;
    default:
      return BufferKind::kInFlight;
  }
}

void add_to(MemoryPeaks& m, BufferKind kind, std::uint64_t bytes) {
  switch (kind) {
    case BufferKind::kActivations:
      m.activations += bytes;
      break;
    case BufferKind::kGradients:
      m.gradients += bytes;
      break;
    case BufferKind::kInFlight:
      m.in_flight += bytes;
      break;
  }
}

// The top-level SystemC design.
class Pipeline : public sc_core::sc_module {
 public:
  Pipeline(const sc_core::sc_module_name& name, run::Job& job, const RunOptions& options,
           HardwareResult& result);
  // After sc_start: checks that every task ran and fills the result.
  void collect();

 private:
  void program(int p, hw::ProcessingElement& pe);
  // `next` is the task this PE runs after it (node, minibatch), or node -1: its DRAM reads
  // are prefetched while this one computes.
  void run_task(const dataflow::ProgramEntry& entry, std::int64_t m, hw::ProcessingElement& pe,
                int p, std::pair<int, std::int64_t> next);
  // The DRAM reads of task (node, m) on PE p: waits for those not yet arrived.
  void await_dram_reads(int node, std::int64_t m, hw::ProcessingElement& pe, int p);
  void math(int node, dataflow::NodePart part, std::int64_t m);
  void load_minibatch(std::int64_t n);
  // The link from processor ps to pd, created on first use (none when ps == pd).
  void ensure_link(int ps, int pd);

  run::Job& job_;
  const RunOptions& options_;
  HardwareResult& r_;
  sc_core::sc_time period_;
  std::vector<std::vector<dataflow::Dependency>> deps_;
  std::vector<std::vector<int>> out_data_edges_;  // per node
  std::vector<std::unique_ptr<hw::ProcessingElement>> pes_;
  std::vector<std::unique_ptr<hw::SramBank>> srams_;
  // Per PE: the task whose DRAM reads were issued ahead (prefetch) and when they arrive.
  std::vector<std::pair<int, std::int64_t>> prefetched_for_;
  std::vector<std::uint64_t> prefetch_done_;
  std::unique_ptr<hw::Dram> dram_;
  std::map<int, std::unique_ptr<hw::DelayBuffer>> buffers_;  // by edge
  std::map<int, std::unique_ptr<hw::DelayBuffer>> split_buffers_;  // Ba product -> tail, by node
  std::map<int, std::uint64_t> split_bytes_;
  std::map<std::pair<int, int>, std::unique_ptr<hw::Link>> links_;
  std::vector<std::unique_ptr<hw::WeightStashUnit>> stash_;  // per unit (may be null)
  std::vector<std::unique_ptr<hw::EmaRecomputeUnit>> ema_;   // per unit (may be null)
  std::vector<std::int64_t> done_;
  std::vector<std::int64_t> started_;  // instances whose first part (or whole) has run
  std::vector<std::unique_ptr<sc_core::sc_event>> done_event_;
  std::vector<bool> sync_on_done_;  // a task on another processor orders after this node
  std::unique_ptr<reference::TaskEngine> engine_;
  std::unique_ptr<data::BatchSampler> sampler_;
  std::int64_t loaded_ = 0;
  std::int64_t limit_ = 0;            // minibatches that enter the pipeline (stop lowers it)
  std::uint64_t math_from_ = 0;       // task instances that ran before math starts (resume)
  std::int64_t resume_loaded_ = 0;
  void save_checkpoint(std::int64_t minibatches);
  std::int64_t forwards_started_ = 0; // minibatches whose forward has begun
  std::vector<std::uint64_t> loss_cycle_;  // completion cycle of Loss(n)
  Json trace_events_ = Json::array();
  // One track per PE, then one per stash or EMA unit and per link.
  void trace_event(int track, const std::string& name, std::uint64_t begin, std::uint64_t end,
             std::int64_t m, int unit, const char* category);
  std::map<std::string, int> unit_tracks_;
  int unit_track(const std::string& name);
};

Pipeline::Pipeline(const sc_core::sc_module_name& name, run::Job& job, const RunOptions& options,
                   HardwareResult& result)
    : sc_core::sc_module(name), job_(job), options_(options), r_(result) {
  const config::HwConfig& hw = job.config.hw;
  period_ = sc_core::sc_time(hw.period_ns, sc_core::SC_NS);
  const dataflow::TrainingGraph& g = r_.graph;
  const int procs = r_.program.num_processors;
  const int nu = static_cast<int>(g.layers.size());
  deps_ = dataflow::node_dependencies(g);
  out_data_edges_.assign(g.nodes.size(), {});
  done_.assign(g.nodes.size(), 0);
  started_.assign(g.nodes.size(), 0);
  sync_on_done_.assign(g.nodes.size(), false);
  for (std::size_t v = 0; v < g.nodes.size(); ++v) {
    done_event_.push_back(std::make_unique<sc_core::sc_event>());
  }
  // Under a schedule, a node's outputs leave in the order their consumers are due (the
  // consumer's scheduled start for this minibatch): a link is first come, first served, so
  // a large tensor a later task needs must not hold up a small one needed sooner.
  std::vector<std::int64_t> due(g.edges.size(), 0);
  if (r_.schedule) {
    std::vector<std::int64_t> start(g.nodes.size(), std::numeric_limits<std::int64_t>::max());
    for (std::size_t t = 0; t < r_.task_graph.tasks.size(); ++t) {
      for (const auto& e : r_.task_graph.tasks[t].entries) {
        if (e.part == dataflow::NodePart::kTail) continue;
        start[e.node] = std::min<std::int64_t>(start[e.node],
                                               static_cast<std::int64_t>(r_.schedule->start[t]));
      }
    }
    const auto period = static_cast<std::int64_t>(r_.schedule->modulo_period);
    for (std::size_t v = 0; v < g.nodes.size(); ++v) {
      for (const auto& d : deps_[v]) {
        if (d.edge >= 0) due[d.edge] = d.offset * period + start[v];
      }
    }
  }
  for (std::size_t v = 0; v < g.nodes.size(); ++v) {
    for (const auto& d : deps_[v]) {
      if (d.edge >= 0) {
        out_data_edges_[d.src].push_back(d.edge);
      } else if (r_.program.processor_of_node[d.src] != r_.program.processor_of_first_part[v]) {
        sync_on_done_[d.src] = true;
      }
    }
  }
  for (auto& edges : out_data_edges_) {
    std::stable_sort(edges.begin(), edges.end(), [&](int a, int b) { return due[a] < due[b]; });
  }
  for (int p = 0; p < procs; ++p) {
    hw::ProcessingElementParams pp;
    pp.array = {hw.pe_rows, hw.pe_cols};
    pp.dataflow = hw::parse_dataflow(hw.pe_dataflow);
    pp.vector_lanes = static_cast<std::uint64_t>(hw.vector_lanes);
    pp.sram_bytes_per_cycle = static_cast<std::uint64_t>(hw.sram_bytes_per_cycle);
    pp.period = period_;
    pes_.push_back(std::make_unique<hw::ProcessingElement>(
        ("pe" + std::to_string(p)).c_str(), pp));
    hw::ProcessingElement* pe = pes_.back().get();
    pe->set_program([this, p](hw::ProcessingElement& self) { program(p, self); });
    hw::SramBankParams sp;
    sp.capacity_bytes = static_cast<std::uint64_t>(hw.sram_capacity_bytes);
    sp.bytes_per_cycle = static_cast<std::uint64_t>(hw.sram_bytes_per_cycle);
    sp.period = period_;
    srams_.push_back(std::make_unique<hw::SramBank>(("sram" + std::to_string(p)).c_str(), sp));
  }
  hw::DramParams dp;
  dp.bytes_per_cycle = static_cast<std::uint64_t>(hw.dram_bytes_per_cycle);
  dp.channels = static_cast<std::uint64_t>(hw.dram_channels);
  dp.latency_cycles = static_cast<std::uint64_t>(hw.dram_latency_cycles);
  dp.period = period_;
  dram_ = std::make_unique<hw::Dram>("dram", dp);
  prefetched_for_.assign(procs, {-1, -1});
  prefetch_done_.assign(procs, 0);
  // A static program other than the stage program can hold a token longer: as many
  // iterations as the consumer lags the producer, plus one in transit.
  std::vector<std::int64_t> lag_of_node(g.nodes.size(), 0), lag_of_first_part(g.nodes.size(), 0);
  for (const auto& entries : r_.program.entries) {
    for (const auto& entry : entries) {
      if (entry.part != dataflow::NodePart::kTail) lag_of_first_part[entry.node] = entry.lag;
      if (entry.part != dataflow::NodePart::kProduct) lag_of_node[entry.node] = entry.lag;
    }
  }
  for (std::size_t e = 0; e < g.edges.size(); ++e) {
    const dataflow::Edge& edge = g.edges[e];
    bool used = false;
    for (const auto& d : deps_[edge.dst]) used = used || d.edge == static_cast<int>(e);
    if (!used) continue;
    hw::DelayBufferParams bp;
    // The stage program runs at full rate with the graph's depths; a LayerPipe schedule
    // can hold a token as many iterations as its consumer lags, plus one in transit.
    bp.depth_entries = static_cast<std::size_t>(
        r_.schedule ? std::max<std::int64_t>(edge.buffer_depth,
                                             lag_of_first_part[edge.dst] - lag_of_node[edge.src] + 2)
                    : edge.buffer_depth);
    bp.bytes_per_entry = static_cast<std::uint64_t>(edge.bytes_per_token);
    bp.period = period_;
    const std::string bname = "buf_" + g.nodes[edge.src].name + "_to_" + g.nodes[edge.dst].name;
    std::string clean;
    for (char c : bname) clean += (c == ':' || c == '.') ? '_' : c;
    buffers_[static_cast<int>(e)] = std::make_unique<hw::DelayBuffer>(clean.c_str(), bp);
    ensure_link(r_.program.processor_of_node[edge.src], r_.program.processor_of_first_part[edge.dst]);
  }
  for (int p = 0; p < procs; ++p) {
    for (const auto& entry : r_.program.entries[p]) {
      if (entry.part != dataflow::NodePart::kProduct || split_buffers_.count(entry.node)) continue;
      std::uint64_t bytes = 0;
      for (const auto& e : g.edges) {
        if (e.src == entry.node && e.kind == dataflow::EdgeKind::kGradient) {
          bytes = std::max<std::uint64_t>(bytes, static_cast<std::uint64_t>(e.bytes_per_token));
        }
      }
      hw::DelayBufferParams bp;
      bp.depth_entries = 2;
      bp.bytes_per_entry = bytes;
      bp.period = period_;
      std::string bname = "buf_" + g.nodes[entry.node].name + "_product_to_tail";
      for (char& c : bname) c = (c == ':' || c == '.') ? '_' : c;
      split_buffers_[entry.node] = std::make_unique<hw::DelayBuffer>(bname.c_str(), bp);
      split_bytes_[entry.node] = bytes;
      ensure_link(r_.program.processor_of_first_part[entry.node], r_.program.processor_of_node[entry.node]);
    }
  }
  const WeightPolicy policy = job.config.policy;
  stash_.resize(nu);
  ema_.resize(nu);
  for (int u = 0; u < nu; ++u) {
    const dataflow::LayerTiming& lt = g.layers[u];
    const models::Layer& layer = job.network.layers[job.units.units[u].layer];
    if (lt.delay == 0 || g.ba_node[u] < 0) continue;
    const std::uint64_t weight_bytes = static_cast<std::uint64_t>(layer.weight_size()) * kScalarBytes;
    const std::string lname = [&] {
      std::string s = layer.name;
      for (char& c : s) c = c == '.' ? '_' : c;
      return s;
    }();
    if (policy == WeightPolicy::kStash) {
      hw::WeightStashUnitParams sp;
      // d versions under the stage program; a schedule that runs Ba later relative to U
      // keeps more versions waiting (the measured peak reports how many).
      const std::int64_t extra = lag_of_first_part[g.ba_node[u]] - lag_of_node[g.update_node[u]];
      sp.versions = static_cast<std::uint64_t>(lt.delay + (extra > 0 ? extra + 1 : 0));
      sp.bytes_per_version = weight_bytes;
      sp.bytes_per_cycle = static_cast<std::uint64_t>(hw.sram_bytes_per_cycle);
      sp.period = period_;
      stash_[u] = std::make_unique<hw::WeightStashUnit>(("stash_" + lname).c_str(), sp);
    } else if (policy == WeightPolicy::kEmaGrad || policy == WeightPolicy::kEmaWeight) {
      hw::EmaRecomputeUnitParams ep;
      ep.elements = static_cast<std::uint64_t>(layer.weight_size());
      ep.bytes_per_element = kScalarBytes;
      ep.lanes = static_cast<std::uint64_t>(hw.ema_lanes);
      ep.kind = policy == WeightPolicy::kEmaGrad ? hw::EmaKind::kEmaGrad : hw::EmaKind::kEmaWeight;
      ep.period = period_;
      ema_[u] = std::make_unique<hw::EmaRecomputeUnit>(("ema_" + lname).c_str(), ep);
    }
  }
  if (options.math) {
    reference::EngineSettings es;
    es.policy = policy;
    for (const auto& lt : g.layers) es.delays.push_back(lt.delay);
    es.optimizer = job.config.optimizer;
    es.batches_per_epoch = job.batches_per_epoch;
    es.total_minibatches = r_.minibatches;
    es.reconstruction_diagnostic = job.config.reconstruction_diagnostic;
    es.snapshot_versions = reference::epoch_snapshot_versions(job.batches_per_epoch, job.config.epochs);
    es.seed = job.config.seed;
    engine_ = std::make_unique<reference::TaskEngine>(job.network, job.units, es, job.init);
    sampler_ = std::make_unique<data::BatchSampler>(job.train.size(), job.config.batch_size,
                                                    job.config.dataset.shuffle, job.config.seed);
  }
  if (!options.resume_dir.empty()) {
    LPSIM_ASSERT(engine_ != nullptr, "resume needs the math");
    const data::Checkpoint ck = data::read_checkpoint(options.resume_dir);
    const std::string manifest = options.resume_dir + "/" + data::kCheckpointManifest;
    if (!ck.extra.is_object() || !ck.extra.contains("resume")) {
      throw DataError(manifest, "/extra/resume", "not a resumable checkpoint (written by --save-weights?)");
    }
    const Json& resume = ck.extra.at("resume");
    if (resume.value("config_hash", "") != options.config_hash) {
      throw DataError(manifest, "/extra/resume/config_hash",
                      "the checkpoint was written by a different configuration; resume with the "
                      "same config and --set arguments");
    }
    math_from_ = resume.at("task_instances").get<std::uint64_t>();
    resume_loaded_ = resume.at("loaded").get<std::int64_t>();
  }
  r_.measured_staleness.assign(nu, -1);
  r_.min_staleness.assign(nu, -1);
  loss_cycle_.assign(r_.minibatches, 0);
  limit_ = r_.minibatches;
}

void Pipeline::save_checkpoint(std::int64_t minibatches) {
  const std::string dir = options_.checkpoint_dir;
  const std::string tmp = dir + ".tmp";
  std::filesystem::remove_all(tmp);
  Json extra = {{"resume", {{"task_instances", r_.task_instances},
                            {"minibatches", minibatches},
                            {"loaded", loaded_},
                            {"config_hash", options_.config_hash}}}};
  data::write_checkpoint(tmp, reference::to_named_tensors(job_.network, job_.units,
                                                          engine_->parameters()), extra);
  std::ostringstream state;
  engine_->save_state(state);
  write_file_atomic(tmp + "/training_state.bin", state.str());
  // Replace the previous checkpoint: a kill leaves either the old or the new one whole.
  std::filesystem::remove_all(dir + ".old");
  if (std::filesystem::exists(dir)) std::filesystem::rename(dir, dir + ".old");
  std::filesystem::rename(tmp, dir);
  std::filesystem::remove_all(dir + ".old");
}

void Pipeline::ensure_link(int ps, int pd) {
  if (ps == pd || links_.count({ps, pd}) != 0) return;
  hw::LinkParams lp;
  lp.latency_cycles = static_cast<std::uint64_t>(job_.config.hw.link_latency_cycles);
  lp.bytes_per_cycle = static_cast<std::uint64_t>(job_.config.hw.link_bytes_per_cycle);
  lp.period = period_;
  links_[{ps, pd}] = std::make_unique<hw::Link>(
      ("link_pe" + std::to_string(ps) + "_pe" + std::to_string(pd)).c_str(), lp);
}

void Pipeline::load_minibatch(std::int64_t n) {
  while (loaded_ <= n) {
    data::Batch b = data::gather(job_.train, sampler_->minibatch(loaded_));
    engine_->load(loaded_, std::move(b.images), std::move(b.labels));
    ++loaded_;
  }
}

void Pipeline::math(int node, dataflow::NodePart part, std::int64_t m) {
  const dataflow::Node& n = r_.graph.nodes[node];
  if (part == dataflow::NodePart::kProduct) {
    engine_->backward_activation_product(n.unit, m);
    return;
  }
  if (part == dataflow::NodePart::kTail) {
    engine_->backward_activation_tail(n.unit, m);
    return;
  }
  switch (n.kind) {
    case NodeKind::kForward:
      load_minibatch(m);
      engine_->forward(n.unit, m);
      break;
    case NodeKind::kLoss:
      engine_->loss(m);
      break;
    case NodeKind::kBackwardActivation:
      engine_->backward_activation(n.unit, m);
      break;
    case NodeKind::kBackwardWeight:
      engine_->backward_weight(n.unit, m);
      break;
    case NodeKind::kUpdate:
      engine_->update(n.unit, m);
      break;
    case NodeKind::kInput:
      break;
  }
}

void Pipeline::await_dram_reads(int node, std::int64_t m, hw::ProcessingElement& pe, int p) {
  const std::uint64_t bytes = r_.memory_plan.node[node].read_bytes;
  if (bytes == 0) return;
  pe.sync();
  std::uint64_t done = prefetch_done_[p];
  if (prefetched_for_[p] != std::make_pair(node, m)) {
    done = dram_->reserve(bytes, hw::Dram::Direction::kRead);  // not prefetched: ask now
  }
  prefetched_for_[p] = {-1, -1};
  const std::uint64_t now = pe.now_cycles();
  if (done > now) {
    hw::wait_cycles(done - now, period_);
    pe.add_dram_stall(done - now);
  }
}

void Pipeline::run_task(const dataflow::ProgramEntry& entry, std::int64_t m,
                        hw::ProcessingElement& pe, int p, std::pair<int, std::int64_t> next) {
  const dataflow::TrainingGraph& g = r_.graph;
  const int node = entry.node;
  const dataflow::NodePart part = entry.part;
  const bool consumes_inputs = part != dataflow::NodePart::kTail;
  const bool finishes_node = part != dataflow::NodePart::kProduct;
  const std::int64_t total = limit_;
  // Inputs: data tokens in their buffers, and ordering constraints.
  if (consumes_inputs) {
    for (const auto& d : deps_[node]) {
      const std::int64_t k = m - d.offset;
      if (k < 0 || k >= total) continue;  // an initial token, or an instance that never runs
      if (d.edge >= 0) {
        hw::DelayBuffer& buf = *buffers_.at(d.edge);
        if (r_.program.processor_of_node[d.src] != p) {
          pe.sync();
          const sc_core::sc_time t0 = sc_core::sc_time_stamp();
          buf.wait_front(k);
          pe.add_stall(hw::cycles_since(t0, period_));
        } else {
          if (buf.size() == 0) {
            throw InternalError(std::string(name()) + ": " + g.nodes[node].name + "(" +
                                std::to_string(m) + ") scheduled before its input from " +
                                g.nodes[d.src].name + " on the same processor");
          }
          buf.wait_front(k);
        }
      } else {
        const int src = d.src;
        // (k may fall beyond the limit when a stop lowers it while this task waits.)
        pe.block_until([this, src, k] { return done_[src] > k || k >= limit_; },
                       *done_event_[src]);
      }
    }
  } else {
    // The tail of a split Ba waits for its product (and its gradient, when elsewhere).
    hw::DelayBuffer& buf = *split_buffers_.at(node);
    if (r_.program.processor_of_first_part[node] != p) {
      pe.sync();
      const sc_core::sc_time t0 = sc_core::sc_time_stamp();
      buf.wait_front(m);
      pe.add_stall(hw::cycles_since(t0, period_));
    } else {
      buf.wait_front(m);
    }
  }
  const dataflow::Node& n = g.nodes[node];
  // Units beside the PE.
  if (n.kind == NodeKind::kBackwardActivation && consumes_inputs) {
    if (stash_[n.unit]) {
      // The product reads W^(m) as its operand from the stash instead of the weight
      // register (no extra cycles) and frees it. W^(m) went to the stash when U(m - d)
      // overwrote it (versions 0..d are all W^(0), stashed once as version d and freed by
      // Ba(d)); before that it is still the register.
      const std::int64_t d = g.layers[n.unit].delay;
      if (m >= d && done_[g.update_node[n.unit]] >= m - d + 1) stash_[n.unit]->release(m);
    } else if (ema_[n.unit]) {
      pe.sync();
      const sc_core::sc_time t0 = sc_core::sc_time_stamp();
      ema_[n.unit]->reconstruct();
      pe.add_stall(hw::cycles_since(t0, period_));
      if (m >= options_.trace_begin && m < options_.trace_end) {
        trace_event(unit_track(ema_[n.unit]->name()), "reconstruct", hw::time_to_cycles(t0, period_),
              pe.now_cycles(), m, n.unit, "ema");
      }
    }
  }
  // DRAM: this task's reads must have arrived; the next task's reads start now, behind
  // this one's compute; this task's writes drain after it (the staging tiles hold them).
  const NodeDram& dram = r_.memory_plan.node[node];
  if (consumes_inputs) await_dram_reads(node, m, pe, p);
  if (next.first >= 0 && r_.memory_plan.node[next.first].read_bytes > 0) {
    pe.sync();
    prefetch_done_[p] =
        dram_->reserve(r_.memory_plan.node[next.first].read_bytes, hw::Dram::Direction::kRead);
    prefetched_for_[p] = next;
  }
  if (engine_ && r_.task_instances >= math_from_) math(node, part, m);
  if (consumes_inputs) ++started_[node];
  const TaskCost& cost = r_.costs[node];
  const std::uint64_t task_begin = pe.now_cycles();
  pe.compute(part == dataflow::NodePart::kWhole     ? cost.cycles
             : part == dataflow::NodePart::kProduct ? cost.cycles - cost.tail_cycles
                                                    : cost.tail_cycles,
             part_work(cost, part));
  if (consumes_inputs && (dram.read_bytes > 0 || dram.write_bytes > 0)) {
    pe.add_dram_traffic(dram.read_bytes, dram.write_bytes);
    if (dram.write_bytes > 0) {
      pe.sync();
      dram_->reserve(dram.write_bytes, hw::Dram::Direction::kWrite);
    }
  }
  if (m >= options_.trace_begin && m < options_.trace_end) {
    const char* suffix = part == dataflow::NodePart::kProduct ? ".product"
                         : part == dataflow::NodePart::kTail  ? ".tail"
                                                              : "";
    trace_event(p, n.name + suffix, task_begin, pe.now_cycles(), m, n.unit, "task");
  }
  ++r_.task_instances;
  if (engine_ && math_from_ > 0 && r_.task_instances == math_from_) {
    // Resume: the timing model has reached the checkpoint's moment; bring the math state.
    const std::string path = options_.resume_dir + "/training_state.bin";
    std::ifstream in(path, std::ios::binary);
    if (!in) throw UserError(path, "", "cannot open the training state");
    engine_->load_state(in, path);
    loaded_ = resume_loaded_;
  }
  // Release consumed inputs.
  if (consumes_inputs) {
    for (const auto& d : deps_[node]) {
      const std::int64_t k = m - d.offset;
      if (d.edge < 0 || k < 0 || k >= total) continue;
      if (r_.program.processor_of_node[d.src] != p) pe.sync();
      buffers_.at(d.edge)->pop();
    }
  } else {
    if (r_.program.processor_of_first_part[node] != p) pe.sync();
    split_buffers_.at(node)->pop();
  }
  // Outputs.
  auto send = [&](hw::DelayBuffer& buf, int q, std::uint64_t bytes) {
    if (q == p) {
      if (buf.size() >= buf.params().depth_entries) {
        throw InternalError(std::string(buf.name()) + ": full on its own processor (depth " +
                            std::to_string(buf.params().depth_entries) + " too small)");
      }
      buf.push(m);
    } else {
      pe.sync();
      const sc_core::sc_time t0 = sc_core::sc_time_stamp();
      hw::Link& link = *links_.at({p, q});
      link.send(bytes, buf, m);
      pe.add_stall(hw::cycles_since(t0, period_));
      if (m >= options_.trace_begin && m < options_.trace_end) {
        const std::uint64_t at = pe.now_cycles();
        trace_event(unit_track(link.name()), std::string(buf.name()), at,
              at + link.serialisation_cycles(bytes) + link.params().latency_cycles, m, n.unit, "link");
      }
    }
  };
  if (finishes_node) {
    for (int e : out_data_edges_[node]) {
      const dataflow::Edge& edge = g.edges[e];
      send(*buffers_.at(e), r_.program.processor_of_first_part[edge.dst],
           static_cast<std::uint64_t>(edge.bytes_per_token));
    }
  } else {
    send(*split_buffers_.at(node), r_.program.processor_of_node[node], split_bytes_.at(node));
  }
  if (n.kind == NodeKind::kUpdate) {
    // U(m) overwrites W^(m+d); a backward pass still needs it: copy it to the stash first
    // (the copy is charged to the update, before the weights change).
    // U(m) overwrites W^(m+d): copy it to the stash first (the copy is the stash's cost).
    // When Ba(m+d) has already run from the register, nobody needs it: freed at once.
    const std::int64_t version = m + g.layers[n.unit].delay;
    if (stash_[n.unit]) {
      pe.sync();
      const sc_core::sc_time t0 = sc_core::sc_time_stamp();
      stash_[n.unit]->store(version);
      pe.add_stall(hw::cycles_since(t0, period_));
      if (m >= options_.trace_begin && m < options_.trace_end) {
        trace_event(unit_track(stash_[n.unit]->name()), "store W^(" + std::to_string(version) + ")",
              hw::time_to_cycles(t0, period_), pe.now_cycles(), m, n.unit, "stash");
      }
      if (started_[g.ba_node[n.unit]] > version) stash_[n.unit]->release(version);
    }
    if (ema_[n.unit]) {
      pe.sync();
      ema_[n.unit]->update();
    }
    const std::int64_t staleness = done_[g.forward_node[n.unit]] - 1 - m;
    std::int64_t& hi = r_.measured_staleness[n.unit];
    std::int64_t& lo = r_.min_staleness[n.unit];
    hi = hi < 0 ? staleness : std::max(hi, staleness);
    lo = lo < 0 ? staleness : std::min(lo, staleness);
  }
  if (n.kind == NodeKind::kLoss) {
    loss_cycle_[m] = pe.now_cycles();
    if (options_.progress) options_.progress(m + 1, total);
    if (engine_ && options_.checkpoint_every > 0 && (m + 1) % options_.checkpoint_every == 0 &&
        m + 1 < total && r_.task_instances > math_from_) {
      save_checkpoint(m + 1);
    }
  }
  if (finishes_node) {
    if (sync_on_done_[node]) pe.sync();
    ++done_[node];
    done_event_[node]->notify(sc_core::SC_ZERO_TIME);
  }
}

int Pipeline::unit_track(const std::string& name) {
  auto it = unit_tracks_.find(name);
  if (it != unit_tracks_.end()) return it->second;
  const int track = r_.program.num_processors + static_cast<int>(unit_tracks_.size());
  unit_tracks_[name] = track;
  trace_events_.push_back({{"ph", "M"}, {"name", "thread_name"}, {"pid", 0}, {"tid", track},
                           {"args", {{"name", name}}}});
  return track;
}

void Pipeline::trace_event(int track, const std::string& name, std::uint64_t begin, std::uint64_t end,
                     std::int64_t m, int unit, const char* category) {
  const double us_per_cycle = job_.config.hw.period_ns / 1000.0;
  trace_events_.push_back(
      {{"ph", "X"},
       {"name", name},
       {"cat", category},
       {"pid", 0},
       {"tid", track},
       {"ts", static_cast<double>(begin) * us_per_cycle},
       {"dur", static_cast<double>(end - begin) * us_per_cycle},
       {"args", {{"minibatch", m},
                 {"layer", unit >= 0 ? Json(r_.graph.layers[unit].name) : Json("loss")},
                 {"begin_cycle", begin},
                 {"end_cycle", end}}}});
}

void Pipeline::program(int p, hw::ProcessingElement& pe) {
  const std::int64_t iterations = r_.minibatches + r_.program.max_lag;
  const auto& entries = r_.program.entries[p];
  bool any_dram = false;  // without DRAM traffic nothing is prefetched
  for (const NodeDram& d : r_.memory_plan.node) any_dram = any_dram || d.read_bytes > 0;
  // The task after entry j of iteration i that will run (as far as is known now).
  const auto next_task = [&](std::int64_t i, std::size_t j) -> std::pair<int, std::int64_t> {
    for (std::int64_t ii = i; ii < iterations && ii <= i + 1; ++ii) {
      for (std::size_t jj = ii == i ? j + 1 : 0; jj < entries.size(); ++jj) {
        const std::int64_t mm = ii - entries[jj].lag;
        if (mm >= 0 && mm < limit_ && entries[jj].part != dataflow::NodePart::kTail) {
          return {entries[jj].node, mm};
        }
        if (mm >= 0 && mm < limit_) return {-1, -1};  // a tail part: nothing to prefetch
      }
    }
    return {-1, -1};
  };
  for (std::int64_t i = 0; i < iterations; ++i) {
    for (std::size_t j = 0; j < entries.size(); ++j) {
      const auto& entry = entries[j];
      const std::int64_t m = i - entry.lag;
      if (limit_ == r_.minibatches && options_.stop && options_.stop()) {
        // Every minibatch whose forward began still finishes; no other one starts (all
        // of a minibatch's tasks depend on its forward).
        limit_ = forwards_started_;
        for (auto& e : done_event_) e->notify(sc_core::SC_ZERO_TIME);  // re-check waits
      }
      if (m < 0 || m >= limit_) continue;
      if (r_.graph.nodes[entry.node].kind == NodeKind::kForward) {
        forwards_started_ = std::max(forwards_started_, m + 1);
      }
      run_task(entry, m, pe, p,
               any_dram ? next_task(i, j) : std::pair<int, std::int64_t>{-1, -1});
    }
  }
}

void Pipeline::collect() {
  const dataflow::TrainingGraph& g = r_.graph;
  for (std::size_t v = 0; v < g.nodes.size(); ++v) {
    if (static_cast<int>(v) == g.input_node) continue;
    if (done_[v] != limit_) {
      throw InternalError("the simulation stopped with " + g.nodes[v].name + " at " +
                          std::to_string(done_[v]) + " of " + std::to_string(limit_) +
                          " minibatches (a deadlock)");
    }
  }
  r_.total_cycles = hw::time_to_cycles(sc_core::sc_time_stamp(), period_);
  r_.interrupted = limit_ < r_.minibatches;
  r_.minibatches = limit_;
  // Steady state: minibatches whose every stage runs full beats, measured at the loss. The
  // longest lag fills the pipeline; allow as long again for the transient to settle. At
  // the end, the last max_lag windows lack the tasks of minibatches past the limit and run
  // faster: stop the measurement before them.
  const std::int64_t n = r_.minibatches;
  const std::int64_t first = 2 * r_.program.max_lag;
  const std::int64_t last = n - 1 - r_.program.max_lag;
  if (n == 0) {
    r_.cycles_per_minibatch = 0.0;
    r_.steady_state_from = -1;
  } else if (last - first >= 4) {
    // A self-timed pipeline settles into an exactly periodic pattern (period c minibatches,
    // c small) after a transient that can be long; when the run ends in it, the rate is
    // exact: the smallest c whose last three strides agree.
    r_.cycles_per_minibatch = static_cast<double>(loss_cycle_[last] - loss_cycle_[first]) /
                              static_cast<double>(last - first);
    r_.steady_state_from = first;
    for (std::int64_t c = 1; c <= 16 && last - 3 * c >= first; ++c) {
      const auto stride = [&](std::int64_t k) { return loss_cycle_[last - k * c] - loss_cycle_[last - (k + 1) * c]; };
      if (stride(0) == stride(1) && stride(1) == stride(2)) {
        r_.cycles_per_minibatch = static_cast<double>(stride(0)) / static_cast<double>(c);
        r_.steady_state_from = last - 3 * c;
        break;
      }
    }
  } else {
    r_.cycles_per_minibatch = static_cast<double>(r_.total_cycles) / static_cast<double>(n);
    r_.steady_state_from = -1;
  }
  // Memory: measured peaks of every module, and the analytic figure of ARCHITECTURE.md §5.
  const int procs = r_.program.num_processors;
  r_.stage_memory.assign(procs, {});
  r_.stage_memory_analytic.assign(procs, {});
  const std::int64_t batch = job_.config.batch_size;
  for (std::size_t u = 0; u < g.layers.size(); ++u) {
    const models::Layer& layer = job_.network.layers[job_.units.units[u].layer];
    const int p = r_.program.processor_of_node[g.forward_node[u]];
    const std::uint64_t params = static_cast<std::uint64_t>(layer.num_params()) * kScalarBytes;
    const std::uint64_t weight = static_cast<std::uint64_t>(layer.weight_size()) * kScalarBytes;
    const std::uint64_t d = static_cast<std::uint64_t>(g.layers[u].delay);
    MemoryPeaks& m = r_.stage_memory[p];
    MemoryPeaks& a = r_.stage_memory_analytic[p];
    m.weights += params;
    m.optimizer += params;
    m.gradients += params;
    a.weights += params;
    a.optimizer += params;
    a.gradients += params;
    if (stash_[u]) m.stash += stash_[u]->stats().peak_bytes;
    if (ema_[u]) m.ema += ema_[u]->stats().peak_bytes;
    const bool delayed_ba = d > 0 && g.ba_node[u] >= 0;
    if (delayed_ba && job_.config.policy == WeightPolicy::kStash) a.stash += d * weight;
    if (delayed_ba && (job_.config.policy == WeightPolicy::kEmaGrad ||
                       job_.config.policy == WeightPolicy::kEmaWeight)) {
      a.ema += weight;
    }
    a.activations += (d + 1) * static_cast<std::uint64_t>(
                                   models::tensor_bytes(batch * layer.in_elements(), layer.in_binary));
  }
  Json units = Json::object();
  std::uint64_t link_bytes = 0;
  for (const auto& [e, buf] : buffers_) {
    const dataflow::Edge& edge = g.edges[e];
    const int p = r_.program.processor_of_first_part[edge.dst];
    const BufferKind kind = buffer_kind(edge.kind);
    add_to(r_.stage_memory[p], kind, buf->stats().peak_bytes);
    if (kind != BufferKind::kActivations) {
      add_to(r_.stage_memory_analytic[p], kind,
             static_cast<std::uint64_t>(edge.buffer_depth * edge.bytes_per_token));
    }
    units[buf->name()] = hw::to_json(buf->stats());
  }
  for (const auto& [key, link] : links_) {
    units[link->name()] = hw::to_json(link->stats());
    link_bytes += link->stats().bytes;
  }
  for (std::size_t u = 0; u < g.layers.size(); ++u) {
    if (stash_[u]) units[stash_[u]->name()] = hw::to_json(stash_[u]->stats());
    if (ema_[u]) units[ema_[u]->name()] = hw::to_json(ema_[u]->stats());
  }
  // The residents as placed (memory_plan.h): the SRAM part in the PE's bank, the rest in
  // DRAM. Staging is reported apart.
  for (int p = 0; p < procs; ++p) {
    const hw::Placement& placed = r_.memory_plan.pe[p];
    for (std::size_t k = 0; k < hw::kMemoryKinds; ++k) {
      const auto kind = static_cast<hw::MemoryKind>(k);
      if (placed.sram_bytes[k] > 0) srams_[p]->allocate(placed.sram_bytes[k], kind);
      if (placed.dram_bytes[k] > 0) dram_->allocate(placed.dram_bytes[k], kind);
    }
    units[srams_[p]->name()] = hw::to_json(srams_[p]->stats());
    const hw::ProcessingElementStats& st = pes_[p]->stats();
    r_.processors.push_back(reports::processor_row(hw::to_json(st), pes_[p]->name(), r_.total_cycles));
    units[pes_[p]->name()] = hw::to_json(st);
  }
  units[dram_->name()] = hw::to_json(dram_->stats());
  r_.units = units;
  // What each PE did, for the energy model: its own work, the stash and EMA units of the
  // layers it updates, the links it sends on.
  r_.pe_activity.assign(procs, {});
  r_.pe_names.clear();
  for (int p = 0; p < procs; ++p) {
    const hw::ProcessingElementWork& w = pes_[p]->stats().work;
    reports::PeActivity& a = r_.pe_activity[p];
    a.macs = w.macs;
    a.accumulates = w.accumulates;
    a.vector_ops = w.vector_ops;
    a.sram_read_bytes = w.sram_read_bytes;
    a.sram_write_bytes = w.sram_write_bytes;
    a.sram_capacity_bytes = srams_[p]->params().capacity_bytes;
    a.sram_bank_bytes = static_cast<std::uint64_t>(job_.config.hw.sram_bank_bytes);
    a.dram_bytes = pes_[p]->stats().dram_read_bytes + pes_[p]->stats().dram_write_bytes;
    r_.pe_names.push_back(pes_[p]->name());
  }
  for (std::size_t u = 0; u < g.layers.size(); ++u) {
    reports::PeActivity& a = r_.pe_activity[r_.program.processor_of_node[g.update_node[u]]];
    if (stash_[u]) {
      a.unit_sram_read_bytes += stash_[u]->stats().bytes_read;
      a.unit_sram_write_bytes += stash_[u]->stats().bytes_written;
    }
    if (ema_[u]) {
      a.unit_sram_read_bytes += ema_[u]->stats().bytes_read;
      a.unit_sram_write_bytes += ema_[u]->stats().bytes_written;
      a.unit_lane_ops += ema_[u]->stats().lane_ops;
    }
  }
  for (const auto& [key, link] : links_) r_.pe_activity[key.first].link_bytes += link->stats().bytes;
  // Every instance of a node moves its plan's DRAM bytes.
  for (std::size_t v = 0; v < g.nodes.size(); ++v) {
    if (static_cast<int>(v) == g.input_node) continue;
    for (std::size_t k = 0; k < hw::kMemoryKinds; ++k) {
      r_.dram_bytes_by_kind[k] +=
          r_.memory_plan.node[v].bytes_by_kind[k] * static_cast<std::uint64_t>(done_[v]);
    }
  }
  r_.link_bytes = link_bytes;
  if (options_.trace_end > options_.trace_begin) {
    Json events = Json::array();
    for (int p = 0; p < procs; ++p) {
      events.push_back({{"ph", "M"}, {"name", "thread_name"}, {"pid", 0}, {"tid", p},
                        {"args", {{"name", pes_[p]->name()}}}});
    }
    events.push_back({{"ph", "M"}, {"name", "process_name"}, {"pid", 0},
                      {"args", {{"name", "lpsim " + job_.network.name}}}});
    for (auto& e : trace_events_) events.push_back(std::move(e));
    r_.trace = {{"traceEvents", events},
                {"displayTimeUnit", "ns"},
                {"otherData", {{"clock_period_ns", job_.config.hw.period_ns},
                               {"minibatches", {options_.trace_begin, options_.trace_end}}}}};
  }
  if (engine_) {
    LPSIM_ASSERT(engine_->minibatches_in_flight() == 0, "the pipeline did not drain");
    r_.epochs = reference::epoch_results(*engine_, job_.test, job_.batches_per_epoch,
                                         job_.config.epochs, 1000, limit_);
    const reference::EvalResult final_eval =
        engine_->evaluate(job_.test.images, job_.test.labels, std::nullopt, 1000);
    r_.final_test_accuracy = final_eval.accuracy;
    r_.final_params = engine_->parameters();
    for (std::size_t u = 0; u < g.layers.size(); ++u) {
      r_.reconstruction.push_back(engine_->reconstruction(static_cast<int>(u)));
    }
    r_.spikes = engine_->spike_stats();
  }
}

}  // namespace

HardwareResult run_hardware(run::Job& job, const RunOptions& options) {
  ::setenv("SYSTEMC_DISABLE_COPYRIGHT_MESSAGE", "1", 1);
  HardwareResult r;
  r.graph = dataflow::build_training_graph(job.network, job.units, job.partition, job.config.policy,
                                           job.config.batch_size);
  r.costs = task_costs(r.graph, job.config.hw, job.network, job.units);
  if (job.config.processors) {
    std::vector<std::uint64_t> node_cycles, tail_cycles, after_update;
    for (const auto& c : r.costs) {
      node_cycles.push_back(c.cycles + c.unit_cycles);
      tail_cycles.push_back(c.tail_cycles);
      after_update.push_back(c.async_cycles);
    }
    dataflow::BackwardSplit split = dataflow::BackwardSplit::kFused;
    dataflow::parse_backward_split(job.config.backward_split, &split);
    const dataflow::LinkCost link{static_cast<std::uint64_t>(job.config.hw.link_latency_cycles),
                                  static_cast<std::uint64_t>(job.config.hw.link_bytes_per_cycle)};
    const int procs = static_cast<int>(*job.config.processors);
    dataflow::ScheduleSweep sweep =
        dataflow::sweep_schedules(r.graph, node_cycles, tail_cycles, procs, link, after_update);
    const std::size_t mi = static_cast<std::size_t>(split);
    r.task_graph = sweep.graphs[mi];
    r.schedule = sweep.schedules[mi][procs - 1];
    r.program = dataflow::program_of(r.graph, r.task_graph, *r.schedule);
  } else {
    r.program = dataflow::stage_program(r.graph);
  }
  r.memory_plan = plan_memory(r.graph, r.program, job.network, job.units, job.config.hw,
                              job.config.source);
  r.minibatches = job.batches_per_epoch * job.config.epochs;
  // The delays the hardware realises (retimed graph) must be the ones the reference
  // trainer uses (formula 2·S(l)).
  const std::vector<std::int64_t> formula =
      reference::layer_delays(job.trainer, static_cast<int>(job.units.units.size()));
  for (std::size_t u = 0; u < formula.size(); ++u) {
    LPSIM_ASSERT(formula[u] == r.graph.layers[u].delay, "graph delay differs from 2·S(l)");
  }
  auto top = std::make_unique<Pipeline>("top", job, options, r);
  try {
    hw::simulate();
  } catch (const sc_core::sc_report& e) {
    throw InternalError(std::string("simulation failed: ") + e.what());
  }
  top->collect();
  return r;
}

}  // namespace lpsim::hardware
