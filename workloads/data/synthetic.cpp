#include "workloads/data/synthetic.h"

#include <fmt/format.h>

#include <cmath>
#include <vector>

#include "core/errors.h"
#include "workloads/data/seed.h"
#include "workloads/ops/rng.h"

namespace lpsim::data {
namespace {

constexpr std::uint64_t kPrototypeStream = 0;
constexpr std::uint64_t kTrainStream = 1;
constexpr std::uint64_t kTestStream = 2;

}  // namespace

Dataset make_synthetic(const SyntheticSpec& spec, Split split) {
  LPSIM_ASSERT(spec.sample_shape.c >= 1 && spec.sample_shape.h >= 1 && spec.sample_shape.w >= 1,
               "make_synthetic: sample shape must be positive");
  LPSIM_ASSERT(spec.num_classes >= 1, "make_synthetic: num_classes must be >= 1");
  LPSIM_ASSERT(spec.train_count >= 0 && spec.test_count >= 0,
               "make_synthetic: sample counts must be >= 0");
  LPSIM_ASSERT(spec.prototype_std >= 0.0 && spec.noise_std >= 0.0 &&
                   spec.prototype_std + spec.noise_std > 0.0,
               "make_synthetic: standard deviations must be >= 0, not both 0");
  const std::int64_t features = spec.sample_shape.size();
  const std::int64_t classes = spec.num_classes;
  const std::int64_t n = split == Split::kTrain ? spec.train_count : spec.test_count;

  // [K, F] prototypes, row by row.
  ops::Rng prototype_rng(derive_seed(spec.seed, kPrototypeStream));
  std::vector<double> prototypes(static_cast<std::size_t>(classes * features));
  for (double& p : prototypes) p = prototype_rng.normal(0.0, spec.prototype_std);

  ops::Rng rng(derive_seed(spec.seed, split == Split::kTrain ? kTrainStream : kTestStream));
  Dataset data;
  data.labels.resize(static_cast<std::size_t>(n));
  for (std::int64_t i = 0; i < n; ++i) {
    data.labels[static_cast<std::size_t>(i)] = static_cast<std::int32_t>(i % classes);
  }
  rng.shuffle(data.labels.begin(), data.labels.end());

  const double scale =
      1.0 / std::sqrt(spec.prototype_std * spec.prototype_std + spec.noise_std * spec.noise_std);
  data.images.resize(n, features);
  for (std::int64_t i = 0; i < n; ++i) {
    const double* p =
        prototypes.data() + static_cast<std::size_t>(data.labels[static_cast<std::size_t>(i)]) *
                                static_cast<std::size_t>(features);
    for (std::int64_t j = 0; j < features; ++j) {
      data.images(i, j) = static_cast<float>((p[j] + rng.normal(0.0, spec.noise_std)) * scale);
    }
  }
  data.sample_shape = spec.sample_shape;
  data.num_classes = spec.num_classes;
  data.origin = fmt::format(
      "synthetic {}: seed {}, {} classes, shape {}x{}x{}, prototype_std {}, noise_std {}, {} "
      "samples",
      split_name(split), spec.seed, spec.num_classes, spec.sample_shape.c, spec.sample_shape.h,
      spec.sample_shape.w, spec.prototype_std, spec.noise_std, n);
  return data;
}

}  // namespace lpsim::data
