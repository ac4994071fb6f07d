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
// Times are thread CPU times (Eigen runs single-threaded here), so a preempted thread does
// not count the time it waited. The baseline GEMM runs before and after the training steps;
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
#include <vector>

#include "workloads/data/sampler.h"
#include "workloads/data/synthetic.h"
#include "workloads/models/builtin.h"
#include "workloads/models/cost.h"
#include "workloads/models/units.h"
#include "workloads/reference/engine.h"

namespace {

using lpsim::ops::Matrix;

double thread_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

double g_gemm_last = 0.0;  // GFLOP/s of the latest BM_EigenGemm run (for `vs_gemm`)

// C = A·B on [n, n] float matrices of the layout the kernels use (ops::Matrix, row-major).
void BM_EigenGemm(benchmark::State& state) {
  const Eigen::Index n = state.range(0);
  const Matrix a = Matrix::Random(n, n);
  const Matrix b = Matrix::Random(n, n);
  Matrix c(n, n);
  c.noalias() = a * b;  // warm the caches and the page tables
  const double t0 = thread_seconds();
  for (auto _ : state) {
    c.noalias() = a * b;
    benchmark::DoNotOptimize(c.data());
    benchmark::ClobberMemory();
  }
  const double secs = thread_seconds() - t0;
  const double flops = 2.0 * static_cast<double>(n) * static_cast<double>(n) *
                       static_cast<double>(n) * static_cast<double>(state.iterations());
  g_gemm_last = flops / secs * 1e-9;
  state.counters["GFLOP/s"] = g_gemm_last;
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
  es.policy = models::WeightPolicy::kSync;
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
    double t = timed ? thread_seconds() : 0.0;
    const auto lap = [&](Part p) {
      if (!timed) return;
      const double now = thread_seconds();
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

  const double t0 = thread_seconds();
  for (auto _ : state) step(true);
  const double secs = thread_seconds() - t0;

  const double loss = engine.minibatch_results().back().loss;
  if (!std::isfinite(loss)) {
    state.SkipWithError("training diverged (non-finite loss)");
    return;
  }
  const double iters = static_cast<double>(state.iterations());
  const double gflops = flops * iters / secs * 1e-9;
  state.counters["MFLOP/step"] = flops * 1e-6;
  state.counters["GFLOP/s"] = gflops;
  if (g_gemm_last > 0.0) state.counters["vs_gemm"] = gflops / g_gemm_last;
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

  std::vector<double> gemm;                          // GFLOP/s, in run order
  std::map<std::string, std::vector<double>> steps;  // "model batch 64" -> GFLOP/s

  void ReportRuns(const std::vector<Run>& runs) override {
    for (const Run& run : runs) {
      // Repetitions and their median aggregate (which adding leaves the median unchanged).
      const bool median_aggregate =
          run.run_type == Run::RT_Aggregate && run.aggregate_name == "median";
      if (run.error_occurred || (run.run_type != Run::RT_Iteration && !median_aggregate)) continue;
      const auto it = run.counters.find("GFLOP/s");
      if (it == run.counters.end()) continue;
      const std::string& f = run.run_name.function_name;
      if (f == "BM_EigenGemm") {
        gemm.push_back(it->second.value);
      } else if (f.rfind("BM_TrainingStep/", 0) == 0) {
        std::string args = run.run_name.args;  // "batch:64"
        args.replace(args.find(':'), 1, " ");
        steps[f.substr(16) + " " + args].push_back(it->second.value);
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
  benchmark::RegisterBenchmark("BM_EigenGemm", BM_EigenGemm)
      ->Arg(kGemmSize)
      ->Unit(benchmark::kMillisecond);
  benchmark::RegisterBenchmark("BM_TrainingStep/mlp3", BM_TrainingStep, std::string("mlp3"))
      ->ArgName("batch")
      ->Arg(64)
      ->Unit(benchmark::kMillisecond);
  benchmark::RegisterBenchmark("BM_TrainingStep/cnn3", BM_TrainingStep, std::string("cnn3"))
      ->ArgName("batch")
      ->Arg(64)
      ->Unit(benchmark::kMillisecond);
  benchmark::RegisterBenchmark("BM_EigenGemm", BM_EigenGemm)
      ->Arg(kGemmSize)
      ->Unit(benchmark::kMillisecond);
  RatioReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  benchmark::Shutdown();

  if (reporter.gemm.empty()) {
    std::printf(
        "no ratios: the Eigen GEMM baseline was filtered out (keep BM_EigenGemm in the filter)\n");
    return 0;
  }
  const double gemm = median(reporter.gemm);
  std::printf("\nEigen GEMM %dx%dx%d float, %d thread(s): %.1f GFLOP/s (median of", kGemmSize,
              kGemmSize, kGemmSize, Eigen::nbThreads(), gemm);
  for (double g : reporter.gemm) std::printf(" %.1f", g);
  std::printf(")\n");
  for (const auto& [name, values] : reporter.steps) {
    const double gflops = median(values);
    const double ratio = gflops / gemm;
    std::printf("%s: training step %.1f GFLOP/s = %.2f of Eigen GEMM %.1f GFLOP/s", name.c_str(),
                gflops, ratio, gemm);
    if (name == "mlp3 batch 64")
      std::printf(" (goal >= 0.50: %s)", ratio >= 0.5 ? "met" : "MISSED");
    std::printf("\n");
  }
  return 0;
}
