// BasicTaskEngine::save_state and load_state: the state's fields are listed once, in visit_state,
// and walked by StateOut (writes each field) or StateIn (reads it back, checking what must
// match the engine it loads into), so the two directions cannot drift apart.

#include <cstdint>
#include <istream>
#include <map>
#include <memory>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include "workloads/policies/state_io.h"
#include "workloads/reference/engine.h"

namespace lpsim::reference {
namespace {

// A stream's first and last word: it names the optimizer, so that a state never loads into an
// engine of the other optimizer, and the layout's version (4: a layer's saved tensors are
// one list, since layer kinds became registered types), so that an older state is refused.
constexpr std::int64_t kStateMagic = 0x6c7073696d535434;       // "lpsimST4": sgd
constexpr std::int64_t kAdamwStateMagic = 0x6c7073696d414134;  // "lpsimAA4": adamw

std::int64_t magic_of(ops::OptimizerKind kind) {
  switch (kind) {
    case ops::OptimizerKind::kSgd:
      return kStateMagic;
    case ops::OptimizerKind::kAdamw:
      return kAdamwStateMagic;
  }
  return kStateMagic;
}

// The element a map's value stands for (contexts are held by pointer).
template <typename V>
V& element_of(V& v) {
  return v;
}
template <typename V>
V& element_of(const std::unique_ptr<V>& v) {
  return *v;
}

// Writes what visit_state hands it; the checks' messages are the reader's.
class StateOut {
 public:
  static constexpr bool kLoading = false;
  explicit StateOut(std::ostream& out) : w_(out) {}

  template <typename I>
  void i64(const I& x) {
    w_.i64(static_cast<std::int64_t>(x));
  }
  void f64(double x) { w_.f64(x); }
  void flag(bool b) { w_.i64(b ? 1 : 0); }
  template <typename M>
  void matrix(const M& m) {
    w_.matrix(m);
  }
  template <typename V>
  void vector(const V& v) {
    w_.vector(v);
  }
  void bools(const std::vector<bool>& b) { w_.bools(b); }
  template <typename P>
  void policy(const P& p) {
    p.save(w_);
  }

  // What the reader checks against the engine it loads into.
  void expect(std::int64_t v, const char* /*mismatch*/) { w_.i64(v); }
  void expect_flag(bool b, const char* /*mismatch*/) { flag(b); }
  void expect_text(const std::string& t, const char* /*mismatch*/) { w_.text(t); }
  template <typename M>
  void matrix_of_shape(const M& m, const char* /*mismatch*/) {
    w_.matrix(m);
  }

  // A sequence of any length: its size, then each element.
  template <typename S, typename F>
  void sequence(const S& s, std::int64_t /*max*/, F&& visit) {
    w_.i64(static_cast<std::int64_t>(s.size()));
    for (const auto& x : s) visit(x);
  }
  // A map: its size, then each key and its element.
  template <typename M, typename F>
  void map(const M& m, std::int64_t /*max*/, F&& visit) {
    w_.i64(static_cast<std::int64_t>(m.size()));
    for (const auto& [key, v] : m) {
      w_.i64(key);
      visit(key, element_of(v));
    }
  }
  // A sequence of the engine's own length n: each element, no size.
  template <typename S, typename F>
  void fixed(const S& s, std::size_t /*n*/, F&& visit) {
    for (const auto& x : s) visit(x);
  }
  // A sequence of the engine's own length n, with its size (the reader checks it).
  template <typename S, typename F>
  void sized(const S& s, std::size_t /*n*/, std::int64_t /*max*/, const char* /*mismatch*/,
             F&& visit) {
    sequence(s, 0, visit);
  }

 private:
  policies::StateWriter w_;
};

// Reads back what StateOut wrote, refusing (core::DataError) a stream of another engine.
class StateIn {
 public:
  static constexpr bool kLoading = true;
  StateIn(std::istream& in, const std::string& origin) : r_(in, origin) {}

