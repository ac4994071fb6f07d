#pragma once
// Independent, reproducible seeds for the random streams of one run.

#include <cstdint>

namespace lpsim::data {

// SplitMix64's finaliser: a bijection of 64-bit values that scatters nearby inputs.
constexpr std::uint64_t mix_seed(std::uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

// The seed of stream `stream` (an epoch, a split) under run seed `seed`; distinct
// (seed, stream) pairs give unrelated seeds.
constexpr std::uint64_t derive_seed(std::uint64_t seed, std::uint64_t stream) {
  return mix_seed(seed ^ mix_seed(stream ^ 0x6C7073696D64ull));
}

}  // namespace lpsim::data
