#include "workloads/ops/conv2d_onednn.h"

#include <algorithm>
#include <atomic>

#if LPSIM_ONEDNN
#include <omp.h>

#include <dnnl.hpp>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "core/errors.h"
#include "workloads/ops/parallel.h"
#endif

namespace lpsim::ops::onednn {
namespace {

std::atomic<bool> g_enabled{true};

}  // namespace

bool enabled() { return g_enabled.load(); }
void set_enabled(bool on) { g_enabled.store(on); }

std::int64_t onednn_parts(const Conv2dGeometry& g, std::int64_t batch) {
  const Shape out = conv2d_output_shape(g);
  const double flops = 2.0 * static_cast<double>(batch) * static_cast<double>(out.size()) *
                       static_cast<double>(g.patch_size());
  const std::int64_t by_work = static_cast<std::int64_t>(flops / 32e6);
  return std::clamp<std::int64_t>(by_work, 1, std::min<std::int64_t>(batch, 64));
}

std::int64_t onednn_weight_parts(const Conv2dGeometry& g, std::int64_t batch) {
  const Shape out = conv2d_output_shape(g);
  const std::int64_t by_pixels = std::max<std::int64_t>(1, batch * out.h * out.w / 256);
  return std::min({onednn_parts(g, batch), by_pixels, std::int64_t{8}});
}

#if !LPSIM_ONEDNN

// A build without oneDNN runs nothing on it: every pass takes the im2col path.
bool supports(Pass, const Conv2dGeometry&, std::int64_t) { return false; }
bool forward(const float*, const float*, const float*, const Conv2dGeometry&, std::int64_t,
             float*) {
  return false;
}
bool backward_input(const float*, const float*, const Conv2dGeometry&, std::int64_t, float*) {
  return false;
}
bool backward_weights(const float*, const float*, const Conv2dGeometry&, std::int64_t, float*,
                      float*) {
  return false;
}

}  // namespace lpsim::ops::onednn

#else

namespace {

using dnnl::memory;
using Tag = memory::format_tag;
using Type = memory::data_type;

dnnl::engine& cpu() {
  static dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  return engine;
}

// oneDNN reads its thread count from this thread's OpenMP setting, when it creates a
// primitive and when it runs one: 1, always (parallel_for's own teams give num_threads
// explicitly, so they are unaffected).
void one_thread() { omp_set_num_threads(1); }

dnnl::stream& thread_stream() {
  thread_local dnnl::stream stream(cpu());
  return stream;
}

// Grow-only buffers of the calling thread, by slot.
enum Slot { kSrc, kDst, kWeights, kScratchpad, kSlots };
void* thread_buffer(Slot slot, std::size_t bytes) {
  thread_local std::vector<float> buffers[kSlots];
  std::vector<float>& b = buffers[slot];
  const std::size_t floats = (bytes + sizeof(float) - 1) / sizeof(float);
  if (b.size() < floats) b.resize(floats);
  return b.data();
}

memory::dims x_dims(const Conv2dGeometry& g, std::int64_t mb) {
  return {mb, g.in.c, g.in.h, g.in.w};
}
memory::dims w_dims(const Conv2dGeometry& g) {
  return {g.out_channels, g.in.c, g.kernel_h, g.kernel_w};
}
memory::dims y_dims(const Conv2dGeometry& g, std::int64_t mb) {
  const Shape out = conv2d_output_shape(g);
  return {mb, out.c, out.h, out.w};
}

// One tensor between lpsim's layout (`user`: NCHW, OIHW) and the one a kernel chose: the
// reorder, made once, or none when they agree.
struct Convert {
  memory::desc user, kernel;
  dnnl::reorder reorder;  // user -> kernel for an input, kernel -> user for an output
  bool same = true;

  static Convert input(const memory::desc& user, const memory::desc& kernel) {
    return {user, kernel, user == kernel ? dnnl::reorder() : make(user, kernel), user == kernel};
  }
  static Convert output(const memory::desc& user, const memory::desc& kernel) {
    return {user, kernel, user == kernel ? dnnl::reorder() : make(kernel, user), user == kernel};
  }
  static dnnl::reorder make(const memory::desc& from, const memory::desc& to) {
    return dnnl::reorder(dnnl::reorder::primitive_desc(cpu(), from, cpu(), to));
  }

