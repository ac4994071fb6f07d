// Minibatch order: is it file order without shuffling, a deterministic per-epoch
// permutation with shuffling, and does an epoch drop its last partial minibatch?

#include "workloads/data/sampler.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>
#include <set>

#include "core/errors.h"
#include "workloads/data/synthetic.h"
#include "workloads/data/tokens.h"

namespace lpsim::data {
namespace {

std::vector<std::int64_t> range(std::int64_t first, std::int64_t count) {
  std::vector<std::int64_t> v(static_cast<std::size_t>(count));
  std::iota(v.begin(), v.end(), first);
  return v;
}

std::vector<std::int64_t> whole_epoch(const BatchSampler& s, std::int64_t epoch) {
  std::vector<std::int64_t> all;
  for (std::int64_t i = 0; i < s.batches_per_epoch(); ++i) {
    const auto b = s.batch(epoch, i);
    all.insert(all.end(), b.begin(), b.end());
  }
  return all;
}

TEST(SamplerWithoutShuffleUsesFileOrder, EveryEpochTheSame) {
  const BatchSampler s(10, 3, false, 99);
  EXPECT_EQ(s.batches_per_epoch(), 3);
  for (std::int64_t epoch : {0, 1, 5}) {
    EXPECT_EQ(s.batch(epoch, 0), range(0, 3));
    EXPECT_EQ(s.batch(epoch, 1), range(3, 3));
    EXPECT_EQ(s.batch(epoch, 2), range(6, 3));
  }
  EXPECT_EQ(s.epoch_order(4), range(0, 10));
}

TEST(SamplerDropsThePartialBatch, CountsAndGlobalNumbering) {
  EXPECT_EQ(BatchSampler(10, 3, true, 1).batches_per_epoch(), 3);
  EXPECT_EQ(BatchSampler(9, 3, true, 1).batches_per_epoch(), 3);
  EXPECT_EQ(BatchSampler(2, 3, true, 1).batches_per_epoch(), 0);
  EXPECT_EQ(BatchSampler(60000, 32, true, 1).batches_per_epoch(), 1875);
  const BatchSampler s(10, 3, false, 1);
  // Minibatch n counts on across epochs: 3 per epoch, sample 9 never used.
  EXPECT_EQ(s.minibatch(0), range(0, 3));
  EXPECT_EQ(s.minibatch(2), range(6, 3));
  EXPECT_EQ(s.minibatch(3), range(0, 3));
  EXPECT_EQ(s.minibatch(7), range(3, 3));
  const BatchSampler shuffled(10, 3, true, 5);
  EXPECT_EQ(shuffled.minibatch(4), shuffled.batch(1, 1));
  const auto epoch = whole_epoch(shuffled, 2);
  EXPECT_EQ(epoch.size(), 9u);
  const auto order = shuffled.epoch_order(2);
  EXPECT_EQ(epoch, std::vector<std::int64_t>(order.begin(), order.begin() + 9));
}

TEST(SamplerWithShuffleIsADeterministicPermutation, PermutationOfAllSamples) {
  const BatchSampler s(1000, 10, true, 7);
  for (std::int64_t epoch : {0, 1, 2}) {
    std::vector<std::int64_t> all = whole_epoch(s, epoch);
    ASSERT_EQ(all.size(), 1000u);
    EXPECT_NE(all, range(0, 1000)) << "epoch " << epoch << " is not shuffled";
    std::sort(all.begin(), all.end());
    EXPECT_EQ(all, range(0, 1000));
  }
}

TEST(SamplerWithShuffleIsADeterministicPermutation, SameSeedAndEpochSameOrder) {
  const BatchSampler a(500, 16, true, 7);
  const BatchSampler b(500, 16, true, 7);
  EXPECT_EQ(whole_epoch(a, 3), whole_epoch(b, 3));
  // Random access gives the same batches as a sequential walk.
  EXPECT_EQ(a.batch(3, 5), b.batch(3, 5));
  EXPECT_EQ(a.batch(0, 1), b.batch(0, 1));
  EXPECT_EQ(a.batch(3, 5), b.batch(3, 5));
}

TEST(SamplerWithShuffleIsADeterministicPermutation, DiffersAcrossEpochsAndSeeds) {
  const BatchSampler a(500, 16, true, 7);
  const BatchSampler b(500, 16, true, 8);
  EXPECT_NE(a.epoch_order(0), a.epoch_order(1));
  EXPECT_NE(a.epoch_order(1), a.epoch_order(2));
  EXPECT_NE(a.epoch_order(0), b.epoch_order(0));
}

TEST(SamplerWithShuffleIsADeterministicPermutation, PinnedOrder) {
  // Pins the permutation algorithm (Fisher-Yates, ops::Rng, derive_seed): a change here
  // changes every shuffled training run.
  const BatchSampler s(8, 2, true, 1);
  EXPECT_EQ(s.epoch_order(0), (std::vector<std::int64_t>{1, 0, 4, 2, 6, 5, 3, 7}));
  EXPECT_EQ(s.batch(0, 2), (std::vector<std::int64_t>{6, 5}));
}

TEST(GatherCopiesSelectedRows, ImagesAndLabels) {
  SyntheticSpec spec;
  spec.train_count = 20;
  const Dataset data = make_synthetic(spec, Split::kTrain);
  const std::vector<std::int64_t> indices = {5, 0, 19, 5};
  const Batch batch = gather(data, indices);
  ASSERT_EQ(batch.images.rows(), 4);
  ASSERT_EQ(batch.images.cols(), data.images.cols());
  for (std::size_t r = 0; r < indices.size(); ++r) {
    EXPECT_EQ(batch.images.row(static_cast<Eigen::Index>(r)), data.images.row(indices[r]));
    EXPECT_EQ(batch.labels[r], data.labels[static_cast<std::size_t>(indices[r])]);
  }
  // Reusing buffers of another size.
  ops::Matrix images(1, 1);
  std::vector<std::int32_t> labels(9);
  gather(data, {3, 4}, images, labels);
  EXPECT_EQ(images.rows(), 2);
  EXPECT_EQ(labels.size(), 2u);
  EXPECT_EQ(images.row(1), data.images.row(4));
}

TEST(GatherCopiesSelectedRows, EveryLabelOfATokenWindowSampleMajor) {
  SyntheticTokensSpec spec;
  spec.context = 5;
  spec.vocab = 16;
  spec.train_count = 12;
  const Dataset data = make_synthetic_tokens(spec, Split::kTrain);
  ASSERT_EQ(data.size(), 12);
  const std::vector<std::int64_t> indices = {7, 0, 11};
  const Batch batch = gather(data, indices);
  ASSERT_EQ(batch.images.rows(), 3);
  ASSERT_EQ(batch.labels.size(), 15u);
  for (std::size_t r = 0; r < indices.size(); ++r) {
    EXPECT_EQ(batch.images.row(static_cast<Eigen::Index>(r)), data.images.row(indices[r]));
    for (std::size_t t = 0; t < 5; ++t) {
      EXPECT_EQ(batch.labels[r * 5 + t], data.labels[static_cast<std::size_t>(indices[r]) * 5 + t]);
    }
  }
  // A sampler over the windows draws sample indices, not label indices.
  const BatchSampler sampler(data.size(), 4, true, 2);
  EXPECT_EQ(sampler.batches_per_epoch(), 3);
  std::vector<std::int32_t> labels(1);
  ops::Matrix images;
  gather(data, sampler.batch(0, 2), images, labels);
  EXPECT_EQ(labels.size(), 20u);
}

TEST(GatherCopiesSelectedRows, OutOfRangeIndexIsAnInternalError) {
  SyntheticSpec spec;
  spec.train_count = 4;
  const Dataset data = make_synthetic(spec, Split::kTrain);
  EXPECT_THROW(gather(data, {4}), core::InternalError);
  EXPECT_THROW(gather(data, {-1}), core::InternalError);
}

}  // namespace
}  // namespace lpsim::data
