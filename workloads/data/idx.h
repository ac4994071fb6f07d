#pragma once
// IDX files (the MNIST / Fashion-MNIST container), gzipped or plain.
//
// Contract: a file is read through zlib's gz* API, which reads gzip and plain files alike.
// Only unsigned-byte payloads (type code 0x08) are supported: images with 3 dimensions
// [count, rows, cols] and labels with 1 dimension [count]. Every fault throws core::DataError
// naming the file and the fault: missing or unreadable file, corrupt gzip stream, bad magic
// number (found vs expected), unsupported type code, wrong number of dimensions, a header
// that describes more than kIdxMaxPayloadBytes (refused before anything is allocated),
// truncated data (bytes expected vs found), trailing bytes, a label out of range. Memory
// grows with the bytes actually read, never with what a header claims.

#include <cstdint>
#include <string>
#include <vector>

namespace lpsim::data {

// Largest payload an IDX header may describe (2^31 bytes).
inline constexpr std::uint64_t kIdxMaxPayloadBytes = std::uint64_t{1} << 31;

// Images [count, rows*cols] of unsigned bytes, row-major, one image per row.
struct IdxImages {
  std::int64_t count = 0;
  std::int64_t rows = 0;
  std::int64_t cols = 0;
  std::vector<std::uint8_t> pixels;
};

// Reads an images file (magic 0x00000803). rows and cols must be positive.
IdxImages read_idx_images(const std::string& path);

// Reads a labels file (magic 0x00000801); every label must lie in [0, num_classes).
std::vector<std::int32_t> read_idx_labels(const std::string& path, int num_classes);

}  // namespace lpsim::data