  template <typename I>
  void i64(I& x) {
    x = static_cast<I>(r_.i64());
  }
  void f64(double& x) { x = r_.f64(); }
  void flag(bool& b) { b = r_.i64() != 0; }
  template <typename M>
  void matrix(M& m) {
    r_.matrix(m);
  }
  template <typename V>
  void vector(V& v) {
    r_.vector(v);
  }
  void bools(std::vector<bool>& b) { r_.bools(b); }
  template <typename P>
  void policy(P& p) {
    p.load(r_);
  }

  void expect(std::int64_t v, const char* mismatch) {
    if (r_.i64() != v) r_.fail(mismatch);
  }
  void expect_flag(bool b, const char* mismatch) {
    if ((r_.i64() != 0) != b) r_.fail(mismatch);
  }
  void expect_text(const std::string& t, const char* mismatch) {
    if (r_.text() != t) r_.fail(mismatch);
  }
  // The matrix, which must keep the shape it has.
  template <typename M>
  void matrix_of_shape(M& m, const char* mismatch) {
    const auto rows = m.rows(), cols = m.cols();
    r_.matrix(m);
    if (m.rows() != rows || m.cols() != cols) r_.fail(mismatch);
  }

  template <typename S, typename F>
  void sequence(S& s, std::int64_t max, F&& visit) {
    s.clear();
    for (std::int64_t i = 0, n = r_.count(max); i < n; ++i) {
      s.emplace_back();
      visit(s.back());
    }
  }
  template <typename K, typename V, typename F>
  void map(std::map<K, V>& m, std::int64_t max, F&& visit) {
    m.clear();
    for (std::int64_t i = 0, n = r_.count(max); i < n; ++i) {
      const K key = static_cast<K>(r_.i64());
      visit(key, m[key]);
    }
  }
  // Elements held by pointer: each made afresh, then inserted (a repeated key keeps the first).
  template <typename K, typename V, typename F>
  void map(std::map<K, std::unique_ptr<V>>& m, std::int64_t max, F&& visit) {
    m.clear();
    for (std::int64_t i = 0, n = r_.count(max); i < n; ++i) {
      const K key = static_cast<K>(r_.i64());
      auto v = std::make_unique<V>();
      visit(key, *v);
      m.emplace(key, std::move(v));
    }
  }
  template <typename S, typename F>
  void fixed(S& s, std::size_t n, F&& visit) {
    s.resize(n);
    for (auto& x : s) visit(x);
  }
  template <typename S, typename F>
  void sized(S& s, std::size_t n, std::int64_t max, const char* mismatch, F&& visit) {
    if (r_.count(max) != static_cast<std::int64_t>(n)) r_.fail(mismatch);
    fixed(s, n, visit);
  }

