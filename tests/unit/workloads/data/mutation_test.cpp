// Do corrupted files only ever produce a core::DataError (never a crash, a hang, another
// exception or an oversized allocation)? Valid files are mutated at random: bytes flipped,
// cut short, extended. Seeds are printed so a failure can be replayed.

#include <gtest/gtest.h>

#include <random>

#include "test_util.h"
#include "workloads/data/idx.h"
#include "workloads/data/npy.h"

namespace lpsim::data {
namespace {

using testing::ScratchDir;
using testing::write_bytes;
using testing::write_gzip;

// Mutates `bytes` in place; every choice comes from `rng` (std::mt19937_64's raw output only).
void mutate(std::vector<std::uint8_t>& bytes, std::mt19937_64& rng) {
  const auto pick = [&](std::uint64_t n) { return n == 0 ? 0 : rng() % n; };
  switch (pick(4)) {
    case 0:  // flip a few bytes, mostly in the header
      for (std::uint64_t k = 0, n = 1 + pick(4); k < n && !bytes.empty(); ++k) {
        const std::size_t at =
            pick(4) == 0 ? pick(bytes.size()) : pick(std::min<std::size_t>(bytes.size(), 80));
        bytes[at] = static_cast<std::uint8_t>(rng());
      }
      break;
    case 1:  // cut short
      bytes.resize(pick(bytes.size()));
      break;
    case 2:  // extend
      for (std::uint64_t k = 0, n = 1 + pick(100); k < n; ++k)
        bytes.push_back(static_cast<std::uint8_t>(rng()));
      break;
    default:  // set a byte to an extreme value
      if (!bytes.empty())
        bytes[pick(std::min<std::size_t>(bytes.size(), 40))] = pick(2) ? 0xFF : 0x00;
      break;
  }
}

template <typename Read>
void expect_only_data_errors(const std::string& path, std::uint64_t seed, const Read& read) {
  try {
    read();
  } catch (const core::DataError& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find(path), std::string::npos) << "seed " << seed << ": " << message;
  } catch (const std::exception& e) {
    ADD_FAILURE() << "seed " << seed << ": not a core::DataError: " << e.what();
  }
}

TEST(CorruptedFilesOnlyGiveDataErrors, Npy) {
  std::vector<float> values(24);
  for (std::size_t i = 0; i < values.size(); ++i) values[i] = static_cast<float>(i) * 0.25f;
  const std::string valid = encode_npy({2, 3, 4}, values.data(), DType::kFloat32);
  ScratchDir dir;
  const std::string path = dir.file("m.npy");
  for (std::uint64_t seed = 0; seed < 3000; ++seed) {
    std::mt19937_64 rng(seed);
    std::vector<std::uint8_t> bytes(valid.begin(), valid.end());
    mutate(bytes, rng);
    if (seed % 3 == 0) mutate(bytes, rng);
    write_bytes(path, bytes);
    expect_only_data_errors(path, seed, [&] { read_npy<float>(path); });
    expect_only_data_errors(path, seed, [&] { read_npy<std::int64_t>(path); });
  }
}

TEST(CorruptedFilesOnlyGiveDataErrors, IdxPlainAndGzipped) {
  std::vector<std::uint8_t> valid = {0, 0, 8, 3, 0, 0, 0, 3, 0, 0, 0, 4, 0, 0, 0, 5};
  for (int i = 0; i < 60; ++i) valid.push_back(static_cast<std::uint8_t>(i * 7));
  std::vector<std::uint8_t> labels = {0, 0, 8, 1, 0, 0, 0, 6, 0, 1, 2, 3, 4, 5};
  ScratchDir dir;
  const std::string plain = dir.file("m-idx3-ubyte");
  const std::string gz = dir.file("m-idx3-ubyte.gz");
  const std::string lab = dir.file("m-idx1-ubyte");
  for (std::uint64_t seed = 0; seed < 2000; ++seed) {
    std::mt19937_64 rng(seed);
    std::vector<std::uint8_t> bytes = valid;
    mutate(bytes, rng);
    write_bytes(plain, bytes);
    expect_only_data_errors(plain, seed, [&] { read_idx_images(plain); });
    write_gzip(gz, bytes);
    expect_only_data_errors(gz, seed, [&] { read_idx_images(gz); });
    std::vector<std::uint8_t> lbytes = labels;
    mutate(lbytes, rng);
    write_bytes(lab, lbytes);
    expect_only_data_errors(lab, seed, [&] { read_idx_labels(lab, 6); });
  }
}

TEST(CorruptedFilesOnlyGiveDataErrors, GzipContainerItself) {
  std::vector<std::uint8_t> valid = {0, 0, 8, 3, 0, 0, 0, 50, 0, 0, 0, 4, 0, 0, 0, 5};
  for (int i = 0; i < 1000; ++i) valid.push_back(static_cast<std::uint8_t>((i * i) % 251));
  ScratchDir dir;
  const std::string whole = dir.file("whole.gz");
  write_gzip(whole, valid);
  const std::vector<std::uint8_t> compressed = testing::read_bytes(whole);
  const std::string path = dir.file("m.gz");
  for (std::uint64_t seed = 0; seed < 2000; ++seed) {
    std::mt19937_64 rng(seed);
    std::vector<std::uint8_t> bytes = compressed;
    mutate(bytes, rng);
    write_bytes(path, bytes);
    expect_only_data_errors(path, seed, [&] { read_idx_images(path); });
  }
}

}  // namespace
}  // namespace lpsim::data
