// Throughput of ops::round_tensor (workloads/ops/numerics_bulk.h) on a 16 Mi float tensor
// (64 MiB, N(0, 1) values), as ratios against two baselines measured in the same run (the
// machines are noisy; only the ratios are meant to be compared between runs):
//   - the scalar loop: what round_tensor replaces, the scalar library element by element
//     (amax, scale_exponent, then unscale(round_scaled(...)) or round_to, rounding_bits for
//     stochastic), on one thread;
//   - a plain copy of the same buffer into another (std::memcpy, split as round_tensor splits
//     its passes at more than one thread): the memory traffic's floor.
// Cases: bf16, fp16 and fp8_e4m3 nearest even, bf16 stochastic. round_tensor and the copy run
// at 1 thread and at every core (ops::set_threads). GB/s = the tensor's bytes (64 MiB) per
// second, for every line, so every ratio is a ratio of times. Each timed call gets the input
// afresh (copied back untimed). At 1 thread times are the thread's CPU time, at more wall time.

#include <benchmark/benchmark.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <limits>
#include <map>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "workloads/ops/numerics.h"
#include "workloads/ops/numerics_bulk.h"
#include "workloads/ops/parallel.h"
#include "workloads/ops/rng.h"

namespace {

namespace ops = lpsim::ops;

constexpr std::int64_t kValues = std::int64_t{16} << 20;
constexpr ops::RoundingStream kStream{1, 2, 3};

// Thread CPU time when the kernels run on one thread, else wall time.
double now_seconds() {
  timespec ts{};
  clock_gettime(ops::threads() == 1 ? CLOCK_THREAD_CPUTIME_ID : CLOCK_MONOTONIC, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

// The input (N(0, 1)) and the buffer every case works on, made once and touched.
const std::vector<float>& input() {
  static const std::vector<float> values = [] {
    ops::Rng rng(20240611);
    std::vector<float> v(static_cast<std::size_t>(kValues));
    for (float& x : v) x = static_cast<float>(rng.normal());
    return v;
  }();
  return values;
}

std::vector<float>& work() {
  static std::vector<float> buffer = input();
  return buffer;
}

struct Case {
  ops::NumberFormat format;
  ops::Rounding rounding;
};

std::string case_name(const Case& c) {
  return std::string(ops::format_name(c.format)) + "_" +
         std::string(ops::rounding_name(c.rounding));
}

void restore() { std::memcpy(work().data(), input().data(), sizeof(float) * kValues); }

// Runs body once per iteration on a fresh copy of the input, timing body alone.
template <typename F>
void timed_loop(benchmark::State& state, const F& body) {
  for (auto _ : state) {
    restore();
    const double t0 = now_seconds();
    body();
    state.SetIterationTime(now_seconds() - t0);
    benchmark::DoNotOptimize(work().data());
    benchmark::ClobberMemory();
  }
  state.counters["GB/s"] = benchmark::Counter(
      static_cast<double>(sizeof(float) * kValues) * static_cast<double>(state.iterations()) * 1e-9,
      benchmark::Counter::kIsRate);
  state.counters["threads"] = ops::threads();
}

void BM_Copy(benchmark::State& state) {
  ops::set_threads(static_cast<int>(state.range(0)));
  static std::vector<float> target(static_cast<std::size_t>(kValues), 1.0f);
  timed_loop(state, [&] {
    ops::parallel_ranges(kValues, 1, [&](std::int64_t begin, std::int64_t end) {
      std::memcpy(target.data() + begin, work().data() + begin,
                  sizeof(float) * static_cast<std::size_t>(end - begin));
    });
  });
  benchmark::DoNotOptimize(target.data());
}

// The scalar library, element by element, one thread.
void BM_Scalar(benchmark::State& state, Case c) {
  ops::set_threads(1);
  timed_loop(state, [&] {
    float* data = work().data();
    const bool scaled = ops::format_info(c.format).scaled;
    int k = 0;
    if (scaled) {
      float amax = 0.0f;
      bool nan = false;
      for (std::int64_t i = 0; i < kValues; ++i) {
        nan = nan || std::isnan(data[i]);
        amax = std::max(amax, std::fabs(data[i]));
      }
      k = ops::scale_exponent(nan ? std::numeric_limits<float>::quiet_NaN() : amax, c.format);
    }
    for (std::int64_t i = 0; i < kValues; ++i) {
      const std::uint64_t bits =
          c.rounding == ops::Rounding::kStochastic
              ? ops::rounding_bits(kStream.seed, kStream.tensor, static_cast<std::uint64_t>(i),
                                   kStream.minibatch)
              : 0;
      data[i] = scaled ? ops::unscale(ops::round_scaled(data[i], k, c.format, c.rounding, bits), k)
                       : ops::round_to(data[i], c.format, c.rounding, bits);
    }
  });
}

void BM_RoundTensor(benchmark::State& state, Case c) {
  ops::set_threads(static_cast<int>(state.range(0)));
  timed_loop(state,
             [&] { ops::round_tensor(work().data(), kValues, c.format, c.rounding, kStream); });
}

// Collects the GB/s counter of every reported run (with --benchmark_repetitions=N, their
// median aggregate instead).
class RatioReporter : public benchmark::ConsoleReporter {
 public:
  // Colour only on a terminal (a custom reporter does not see --benchmark_color).
  RatioReporter() : ConsoleReporter(isatty(STDOUT_FILENO) ? OO_ColorTabular : OO_Tabular) {}

  std::map<int, double> copy;                          // threads -> GB/s
  std::map<std::string, double> scalar;                // case -> GB/s (1 thread)
  std::map<std::pair<std::string, int>, double> bulk;  // (case, threads) -> GB/s

  void ReportRuns(const std::vector<Run>& runs) override {
    for (const Run& run : runs) {
      const bool median_aggregate =
          run.run_type == Run::RT_Aggregate && run.aggregate_name == "median";
      if (run.error_occurred || (run.run_type != Run::RT_Iteration && !median_aggregate)) continue;
      const auto gbs = run.counters.find("GB/s");
      const auto threads = run.counters.find("threads");
      if (gbs == run.counters.end() || threads == run.counters.end()) continue;
      const int t = static_cast<int>(threads->second.value);
      const std::string& f = run.run_name.function_name;
      if (f == "BM_Copy") {
        copy[t] = gbs->second.value;
      } else if (f.rfind("BM_Scalar/", 0) == 0) {
        scalar[f.substr(10)] = gbs->second.value;
      } else if (f.rfind("BM_RoundTensor/", 0) == 0) {
        bulk[{f.substr(15), t}] = gbs->second.value;
      }
    }
    ConsoleReporter::ReportRuns(runs);
  }
};

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  std::vector<int> thread_counts = {1};
  if (ops::available_cores() > 1) thread_counts.push_back(ops::available_cores());
  const Case cases[] = {{ops::NumberFormat::kBf16, ops::Rounding::kNearestEven},
                        {ops::NumberFormat::kFp16, ops::Rounding::kNearestEven},
                        {ops::NumberFormat::kFp8E4m3, ops::Rounding::kNearestEven},
                        {ops::NumberFormat::kBf16, ops::Rounding::kStochastic}};
  for (int t : thread_counts) {
    benchmark::RegisterBenchmark("BM_Copy", BM_Copy)
        ->ArgName("threads")
        ->Arg(t)
        ->UseManualTime()
        ->Unit(benchmark::kMillisecond);
  }
  for (const Case& c : cases) {
    benchmark::RegisterBenchmark(("BM_Scalar/" + case_name(c)).c_str(), BM_Scalar, c)
        ->UseManualTime()
        ->Unit(benchmark::kMillisecond);
    for (int t : thread_counts) {
      benchmark::RegisterBenchmark(("BM_RoundTensor/" + case_name(c)).c_str(), BM_RoundTensor, c)
          ->ArgName("threads")
          ->Arg(t)
          ->UseManualTime()
          ->Unit(benchmark::kMillisecond);
    }
  }
  RatioReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  benchmark::Shutdown();
  ops::set_threads(1);

  std::printf("\n16 Mi floats (64 MiB); GB/s = tensor bytes per second\n");
  for (const auto& [t, gbs] : reporter.copy) {
    std::printf("copy, %d thread(s): %.2f GB/s\n", t, gbs);
  }
  for (const auto& [key, gbs] : reporter.bulk) {
    const auto& [name, t] = key;
    std::printf("%-21s %d thread(s): round_tensor %6.2f GB/s", name.c_str(), t, gbs);
    const auto s = reporter.scalar.find(name);
    if (s != reporter.scalar.end()) {
      std::printf(" = %6.1fx the scalar loop (%.3f GB/s, 1 thread)", gbs / s->second, s->second);
    }
    const auto c = reporter.copy.find(t);
    if (c != reporter.copy.end()) std::printf(", %.2f of copy", gbs / c->second);
    std::printf("\n");
  }
  return 0;
}