 private:
  policies::StateReader r_;
};

}  // namespace

template <typename T>
template <class Io, class Self>
void BasicTaskEngine<T>::visit_state(Io& io, Self& self) {
  // Bounds on the counts a reader accepts: entries of a map or list (minibatches, gradient
  // parts), and elements (labels, layers, units).
  constexpr std::int64_t kMaxEntries = std::int64_t{1} << 20, kMaxElements = std::int64_t{1} << 24;
  const std::int64_t magic = magic_of(self.settings_.optimizer.kind);
  const bool adamw = self.settings_.optimizer.kind == ops::OptimizerKind::kAdamw;
  io.expect(magic, "bad magic number: the state of another optimizer or of an older lpsim");
  io.expect(static_cast<std::int64_t>(sizeof(T)), "another scalar type");
  io.expect(self.num_units(), "another number of layers");
  io.expect_text(self.settings_.policy->name, "another weight-version policy");
  io.expect_flag(self.settings_.spike_compensation, "another spike_compensation");
  auto params_but_weight = [&io](auto& p) {
    io.vector(p.bias);
    io.vector(p.running_mean);
    io.vector(p.running_var);
  };
  for (const auto& sp : self.state_) {
    auto& s = *sp;
    io.matrix_of_shape(s.p.weight, "another network");
    params_but_weight(s.p);
    io.matrix(s.momentum_w);
    io.vector(s.momentum_b);
    if (adamw) {  // the second moment; t is `updates`
      io.matrix(s.second_w);
      io.vector(s.second_b);
    }
    io.i64(s.updates);
    io.map(s.pending, kMaxEntries, [&io](std::int64_t, auto& g) {
      io.matrix(g.first);
      io.vector(g.second);
    });
    io.expect_flag(s.policy != nullptr, "another weight-version policy");
    if (s.policy) io.policy(*s.policy);
    io.sequence(s.diagnostic, kMaxEntries, [&io](auto& f) {
      io.i64(f.m);
      io.matrix(f.version);
      io.matrix(f.used);
    });
    io.f64(s.recon.error_sum);
    io.i64(s.recon.measured);
    io.map(s.snapshots, kMaxEntries, [&](std::int64_t, auto& snap) {
      io.matrix(snap.p.weight);
      params_but_weight(snap.p);
      io.flag(snap.weights);
      io.flag(snap.stats);
    });
  }
  const std::size_t nl = self.network_.layers.size();
  // §4c: only a run that recomputes writes these (a keep run's stream is unchanged).
  const bool rerun = self.recompute_any_;
  const std::size_t nu = self.state_.size(), stages = static_cast<std::size_t>(self.num_stages_);
  if (rerun) {
    for (bool r : self.settings_.recompute_stage) {
      io.expect_flag(r, "another pipeline.activations");
    }
  }
  io.map(self.contexts_, kMaxEntries, [&io, nl, nu, stages, rerun](std::int64_t n, auto& c) {
    if constexpr (Io::kLoading) c.n = n;
    io.sequence(c.labels, kMaxElements, [&io](auto& l) { io.i64(l); });
    io.matrix(c.input);
    io.sized(c.out, nl, kMaxElements, "another network", [&io](auto& m) { io.matrix(m); });
    io.fixed(c.grads, nl, [&io](auto& parts) {
      io.sequence(parts, kMaxEntries, [&io](auto& part) {
        io.i64(part.first);
        io.matrix(part.second);
      });
    });
    io.sequence(c.delta, kMaxElements, [&io](auto& m) { io.matrix(m); });
    io.bools(c.delta_ready);
    io.bools(c.product_done);
    io.bools(c.weight_done);
    io.fixed(c.saved, nl, [&io](auto& saved) {
      io.sequence(saved.tensors, kMaxEntries, [&io](auto& m) { io.matrix(m); });
      io.matrix(saved.indices);
    });
    io.i64(c.remaining);
    if (rerun) {
      io.fixed(c.reads_left, nl, [&io](auto& k) { io.i64(k); });
      io.fixed(c.rerun_out, nl, [&io](auto& m) { io.matrix(m); });
      io.fixed(c.rerun, stages, [&io](auto& k) { io.i64(k); });
      io.fixed(c.stage_left, stages, [&io](auto& k) { io.i64(k); });
      io.fixed(c.backward_w, nu, [&io](auto& m) { io.matrix(m); });
    }
  });
  io.sequence(self.results_, std::int64_t{1} << 32, [&io](auto& r) {
    io.f64(r.loss);
    io.i64(r.correct);
    io.i64(r.samples);
  });
  io.sized(self.spikes_, self.spikes_.size(), kMaxElements, "another network", [&io](auto& st) {
    io.i64(st.spikes);
    io.i64(st.elements);
  });
  io.expect(magic, "trailing bytes or bad end marker");
}

template <typename T>
void BasicTaskEngine<T>::save_state(std::ostream& out) const {
  StateOut io(out);
  visit_state(io, *this);
}

template <typename T>
void BasicTaskEngine<T>::load_state(std::istream& in, const std::string& origin) {
  StateIn io(in, origin);
  visit_state(io, *this);
}

template void BasicTaskEngine<float>::save_state(std::ostream&) const;
template void BasicTaskEngine<float>::load_state(std::istream&, const std::string&);
template void BasicTaskEngine<double>::save_state(std::ostream&) const;
template void BasicTaskEngine<double>::load_state(std::istream&, const std::string&);

}  // namespace lpsim::reference