  // An input at `data` in the kernel's layout: the same memory, or a copy in buffer `slot`.
  memory in(const void* data, Slot slot) const {
    memory from(user, cpu(), const_cast<void*>(data));
    if (same) return from;
    memory to(kernel, cpu(), thread_buffer(slot, kernel.get_size()));
    reorder.execute(thread_stream(), from, to);
    return to;
  }
  // Where a kernel writes an output bound for `data`; finish() moves it there.
  struct Out {
    const Convert* convert;
    memory user_memory, kernel_memory;
    void finish() const {
      if (convert->same) return;
      memory from = kernel_memory, to = user_memory;  // handles: execute takes them non-const
      convert->reorder.execute(thread_stream(), from, to);
    }
  };
  Out out(void* data, Slot slot) const {
    memory to_user(user, cpu(), data);
    if (same) return {this, to_user, to_user};
    return {this, to_user, memory(kernel, cpu(), thread_buffer(slot, kernel.get_size()))};
  }
};

// The primitives of one geometry and one run length mb: the three passes and the layout
// conversions around them.
struct Entry {
  memory::desc w_user, b_user;
  dnnl::convolution_forward::primitive_desc fwd_pd;
  dnnl::convolution_forward fwd;
  Convert fwd_src, fwd_weights, fwd_dst;
  dnnl::convolution_backward_data::primitive_desc bwd_data_pd;
  dnnl::convolution_backward_data bwd_data;
  Convert bwd_data_diff_dst, bwd_data_weights, bwd_data_diff_src;
  dnnl::convolution_backward_weights::primitive_desc bwd_weights_pd;
  dnnl::convolution_backward_weights bwd_weights;
  Convert bwd_weights_src, bwd_weights_diff_dst, bwd_weights_diff_weights;
};

std::unique_ptr<Entry> make_entry(const Conv2dGeometry& g, std::int64_t mb) {
  auto e = std::make_unique<Entry>();
  const memory::desc x_user(x_dims(g, mb), Type::f32, Tag::nchw);
  const memory::desc y_user(y_dims(g, mb), Type::f32, Tag::nchw);
  e->w_user = memory::desc(w_dims(g), Type::f32, Tag::oihw);
  e->b_user = memory::desc({g.out_channels}, Type::f32, Tag::x);
  const memory::desc x_any(x_dims(g, mb), Type::f32, Tag::any);
  const memory::desc w_any(w_dims(g), Type::f32, Tag::any);
  const memory::desc y_any(y_dims(g, mb), Type::f32, Tag::any);
  const memory::dims strides = {g.stride, g.stride};
  const memory::dims pad = {g.padding, g.padding};
  dnnl::primitive_attr attr;
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  const auto algo = dnnl::algorithm::convolution_direct;
  e->fwd_pd = dnnl::convolution_forward::primitive_desc(
      dnnl::convolution_forward::desc(dnnl::prop_kind::forward_training, algo, x_any, w_any,
                                      e->b_user, y_any, strides, pad, pad),
      attr, cpu());
  e->fwd = dnnl::convolution_forward(e->fwd_pd);
  e->fwd_src = Convert::input(x_user, e->fwd_pd.src_desc());
  e->fwd_weights = Convert::input(e->w_user, e->fwd_pd.weights_desc());
  e->fwd_dst = Convert::output(y_user, e->fwd_pd.dst_desc());
  e->bwd_data_pd = dnnl::convolution_backward_data::primitive_desc(
      dnnl::convolution_backward_data::desc(algo, x_any, w_any, y_any, strides, pad, pad), attr,
      cpu(), e->fwd_pd);
  e->bwd_data = dnnl::convolution_backward_data(e->bwd_data_pd);
  e->bwd_data_diff_dst = Convert::input(y_user, e->bwd_data_pd.diff_dst_desc());
  e->bwd_data_weights = Convert::input(e->w_user, e->bwd_data_pd.weights_desc());
  e->bwd_data_diff_src = Convert::output(x_user, e->bwd_data_pd.diff_src_desc());
  e->bwd_weights_pd = dnnl::convolution_backward_weights::primitive_desc(
      dnnl::convolution_backward_weights::desc(algo, x_any, w_any, e->b_user, y_any, strides, pad,
                                               pad),
      attr, cpu(), e->fwd_pd);
  e->bwd_weights = dnnl::convolution_backward_weights(e->bwd_weights_pd);
  e->bwd_weights_src = Convert::input(x_user, e->bwd_weights_pd.src_desc());
  e->bwd_weights_diff_dst = Convert::input(y_user, e->bwd_weights_pd.diff_dst_desc());
  e->bwd_weights_diff_weights = Convert::output(e->w_user, e->bwd_weights_pd.diff_weights_desc());
  return e;
}

// Entries live as long as the process (one per geometry and run length seen); nullptr for a
// geometry oneDNN has no kernel for.
const Entry* entry(const Conv2dGeometry& g, std::int64_t mb) {
  using Key = std::tuple<std::int64_t, std::int64_t, std::int64_t, std::int64_t, std::int64_t,
                         std::int64_t, std::int64_t, std::int64_t, std::int64_t>;
  static std::mutex mutex;
  static std::map<Key, std::unique_ptr<Entry> > entries;
  static std::set<Key> refused;
  const Key key{g.in.c,   g.in.h,    g.in.w, g.out_channels, g.kernel_h, g.kernel_w,
                g.stride, g.padding, mb};
  const std::lock_guard<std::mutex> lock(mutex);
  if (refused.count(key)) return nullptr;
  std::unique_ptr<Entry>& e = entries[key];
  if (!e) {
    one_thread();
    try {
      e = make_entry(g, mb);
    } catch (const dnnl::error&) {
      entries.erase(key);
      refused.insert(key);
      return nullptr;
    }
  }
  return e.get();
}

memory scratchpad(const memory::desc& desc) {
  return memory(desc, cpu(), thread_buffer(kScratchpad, std::max<std::size_t>(desc.get_size(), 1)));
}

// The runs of images: run i is part_range(batch, count, 1, i), sizes differing by at most one.
struct Runs {
  std::int64_t count;
  std::int64_t batch;
  IndexRange run(std::int64_t i) const { return part_range(batch, count, 1, i); }
};

// body(entry, images, i) for every run i, spread over the threads, each on a one-thread oneDNN.
template <typename Body>
void for_each_run(const Conv2dGeometry& g, const Runs& runs, const Body& body) {
  parallel_for(runs.count, [&](std::int64_t i) {
    const IndexRange r = runs.run(i);
    LPSIM_ASSERT(r.size() > 0, "onednn: an empty run");  // count <= batch
    one_thread();
    body(*entry(g, r.size()), r, i);
    thread_stream().wait();
  });
}

// The weights in the layout each distinct run length's kernel wants (at most two lengths): `w`
// itself when the layouts agree, else reordered once per call by the calling thread into its
// grow-only buffers. `convert` names the pass's conversion in an entry.
class KernelWeights {
 public:
  KernelWeights(const Conv2dGeometry& g, const Runs& runs, const float* w, Convert Entry::*convert)
      : convert_(convert) {
    thread_local std::vector<float> buffers[2];
    for (std::int64_t i = 0; i < runs.count; ++i) {
      const std::int64_t mb = runs.run(i).size();
      if ((count_ > 0 && lengths_[0] == mb) || (count_ > 1 && lengths_[1] == mb)) continue;
      LPSIM_ASSERT(count_ < 2, "onednn: more than two run lengths");
      const Convert& c = entry(g, mb)->*convert;
      data_[count_] = w;
      if (!c.same) {
        std::vector<float>& buffer = buffers[count_];
        buffer.resize((c.kernel.get_size() + sizeof(float) - 1) / sizeof(float));
        memory from(c.user, cpu(), const_cast<float*>(w));
        memory to(c.kernel, cpu(), buffer.data());
        c.reorder.execute(thread_stream(), from, to);
        thread_stream().wait();
        data_[count_] = buffer.data();
      }
      lengths_[count_] = mb;
      ++count_;
    }
  }
  // The weights of run length mb, in `e`'s kernel layout.
  memory at(const Entry& e, std::int64_t mb) const {
    for (int k = 0; k < count_; ++k) {
      if (lengths_[k] == mb) {
        return memory((e.*convert_).kernel, cpu(), const_cast<float*>(data_[k]));
      }
    }
    LPSIM_ASSERT(false, "onednn: no weights for run length " + std::to_string(mb));
    return memory();
  }

