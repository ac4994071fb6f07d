#include "workloads/data/sampler.h"

#include <algorithm>
#include <numeric>
#include <string>

#include "core/errors.h"
#include "workloads/data/seed.h"
#include "workloads/ops/rng.h"

namespace lpsim::data {

BatchSampler::BatchSampler(std::int64_t num_samples, std::int64_t batch_size, bool shuffle,
                           std::uint64_t seed)
    : num_samples_(num_samples), batch_size_(batch_size), shuffle_(shuffle), seed_(seed) {
  LPSIM_ASSERT(num_samples >= 0, "BatchSampler: num_samples must be >= 0");
  LPSIM_ASSERT(batch_size >= 1, "BatchSampler: batch_size must be >= 1");
}

std::vector<std::int64_t> BatchSampler::epoch_order(std::int64_t epoch) const {
  LPSIM_ASSERT(epoch >= 0, "BatchSampler: epoch must be >= 0");
  std::vector<std::int64_t> order(static_cast<std::size_t>(num_samples_));
  std::iota(order.begin(), order.end(), std::int64_t{0});
  if (shuffle_) {
    ops::Rng rng(derive_seed(seed_, static_cast<std::uint64_t>(epoch)));
    rng.shuffle(order.begin(), order.end());
  }
  return order;
}

std::vector<std::int64_t> BatchSampler::batch(std::int64_t epoch, std::int64_t index) const {
  LPSIM_ASSERT(index >= 0 && index < batches_per_epoch(),
               "BatchSampler: minibatch index " + std::to_string(index) + " outside [0, " +
                   std::to_string(batches_per_epoch()) + ")");
  const auto first = static_cast<std::size_t>(index * batch_size_);
  const auto count = static_cast<std::size_t>(batch_size_);
  if (!shuffle_) {
    std::vector<std::int64_t> indices(count);
    std::iota(indices.begin(), indices.end(), static_cast<std::int64_t>(first));
    return indices;
  }
  if (cached_epoch_ != epoch) {
    cached_order_ = epoch_order(epoch);
    cached_epoch_ = epoch;
  }
  return std::vector<std::int64_t>(
      cached_order_.begin() + static_cast<std::ptrdiff_t>(first),
      cached_order_.begin() + static_cast<std::ptrdiff_t>(first + count));
}

std::vector<std::int64_t> BatchSampler::minibatch(std::int64_t n) const {
  const std::int64_t per_epoch = batches_per_epoch();
  LPSIM_ASSERT(per_epoch > 0, "BatchSampler: an epoch holds no full minibatch");
  LPSIM_ASSERT(n >= 0, "BatchSampler: minibatch number must be >= 0");
  return batch(n / per_epoch, n % per_epoch);
}

void gather(const Dataset& data, const std::vector<std::int64_t>& indices, ops::Matrix& images,
            std::vector<std::int32_t>& labels) {
  const std::int64_t per = data.labels_per_sample;
  LPSIM_ASSERT(per >= 1 && static_cast<std::int64_t>(data.labels.size()) == data.size() * per,
               "gather: the labels are not labels_per_sample per sample");
  const auto b = static_cast<Eigen::Index>(indices.size());
  images.resize(b, data.images.cols());
  labels.resize(indices.size() * static_cast<std::size_t>(per));
  for (Eigen::Index r = 0; r < b; ++r) {
    const std::int64_t i = indices[static_cast<std::size_t>(r)];
    LPSIM_ASSERT(i >= 0 && i < data.size() && i < data.images.rows(),
                 "gather: sample index " + std::to_string(i) + " outside the data set");
    images.row(r) = data.images.row(i);
    std::copy_n(data.labels.begin() + static_cast<std::ptrdiff_t>(i * per), per,
                labels.begin() + static_cast<std::ptrdiff_t>(r * per));
  }
}

Batch gather(const Dataset& data, const std::vector<std::int64_t>& indices) {
  Batch batch;
  gather(data, indices, batch.images, batch.labels);
  return batch;
}

}  // namespace lpsim::data
