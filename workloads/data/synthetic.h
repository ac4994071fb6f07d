#pragma once
// Seeded synthetic classification sets for fast, deterministic tests.
//
// Each class c has a prototype p_c drawn from N(0, prototype_std^2) per feature; sample i
// of a split gets label y_i (every class equally often, +-1, in a seeded random order) and
// features x_i = (p_{y_i} + e_i) / sqrt(prototype_std^2 + noise_std^2), e_i drawn from
// N(0, noise_std^2): roughly unit variance, linearly separable in expectation but
// overlapping, so a small MLP learns it well within an epoch and never trivially.
// Prototypes are shared by both splits; the splits' samples come from separate streams,
// so the test set never repeats a training sample. Values depend only on the spec
// (lpsim::ops::Rng, seeds from derive_seed), never on the platform's std:: distributions.

#include <cstdint>

#include "workloads/data/dataset.h"

namespace lpsim::data {

struct SyntheticSpec {
  ops::Shape sample_shape{16, 1, 1};
  int num_classes = 4;
  std::int64_t train_count = 1024;
  std::int64_t test_count = 256;
  std::uint64_t seed = 1;
  double prototype_std = 1.0;
  double noise_std = 1.2;
};

// The split's samples: train_count or test_count of them.
Dataset make_synthetic(const SyntheticSpec& spec, Split split);

}  // namespace lpsim::data