 private:
  Convert Entry::*convert_;
  int count_ = 0;
  std::int64_t lengths_[2] = {0, 0};
  const float* data_[2] = {nullptr, nullptr};
};

}  // namespace

bool supports(Pass pass, const Conv2dGeometry& g, std::int64_t batch) {
  if (!enabled() || batch < 1) return false;
  const Shape out = conv2d_output_shape(g);
  if (pass == Pass::kBackwardInput && g.in.c < 16) return false;
  if (pass == Pass::kBackwardWeights && out.h * out.w < 32) return false;
  // Every run length the pass uses: the first and last run of its cut.
  const Runs runs{
      pass == Pass::kBackwardWeights ? onednn_weight_parts(g, batch) : onednn_parts(g, batch),
      batch};
  return entry(g, runs.run(0).size()) != nullptr &&
         entry(g, runs.run(runs.count - 1).size()) != nullptr;
}

bool forward(const float* x, const float* w, const float* b, const Conv2dGeometry& g,
             std::int64_t batch, float* y) {
  if (!supports(Pass::kForward, g, batch)) return false;
  one_thread();
  const Runs runs{onednn_parts(g, batch), batch};
  const KernelWeights kw(g, runs, w, &Entry::fwd_weights);
  const std::int64_t x_row = g.in.size(), y_row = conv2d_output_shape(g).size();
  for_each_run(g, runs, [&](const Entry& e, const IndexRange& r, std::int64_t) {
    const memory src = e.fwd_src.in(x + r.begin * x_row, kSrc);
    const memory weights = kw.at(e, r.size());
    const memory bias(e.b_user, cpu(), const_cast<float*>(b));
    const Convert::Out dst = e.fwd_dst.out(y + r.begin * y_row, kDst);
    e.fwd.execute(thread_stream(), {{DNNL_ARG_SRC, src},
                                    {DNNL_ARG_WEIGHTS, weights},
                                    {DNNL_ARG_BIAS, bias},
                                    {DNNL_ARG_DST, dst.kernel_memory},
                                    {DNNL_ARG_SCRATCHPAD, scratchpad(e.fwd_pd.scratchpad_desc())}});
    dst.finish();
  });
  return true;
}

