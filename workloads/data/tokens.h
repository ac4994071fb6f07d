#pragma once
// Token data for decoder-only transformers (ARCHITECTURE.md §3b): windows of T+1 token ids
// whose first T are the inputs and whose last T are the targets (the next token at every
// input position).
//
// Shapes (legend in workloads/ops/tensor.h; T context, V vocabulary): N windows are held as a
// Dataset with images [N, T] (the input ids as exact float values, hence V <= 2^24), labels
// [N*T] sample-major (labels[i*T + t] is the token after input position t of window i),
// sample_shape {T, 1, 1}, labels_per_sample T and num_classes V.
//
// Contract: a `tokens` directory holds train.npy and test.npy, each uint8 ('|u1'), uint16
// ('<u2') or int64 ('<i8') windows [N, T+1] in C order, N >= 1, every id in [0, V). The loader
// checks the whole file and throws core::DataError naming it and the fault: a missing file, a
// dtype other than those three, a shape that is not 2-D, a window length other than T+1, no
// windows, an id outside [0, V) (its window, position and byte offset); a limit keeps the
// first `limit` windows in file order. `lpsim tokens` writes such a directory from text.

#include <cstdint>
#include <string>
#include <vector>

#include "workloads/data/dataset.h"

namespace lpsim::data {

// The largest vocabulary: every id below it is an exact float32 value.
inline constexpr std::int64_t kMaxTokenVocab = std::int64_t{1} << 24;

// "train.npy" or "test.npy": a split's file in a tokens directory.
const char* tokens_file_name(Split split);

// The split's windows from `dir` for a model of context `context` (T >= 1) and vocabulary
// `vocab` (V); limit 0 keeps every window, otherwise the first min(limit, N).
Dataset load_tokens(const std::string& dir, Split split, std::int64_t context, std::int64_t vocab,
                    std::int64_t limit = 0);

// A seeded synthetic token set in the same layout: a fixed random first-order Markov chain over
// V tokens. Each token a has three preferred successors s1(a), s2(a), s3(a) (drawn uniformly,
// with replacement, from a stream of the seed); the token after a is s1 with probability 0.6,
// s2 0.2, s3 0.1, and a uniform draw over all V tokens 0.1. A window starts at a uniform token
// and follows the chain for T steps. The best possible next-token accuracy is about
// 0.6 + 0.1/V (chance is 1/V), which a bigram model (embedding, head) nears within a few
// hundred steps. The chain is shared by both splits; their windows come from separate streams.
// Values depend only on the spec (lpsim::ops::Rng, seeds from derive_seed).
struct SyntheticTokensSpec {
  std::int64_t context = 32;  // T
  std::int64_t vocab = 64;    // V, 2..kMaxTokenVocab
  std::int64_t train_count = 4096;
  std::int64_t test_count = 512;
  std::uint64_t seed = 1;
};

// The split's windows: train_count or test_count of them.
Dataset make_synthetic_tokens(const SyntheticTokensSpec& spec, Split split);

// A byte stream as a `tokens` set (what `lpsim tokens` writes): for L bytes and context T,
// n = floor((L-1)/T) non-overlapping windows of T+1 bytes (window i is bytes [i*T, i*T+T+1),
// so a window's last byte is the next one's first); the last floor(n/10) are the test split.
struct ByteWindows {
  std::int64_t context = 0;  // T
  std::int64_t train_count = 0;
  std::int64_t test_count = 0;
  std::vector<std::uint8_t> train;  // [train_count, T+1]
  std::vector<std::uint8_t> test;   // [test_count, T+1]
};

// context >= 1; fewer than T+1 bytes give no window.
ByteWindows cut_byte_windows(const std::string& bytes, std::int64_t context);

// Writes dir/train.npy and dir/test.npy (uint8 [count, T+1]), making dir (and its parents) when
// absent. Both files are written in full under temporary names and renamed only then, so a
// fault leaves no half-written file (and removes a directory made here); every fault is a
// core::DataError naming the path and the system's reason.
void write_byte_windows(const std::string& dir, const ByteWindows& windows);

}  // namespace lpsim::data
