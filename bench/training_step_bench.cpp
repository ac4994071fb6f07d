// Achieved GFLOP/s of one full training step of the task engine, as a ratio of the GFLOP/s
// of a large Eigen GEMM measured in the same run (the machines are noisy; only the ratio
// is meant to be compared between runs and machines).
//
// One step is what reference::train_reference does for one minibatch under policy sync
// (all delays 0): load (a copy of a pre-assembled minibatch, as data::gather makes it),
// F of every unit in order, the loss, then Ba (when the unit has one), Bw and U of every
// unit in reverse order. FLOPs = 2 · MACs of the F, Ba and Bw GEMMs actually run
// (models::layer_work); element-wise work, the loss and U are not counted, so they only
// lower the figure.
//
// Every benchmark runs at 1 thread and at every core (ops::set_threads; the kernels split
// their work as workloads/ops/parallel.h says). At 1 thread times are the thread's CPU time,
// so a preempted thread does not count the time it waited; at more, wall time. The baseline
// is ops::gemm (Eigen's single-threaded kernel on fixed blocks) at the same thread count,
// the best native GEMM the kernels can reach; it runs before and after the training steps;
// the summary lines divide the median step figure by the median of every GEMM run (with
// --benchmark_repetitions=N, of every repetition); each step's `vs_gemm` counter divides by
// the GEMM run just before it.

#include <benchmark/benchmark.h>
#include <time.h>
#include <unistd.h>

#include <Eigen/Core>
#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <map>
#include <string>
#include <tuple>
#include <vector>

#include "workloads/data/sampler.h"
#include "workloads/data/synthetic.h"
#include "workloads/models/builtin.h"
#include "workloads/models/cost.h"
#include "workloads/models/units.h"
#include "workloads/ops/gemm.h"
#include "workloads/ops/parallel.h"
#include "workloads/policies/policy.h"
#include "workloads/reference/engine.h"

