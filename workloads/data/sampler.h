#pragma once
// Minibatch order and assembly.
//
// Contract: an epoch holds floor(N / B) minibatches (the last partial one is dropped; 0
// when N < B). With shuffle off, minibatch i of every epoch is samples [i*B, (i+1)*B) in
// file order. With shuffle on, epoch e visits the samples in a permutation that depends
// only on (seed, e): a Fisher-Yates shuffle of 0..N-1 by lpsim::ops::Rng seeded with
// derive_seed(seed, e), so it is the same on every platform and run. Minibatch n counted
// across epochs (the pipeline's numbering) is minibatch n mod floor(N/B) of epoch
// n div floor(N/B).
// Shapes (legend in workloads/ops/tensor.h; L = Dataset::labels_per_sample): a gathered
// batch is images [B, F], labels [B*L] sample-major (L = 1 for images, T for tokens).

#include <cstdint>
#include <vector>

#include "workloads/data/dataset.h"

namespace lpsim::data {

class BatchSampler {
 public:
  // num_samples >= 0, batch_size >= 1.
  BatchSampler(std::int64_t num_samples, std::int64_t batch_size, bool shuffle, std::uint64_t seed);

  std::int64_t num_samples() const { return num_samples_; }
  std::int64_t batch_size() const { return batch_size_; }
  bool shuffle() const { return shuffle_; }
  std::uint64_t seed() const { return seed_; }
  std::int64_t batches_per_epoch() const { return num_samples_ / batch_size_; }

  // The order in which epoch `epoch` (>= 0) visits all N samples.
  std::vector<std::int64_t> epoch_order(std::int64_t epoch) const;
  // Sample indices of minibatch `index` (in [0, batches_per_epoch())) of epoch `epoch`.
  // Consecutive calls within one epoch reuse a cached permutation (not thread-safe).
  std::vector<std::int64_t> batch(std::int64_t epoch, std::int64_t index) const;
  // Minibatch n >= 0 counted across epochs; needs batches_per_epoch() > 0.
  std::vector<std::int64_t> minibatch(std::int64_t n) const;

 private:
  std::int64_t num_samples_;
  std::int64_t batch_size_;
  bool shuffle_;
  std::uint64_t seed_;
  mutable std::int64_t cached_epoch_ = -1;
  mutable std::vector<std::int64_t> cached_order_;
};

// One assembled minibatch.
struct Batch {
  ops::Matrix images;                // [B, F]
  std::vector<std::int32_t> labels;  // [B*L]
};

// Copies rows `indices` of data into images [B, F] and each sample's L labels into labels
// [B*L] (resized as needed, so a caller can reuse its buffers). Every index must lie in
// [0, data.size()).
void gather(const Dataset& data, const std::vector<std::int64_t>& indices, ops::Matrix& images,
            std::vector<std::int32_t>& labels);
Batch gather(const Dataset& data, const std::vector<std::int64_t>& indices);

}  // namespace lpsim::data