bool backward_input(const float* dy, const float* w, const Conv2dGeometry& g, std::int64_t batch,
                    float* dx) {
  if (!supports(Pass::kBackwardInput, g, batch)) return false;
  one_thread();
  const Runs runs{onednn_parts(g, batch), batch};
  const KernelWeights kw(g, runs, w, &Entry::bwd_data_weights);
  const std::int64_t x_row = g.in.size(), y_row = conv2d_output_shape(g).size();
  for_each_run(g, runs, [&](const Entry& e, const IndexRange& r, std::int64_t) {
    const memory diff_dst = e.bwd_data_diff_dst.in(dy + r.begin * y_row, kDst);
    const memory weights = kw.at(e, r.size());
    const Convert::Out diff_src = e.bwd_data_diff_src.out(dx + r.begin * x_row, kSrc);
    e.bwd_data.execute(thread_stream(),
                       {{DNNL_ARG_DIFF_DST, diff_dst},
                        {DNNL_ARG_WEIGHTS, weights},
                        {DNNL_ARG_DIFF_SRC, diff_src.kernel_memory},
                        {DNNL_ARG_SCRATCHPAD, scratchpad(e.bwd_data_pd.scratchpad_desc())}});
    diff_src.finish();
  });
  return true;
}

bool backward_weights(const float* x, const float* dy, const Conv2dGeometry& g, std::int64_t batch,
                      float* dw, float* db) {
  if (!supports(Pass::kBackwardWeights, g, batch)) return false;
  one_thread();
  const Runs runs{onednn_weight_parts(g, batch), batch};
  const std::int64_t O = g.out_channels, K = g.patch_size();
  const std::int64_t x_row = g.in.size(), y_row = conv2d_output_shape(g).size();
  // Run i's partial sums: dW at [i * stride], then db (grow-only, per calling thread); one run
  // writes dw and db itself.
  thread_local std::vector<float> partial;
  const std::int64_t stride = O * K + O;
  if (runs.count > 1 && static_cast<std::int64_t>(partial.size()) < runs.count * stride) {
    partial.resize(runs.count * stride);
  }
  float* sums = partial.data();
  for_each_run(g, runs, [&](const Entry& e, const IndexRange& r, std::int64_t i) {
    float* dw_i = runs.count == 1 ? dw : sums + i * stride;
    float* db_i = runs.count == 1 ? db : dw_i + O * K;
    const dnnl::convolution_backward_weights::primitive_desc& pd = e.bwd_weights_pd;
    const memory src = e.bwd_weights_src.in(x + r.begin * x_row, kSrc);
    const memory diff_dst = e.bwd_weights_diff_dst.in(dy + r.begin * y_row, kDst);
    const Convert::Out diff_weights = e.bwd_weights_diff_weights.out(dw_i, kWeights);
    const memory diff_bias(e.b_user, cpu(), db_i);
    e.bwd_weights.execute(thread_stream(),
                          {{DNNL_ARG_SRC, src},
                           {DNNL_ARG_DIFF_DST, diff_dst},
                           {DNNL_ARG_DIFF_WEIGHTS, diff_weights.kernel_memory},
                           {DNNL_ARG_DIFF_BIAS, diff_bias},
                           {DNNL_ARG_SCRATCHPAD, scratchpad(pd.scratchpad_desc())}});
    diff_weights.finish();
  });
  if (runs.count == 1) return true;
  // dW and db: the runs' partial sums added in run order, element by element.
  parallel_ranges(stride, runs.count, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t k = begin; k < end; ++k) {
      float s = sums[k];
      for (std::int64_t i = 1; i < runs.count; ++i) s += sums[i * stride + k];
      if (k < O * K) {
        dw[k] = s;
      } else {
        db[k - O * K] = s;
      }
    }
  });
  return true;
}

}  // namespace lpsim::ops::onednn

#endif  // LPSIM_ONEDNN