namespace {

using lpsim::ops::Matrix;

// Thread CPU time when the kernels run on one thread, else wall time.
double now_seconds() {
  timespec ts{};
  clock_gettime(lpsim::ops::threads() == 1 ? CLOCK_THREAD_CPUTIME_ID : CLOCK_MONOTONIC, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

std::map<int, double> g_gemm_last;  // threads -> GFLOP/s of the latest GEMM run (`vs_gemm`)

// C = A·B on [n, n] float matrices of the layout the kernels use (ops::Matrix, row-major).
void BM_EigenGemm(benchmark::State& state) {
  const Eigen::Index n = state.range(0);
  lpsim::ops::set_threads(static_cast<int>(state.range(1)));
  const Matrix a = Matrix::Random(n, n);
  const Matrix b = Matrix::Random(n, n);
  Matrix c(n, n);
  lpsim::ops::gemm(c, a, b);  // warm the caches and the page tables
  const double t0 = now_seconds();
  for (auto _ : state) {
    lpsim::ops::gemm(c, a, b);
    benchmark::DoNotOptimize(c.data());
    benchmark::ClobberMemory();
  }
  const double secs = now_seconds() - t0;
  const double flops = 2.0 * static_cast<double>(n) * static_cast<double>(n) *
                       static_cast<double>(n) * static_cast<double>(state.iterations());
  const double gflops = flops / secs * 1e-9;
  g_gemm_last[lpsim::ops::threads()] = gflops;
  state.counters["GFLOP/s"] = gflops;
  state.counters["threads"] = lpsim::ops::threads();
  state.counters["eigen_threads"] = Eigen::nbThreads();
}

// Task kinds timed separately inside a step.
enum Part { kLoad, kForward, kLoss, kBa, kBw, kUpdate, kParts };
constexpr std::array<const char*, kParts> kPartNames = {"load", "F", "loss", "Ba", "Bw", "U"};

void BM_TrainingStep(benchmark::State& state, const std::string& model) {
  namespace models = lpsim::models;
  namespace data = lpsim::data;
  namespace reference = lpsim::reference;
  const std::int64_t batch = state.range(0);
  lpsim::ops::set_threads(static_cast<int>(state.range(1)));
  const lpsim::ops::Shape shape{1, 28, 28};
  const models::Network network = models::builtin_model(model, shape, 10);
  const models::UnitGraph units = models::group_units(network);
  const int nu = static_cast<int>(units.units.size());

  constexpr std::int64_t kBatches = 8;  // distinct minibatches, reused round robin
  data::SyntheticSpec spec;
  spec.sample_shape = shape;
  spec.num_classes = 10;
  spec.train_count = batch * kBatches;
  spec.test_count = 1;
  const data::Dataset train = data::make_synthetic(spec, data::Split::kTrain);
  const data::BatchSampler sampler(train.size(), batch, true, 1);
  std::vector<data::Batch> batches;
  for (std::int64_t i = 0; i < kBatches; ++i)
    batches.push_back(data::gather(train, sampler.minibatch(i)));

  reference::EngineSettings es;
  es.policy = &lpsim::policies::get("sync");
  es.delays.assign(nu, 0);
  es.batches_per_epoch = kBatches;
  es.total_minibatches = std::int64_t{1} << 40;
  reference::TaskEngine engine(network, units, es,
                               reference::initial_parameters(network, units, 1));

  // FLOPs of the GEMMs one step runs.
  double flops = 0.0;
  std::array<double, kParts> part_flops{};
  for (int u = 0; u < nu; ++u) {
    const models::Layer& l = network.layers[units.units[u].layer];
    const auto macs = [&](models::Task t) {
      return 2.0 * static_cast<double>(models::layer_work(l, t, batch).macs());
    };
    part_flops[kForward] += macs(models::Task::kForward);
    part_flops[kBw] += macs(models::Task::kBackwardWeight);
    if (engine.has_backward_activation(u))
      part_flops[kBa] += macs(models::Task::kBackwardActivation);
  }
  for (double f : part_flops) flops += f;

  std::array<double, kParts> part_secs{};
  std::int64_t n = 0;
  const auto step = [&](bool timed) {
    const data::Batch& b = batches[n % kBatches];
    double t = timed ? now_seconds() : 0.0;
    const auto lap = [&](Part p) {
      if (!timed) return;
      const double now = now_seconds();
      part_secs[p] += now - t;
      t = now;
    };
    engine.load(n, b.images, b.labels);
    lap(kLoad);
    for (int u = 0; u < nu; ++u) engine.forward(u, n);
    lap(kForward);
    engine.loss(n);
    lap(kLoss);
    for (int u = nu - 1; u >= 0; --u) {
      if (engine.has_backward_activation(u)) engine.backward_activation(u, n);
      lap(kBa);
      engine.backward_weight(u, n);
      lap(kBw);
      engine.update(u, n);
      lap(kUpdate);
    }
    ++n;
  };
  for (int i = 0; i < 3; ++i) step(false);  // allocate every buffer once

  const double t0 = now_seconds();
  for (auto _ : state) step(true);
  const double secs = now_seconds() - t0;

  const double loss = engine.minibatch_results().back().loss;
  if (!std::isfinite(loss)) {
    state.SkipWithError("training diverged (non-finite loss)");
    return;
  }
  const double iters = static_cast<double>(state.iterations());
  const double gflops = flops * iters / secs * 1e-9;
  state.counters["MFLOP/step"] = flops * 1e-6;
  state.counters["threads"] = lpsim::ops::threads();
  state.counters["batch"] = static_cast<double>(batch);
  state.counters["GFLOP/s"] = gflops;
  const auto gemm = g_gemm_last.find(lpsim::ops::threads());
  if (gemm != g_gemm_last.end()) state.counters["vs_gemm"] = gflops / gemm->second;
  double parts_total = 0.0;
  for (double s : part_secs) parts_total += s;
  for (int p = 0; p < kParts; ++p) {
    state.counters[std::string("share_") + kPartNames[p]] = part_secs[p] / parts_total;
    if (part_flops[p] > 0.0 && part_secs[p] > 0.0) {
      state.counters[std::string("GFLOP/s_") + kPartNames[p]] =
          part_flops[p] * iters / part_secs[p] * 1e-9;
    }
  }
}

// Collects the GFLOP/s counter of every reported run (one per repetition; Google Benchmark
// reports only the run whose iteration count it settled on).
class RatioReporter : public benchmark::ConsoleReporter {
 public:
  // Colour only on a terminal (a custom reporter does not see --benchmark_color).
  RatioReporter() : ConsoleReporter(isatty(STDOUT_FILENO) ? OO_ColorTabular : OO_Tabular) {}

  std::map<int, std::vector<double>> gemm;  // threads -> GFLOP/s, in run order
  // (model, batch, threads) -> GFLOP/s
  std::map<std::tuple<std::string, int, int>, std::vector<double>> steps;

  void ReportRuns(const std::vector<Run>& runs) override {
    for (const Run& run : runs) {
      // Repetitions and their median aggregate (which adding leaves the median unchanged).
      const bool median_aggregate =
          run.run_type == Run::RT_Aggregate && run.aggregate_name == "median";
      if (run.error_occurred || (run.run_type != Run::RT_Iteration && !median_aggregate)) continue;
      const auto it = run.counters.find("GFLOP/s");
      const auto threads = run.counters.find("threads");
      if (it == run.counters.end() || threads == run.counters.end()) continue;
      const int t = static_cast<int>(threads->second.value);
      const std::string& f = run.run_name.function_name;
      if (f == "BM_EigenGemm") {
        gemm[t].push_back(it->second.value);
      } else if (f.rfind("BM_TrainingStep/", 0) == 0) {
        const int batch = static_cast<int>(run.counters.at("batch").value);
        steps[{f.substr(16), batch, t}].push_back(it->second.value);
      }
    }
    ConsoleReporter::ReportRuns(runs);
  }
};

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const std::size_t h = v.size() / 2;
  return v.size() % 2 ? v[h] : 0.5 * (v[h - 1] + v[h]);
}

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  constexpr int kGemmSize = 1024;
  std::vector<int> thread_counts = {1};
  if (lpsim::ops::available_cores() > 1) thread_counts.push_back(lpsim::ops::available_cores());
  const auto gemm = [&] {
    for (int t : thread_counts) {
      benchmark::RegisterBenchmark("BM_EigenGemm", BM_EigenGemm)
          ->ArgNames({"n", "threads"})
          ->Args({kGemmSize, t})
          ->Unit(benchmark::kMillisecond);
    }
  };
  gemm();
  for (const auto& [model, batch] :
       std::vector<std::pair<std::string, int>>{{"mlp3", 64}, {"cnn3", 64}, {"resnet18", 32}}) {
    for (int t : thread_counts) {
      benchmark::RegisterBenchmark(("BM_TrainingStep/" + model).c_str(), BM_TrainingStep, model)
          ->ArgNames({"batch", "threads"})
          ->Args({batch, t})
          ->Unit(benchmark::kMillisecond);
    }
  }
  gemm();
  RatioReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  benchmark::Shutdown();

  if (reporter.gemm.empty()) {
    std::printf(
        "no ratios: the GEMM baseline was filtered out (keep BM_EigenGemm in the filter)\n");
    return 0;
  }
  std::printf("\n");
  for (const auto& [t, values] : reporter.gemm) {
    std::printf("GEMM %dx%dx%d float (ops::gemm), %d thread(s): %.1f GFLOP/s (median of", kGemmSize,
                kGemmSize, kGemmSize, t, median(values));
    for (double g : values) std::printf(" %.1f", g);
    std::printf(")\n");
  }
  for (const auto& [key, values] : reporter.steps) {
    const auto& [model, batch, t] = key;
    const auto g = reporter.gemm.find(t);
    if (g == reporter.gemm.end()) continue;
    const double base = median(g->second);
    const double gflops = median(values);
    const double ratio = gflops / base;
    std::printf("%s batch %d, %d thread(s): training step %.1f GFLOP/s = %.2f of GEMM %.1f GFLOP/s",
                model.c_str(), batch, t, gflops, ratio, base);
    if ((model == "mlp3" && t == 1) || model == "resnet18")
      std::printf(" (goal >= 0.50: %s)", ratio >= 0.5 ? "met" : "MISSED");
    std::printf("\n");
  }
  return 0;
}
