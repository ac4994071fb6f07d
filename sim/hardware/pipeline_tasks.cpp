// The PE programs of the hardware run: how one task instance fires (pipeline_module.h).

#include <algorithm>
#include <string>

#include "core/errors.h"
#include "hw_models/common/clock.h"
#include "sim/hardware/pipeline_module.h"
#include "workloads/data/sampler.h"

namespace lpsim::hardware {

using dataflow::NodeKind;
using dataflow::NodePart;

void Pipeline::program(int p, hw::ProcessingElement& pe) {
  const std::int64_t iterations = plan_.minibatches + program_.max_lag;
  const auto& entries = program_.entries[p];
  bool any_dram = false;  // without DRAM traffic nothing is prefetched
  for (const NodeDram& d : plan_.memory.node) any_dram = any_dram || d.read_bytes > 0;
  // The task after entry j of iteration i that will run (as far as is known now).
  const auto next_task = [&](std::int64_t i, std::size_t j) -> std::pair<int, std::int64_t> {
    for (std::int64_t ii = i; ii < iterations && ii <= i + 1; ++ii) {
      for (std::size_t jj = ii == i ? j + 1 : 0; jj < entries.size(); ++jj) {
        const std::int64_t mm = ii - entries[jj].lag;
        if (mm >= 0 && mm < limit_ && entries[jj].part != NodePart::kTail) {
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
      if (limit_ == plan_.minibatches && options_.stop && options_.stop()) {
        // Every minibatch whose forward began still finishes; no other one starts (all
        // of a minibatch's tasks depend on its forward).
        limit_ = forwards_started_;
        for (auto& e : done_event_) e->notify(sc_core::SC_ZERO_TIME);  // re-check waits
      }
      if (m < 0 || m >= limit_) continue;
      if (graph_.nodes[entry.node].kind == NodeKind::kForward) {
        forwards_started_ = std::max(forwards_started_, m + 1);
      }
      run_task(entry, m, pe, p, any_dram ? next_task(i, j) : std::pair<int, std::int64_t>{-1, -1});
    }
  }
}

void Pipeline::run_task(const dataflow::ProgramEntry& entry, std::int64_t m,
                        hw::ProcessingElement& pe, int p, std::pair<int, std::int64_t> next) {
  const int node = entry.node;
  const NodePart part = entry.part;
  const bool consumes_inputs = part != NodePart::kTail;
  const bool finishes_node = part != NodePart::kProduct;
  const std::int64_t total = limit_;
  const dataflow::Node& n = graph_.nodes[node];
  wait_for_inputs(node, part, m, total, pe, p);
  WeightUnit* unit = n.unit >= 0 ? weight_units_[n.unit].get() : nullptr;
  if (unit != nullptr && n.kind == NodeKind::kForward) unit->at_forward(*this, pe, m);
  if (n.kind == NodeKind::kRecompute) {
    // §4c: the rerun reads every unit's backward version (a stashed one, or a reconstruction
    // made once and held until the backward ends).
    for (std::size_t u = 0; u < graph_.layers.size(); ++u) {
      if (graph_.layers[u].stage == n.stage && weight_units_[u] != nullptr) {
        weight_units_[u]->at_backward(*this, pe, m);
      }
    }
  }
  if (unit != nullptr && n.kind == NodeKind::kBackwardActivation && consumes_inputs &&
      !graph_.recomputes(n.stage)) {
    unit->at_backward(*this, pe, m);
  }
  dram_before_compute(node, consumes_inputs, m, pe, p, next);
  if (engine_ && r_.task_instances >= math_from_) math(node, part, m);
  const TaskCost& cost = plan_.costs[node];
  const std::uint64_t task_begin = pe.now_cycles();
  pe.compute(part == NodePart::kWhole     ? cost.cycles
             : part == NodePart::kProduct ? cost.cycles - cost.tail_cycles
                                          : cost.tail_cycles,
             part_work(cost, part));
  // This task's DRAM writes drain behind it (the staging tiles hold them).
  const NodeDram& dram = plan_.memory.node[node];
  if (consumes_inputs && (dram.read_bytes > 0 || dram.write_bytes > 0)) {
    pe.add_dram_traffic(dram.read_bytes, dram.write_bytes);
    if (dram.write_bytes > 0) {
      pe.sync();
      dram_->reserve(dram.write_bytes, hw::Dram::Direction::kWrite);
    }
  }
  if (tracing(m)) {
    const char* suffix = part == NodePart::kProduct ? ".product"
                         : part == NodePart::kTail  ? ".tail"
                                                    : "";
    trace_.event(p, n.name + suffix, task_begin, pe.now_cycles(), m, n.unit, "task");
  }
  ++r_.task_instances;
  if (engine_ && math_from_ > 0 && r_.task_instances == math_from_) resume_state();
  release_inputs(node, part, m, total, pe, p);
  send_outputs(node, part, m, pe, p);
  if (unit != nullptr && n.kind == NodeKind::kUpdate) unit->at_update(*this, pe, m);
  task_finished(n, node, finishes_node, m, total, pe, p);
}

void Pipeline::task_finished(const dataflow::Node& n, int node, bool finishes_node, std::int64_t m,
                             std::int64_t total, hw::ProcessingElement& pe, int p) {
  if (n.kind == NodeKind::kUpdate) {
    const std::int64_t staleness = done_[graph_.forward_node[n.unit]] - 1 - m;
    std::int64_t& hi = r_.measured_staleness[n.unit];
    std::int64_t& lo = r_.min_staleness[n.unit];
    hi = hi < 0 ? staleness : std::max(hi, staleness);
    lo = lo < 0 ? staleness : std::min(lo, staleness);
  }
  done_cycle_[p][m] = pe.now_cycles();
  if (n.kind == NodeKind::kLoss) {
    loss_cycle_[m] = pe.now_cycles();
    if (options_.progress) options_.progress(m + 1, total);
    if (engine_ && options_.checkpoint_every > 0 && (m + 1) % options_.checkpoint_every == 0 &&
        m + 1 < total && r_.task_instances > math_from_) {
      save_checkpoint(m + 1);
    }
  }
  if (finishes_node) {
    if (modules_.sync_on_done[node]) {
      pe.sync();
      signal_cycle_[node][done_[node] % kSignalRing] = pe.now_cycles();
    }
    ++done_[node];
    if (done_awaited_[node]) done_event_[node]->notify(sc_core::SC_ZERO_TIME);
  }
}

void Pipeline::wait_for_inputs(int node, NodePart part, std::int64_t m, std::int64_t total,
                               hw::ProcessingElement& pe, int p) {
  const dataflow::TrainingGraph& g = graph_;
  if (part == NodePart::kTail) {
    // The tail of a split Ba waits for its product (and its gradient, when elsewhere).
    hw::DelayBuffer& buf = *split_buffers_[node];
    if (program_.processor_of_first_part[node] != p) {
      pe.sync();
      const sc_core::sc_time t0 = sc_core::sc_time_stamp();
      buf.wait_front(m);
      pe.add_stall(hw::cycles_since(t0, period_));
    } else {
      buf.wait_front(m);
    }
    return;
  }
  for (const auto& d : modules_.deps[node]) {
    std::int64_t k = m - d.offset;
    if (k < 0) continue;  // an initial token
    if (k >= total) {
      // An instance that never runs. An ordering constraint on a later instance (U(m) after
      // F(m + d), the weight register) then means after the last one: the run drains.
      if (d.edge >= 0 || d.offset >= 0) continue;
      k = total - 1;
    }
    if (d.edge >= 0) {
      hw::DelayBuffer& buf = *buffers_[d.edge];
      if (program_.processor_of_node[d.src] != p) {
        pe.sync();
        const sc_core::sc_time t0 = sc_core::sc_time_stamp();
        buf.wait_front(k);
        pe.add_stall(hw::cycles_since(t0, period_));
      } else {
        if (buf.size() == 0) {
          throw core::InternalError(std::string(name()) + ": " + g.nodes[node].name + "(" +
                                    std::to_string(m) + ") scheduled before its input from " +
                                    g.nodes[d.src].name + " on the same processor");
        }
        buf.wait_front(k);
      }
    } else {
      const int src = d.src;
      // (k may fall beyond the limit when a stop lowers it while this task waits.)
      pe.block_until([this, src, k] { return done_[src] > k || k >= limit_; }, *done_event_[src]);
      // From another processor the signal is a token of no bytes on the link: it arrives
      // latency_cycles after src(k) ended (as the scheduler counts it, hw_models/link).
      const std::uint64_t latency = static_cast<std::uint64_t>(job_.config.hw.link_latency_cycles);
      if (program_.processor_of_node[src] != p && latency > 0 && k < limit_ &&
          done_[src] - k <= kSignalRing) {
        LPSIM_ASSERT(!signal_cycle_[src].empty(), "a signal across processors is synced");
        const std::uint64_t arrives = signal_cycle_[src][k % kSignalRing] + latency;
        const std::uint64_t now = pe.now_cycles();
        if (arrives > now) {
          sc_core::wait(period_ * static_cast<double>(arrives - now));
          pe.add_stall(arrives - now);
        }
      }
    }
  }
}

void Pipeline::stall_on(hw::ProcessingElement& pe, std::int64_t m, int unit,
                        const sc_core::sc_module& module, const std::string& label,
                        const char* category, const std::function<void()>& job) {
  pe.sync();
  const sc_core::sc_time t0 = sc_core::sc_time_stamp();
  job();
  pe.add_stall(hw::cycles_since(t0, period_));
  trace_unit(m, unit, module, label, category, hw::time_to_cycles(t0, period_), pe.now_cycles());
}

void Pipeline::trace_unit(std::int64_t m, int unit, const sc_core::sc_module& module,
                          const std::string& label, const char* category, std::uint64_t begin,
                          std::uint64_t end) {
  if (tracing(m))
    trace_.event(trace_.unit_track(module.name()), label, begin, end, m, unit, category);
}

void Pipeline::dram_before_compute(int node, bool consumes_inputs, std::int64_t m,
                                   hw::ProcessingElement& pe, int p,
                                   std::pair<int, std::int64_t> next) {
  if (consumes_inputs) await_dram_reads(node, m, pe, p);
  if (next.first >= 0 && plan_.memory.node[next.first].read_bytes > 0) {
    pe.sync();
    prefetch_done_[p] =
        dram_->reserve(plan_.memory.node[next.first].read_bytes, hw::Dram::Direction::kRead);
    prefetched_for_[p] = next;
  }
}

void Pipeline::await_dram_reads(int node, std::int64_t m, hw::ProcessingElement& pe, int p) {
  const std::uint64_t bytes = plan_.memory.node[node].read_bytes;
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

void Pipeline::release_inputs(int node, NodePart part, std::int64_t m, std::int64_t total,
                              hw::ProcessingElement& pe, int p) {
  if (part == NodePart::kTail) {
    if (program_.processor_of_first_part[node] != p) pe.sync();
    split_buffers_[node]->pop();
    return;
  }
  for (const auto& d : modules_.deps[node]) {
    const std::int64_t k = m - d.offset;
    if (d.edge < 0 || k < 0 || k >= total) continue;
    if (program_.processor_of_node[d.src] != p) pe.sync();
    buffers_[d.edge]->pop();
  }
}

void Pipeline::send_outputs(int node, NodePart part, std::int64_t m, hw::ProcessingElement& pe,
                            int p) {
  const dataflow::TrainingGraph& g = graph_;
  const dataflow::Node& n = g.nodes[node];
  auto send = [&](hw::DelayBuffer& buf, int q, std::uint64_t bytes) {
    if (q == p) {
      if (buf.size() >= buf.params().depth_entries) {
        throw core::InternalError(std::string(buf.name()) + ": full on its own processor (depth " +
                                  std::to_string(buf.params().depth_entries) + " too small)");
      }
      buf.push(m);
      return;
    }
    pe.sync();
    const sc_core::sc_time t0 = sc_core::sc_time_stamp();
    hw::Link& link = *link_of_[static_cast<std::size_t>(p) * pes_.size() + q];
    link.send(bytes, buf, m);
    pe.add_stall(hw::cycles_since(t0, period_));
    if (tracing(m)) {
      const std::uint64_t at = pe.now_cycles();
      trace_.event(trace_.unit_track(link.name()), std::string(buf.name()), at,
                   at + link.serialisation_cycles(bytes) + link.params().latency_cycles, m, n.unit,
                   "link");
    }
  };
  if (part == NodePart::kProduct) {
    hw::DelayBuffer& buf = *split_buffers_[node];
    send(buf, program_.processor_of_node[node], buf.params().bytes_per_entry);
    return;
  }
  for (int e : modules_.out_edges[node]) {
    const dataflow::Edge& edge = g.edges[e];
    send(*buffers_[e], program_.processor_of_first_part[edge.dst],
         static_cast<std::uint64_t>(edge.bytes_per_token));
  }
}

void Pipeline::load_minibatch(std::int64_t n) {
  while (loaded_ <= n) {
    data::Batch b = data::gather(job_.train, sampler_->minibatch(loaded_));
    engine_->load(loaded_, std::move(b.images), std::move(b.labels));
    ++loaded_;
  }
}

void Pipeline::math(int node, NodePart part, std::int64_t m) {
  const dataflow::Node& n = graph_.nodes[node];
  if (part == NodePart::kProduct) {
    engine_->backward_activation_product(n.unit, m);
    return;
  }
  if (part == NodePart::kTail) {
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
    case NodeKind::kRecompute:
      engine_->recompute(n.stage, m);
      break;
    case NodeKind::kInput:
      break;
  }
}

}  // namespace lpsim::hardware
