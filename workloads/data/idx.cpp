#include "workloads/data/idx.h"

#include <fmt/format.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "core/errors.h"

namespace lpsim::data {
namespace {

// Bytes read per gzread call: large enough to be fast, small enough that memory grows only
// with data actually present.
constexpr std::uint64_t kChunkBytes = std::uint64_t{1} << 20;
// Trailing bytes are counted up to this many; beyond it the message says "at least".
constexpr std::uint64_t kTrailingCountLimit = std::uint64_t{1} << 20;

std::string errno_text(int err) { return err == 0 ? "unknown error" : std::strerror(err); }

// A gzip or plain file opened for reading; every fault throws core::DataError naming the file.
class GzReader {
 public:
  explicit GzReader(const std::string& path) : path_(path) {
    errno = 0;
    file_ = gzopen(path.c_str(), "rb");
    if (file_ == nullptr) {
      throw core::DataError(path_, "", "cannot open the file for reading: " + errno_text(errno));
    }
    gzbuffer(file_, 1u << 17);
  }
  ~GzReader() { gzclose_r(file_); }
  GzReader(const GzReader&) = delete;
  GzReader& operator=(const GzReader&) = delete;

  // Appends up to n bytes to out; returns how many arrived (fewer only at the end of data).
  std::uint64_t read_append(std::vector<std::uint8_t>& out, std::uint64_t n) {
    std::uint64_t total = 0;
    while (total < n) {
      const std::uint64_t want = std::min(n - total, kChunkBytes);
      const std::size_t old_size = out.size();
      out.resize(old_size + want);
      const std::uint64_t got = read_some(out.data() + old_size, want);
      out.resize(old_size + got);
      total += got;
      if (got < want) break;
    }
    return total;
  }

  // Reads and discards up to n bytes; returns how many there were.
  std::uint64_t skip(std::uint64_t n) {
    std::vector<std::uint8_t> scratch(static_cast<std::size_t>(std::min(n, kChunkBytes / 16)));
    std::uint64_t total = 0;
    while (total < n) {
      const std::uint64_t want = std::min<std::uint64_t>(n - total, scratch.size());
      const std::uint64_t got = read_some(scratch.data(), want);
      total += got;
      if (got < want) break;
    }
    return total;
  }

  // True once the gzip stream has ended before its end marker.
  bool gzip_ended_early() const { return gzip_ended_early_; }

 private:
  // One gzread of at most kChunkBytes; 0 at the end of data.
  std::uint64_t read_some(std::uint8_t* buffer, std::uint64_t n) {
    errno = 0;
    const int got = gzread(file_, buffer, static_cast<unsigned>(n));
    int errnum = Z_OK;
    const char* message = gzerror(file_, &errnum);
    if (errnum == Z_BUF_ERROR) gzip_ended_early_ = true;
    if (got >= 0) return static_cast<std::uint64_t>(got);
    if (errnum == Z_BUF_ERROR) return 0;
    if (errnum == Z_ERRNO)
      throw core::DataError(path_, "", "cannot read the file: " + errno_text(errno));
    throw core::DataError(path_, "", std::string("corrupt gzip data: ") + message);
  }

  std::string path_;
  gzFile file_ = nullptr;
  bool gzip_ended_early_ = false;
};

std::string type_code_name(unsigned code) {
  switch (code) {
    case 0x08:
      return "unsigned byte";
    case 0x09:
      return "signed byte";
    case 0x0B:
      return "int16";
    case 0x0C:
      return "int32";
    case 0x0D:
      return "float32";
    case 0x0E:
      return "float64";
    default:
      return "not an IDX type";
  }
}

std::string early_end_note(const GzReader& reader) {
  return reader.gzip_ended_early() ? " (the gzip stream ends early)" : "";
}

std::uint32_t big_endian_u32(const std::uint8_t* p) {
  return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) |
         std::uint32_t{p[3]};
}

struct IdxPayload {
  std::vector<std::uint64_t> dims;
  std::vector<std::uint8_t> bytes;
};

// Reads an unsigned-byte IDX file with `ndim` dimensions. `kind` names it in messages
// ("images", "labels"); `positive_from` is the first dimension that must be non-zero.
IdxPayload read_idx_ubyte(const std::string& path, unsigned ndim, const char* kind,
                          unsigned positive_from) {
  GzReader reader(path);
  const std::uint32_t expected_magic = 0x0800u | ndim;
  const std::string expected_text = fmt::format("0x{:08X} (IDX {}: unsigned bytes, {} dimension{})",
                                                expected_magic, kind, ndim, ndim == 1 ? "" : "s");

  std::vector<std::uint8_t> header;
  const std::uint64_t magic_got = reader.read_append(header, 4);
  if (magic_got < 4) {
    throw core::DataError(
        path, "byte 0",
        fmt::format("truncated header: expected 4 bytes of magic number, found {}{}", magic_got,
                    early_end_note(reader)));
  }
  const std::uint32_t magic = big_endian_u32(header.data());
  if (header[0] != 0 || header[1] != 0) {
    throw core::DataError(
        path, "byte 0",
        fmt::format("bad magic number 0x{:08X}, expected {}", magic, expected_text));
  }
  if (header[2] != 0x08) {
    throw core::DataError(path, "byte 2",
                          fmt::format("unsupported IDX type code 0x{:02X} ({}) in magic number "
                                      "0x{:08X}, expected 0x08 (unsigned byte)",
                                      header[2], type_code_name(header[2]), magic));
  }
  if (header[3] != ndim) {
    throw core::DataError(
        path, "byte 3",
        fmt::format("wrong number of dimensions: magic number 0x{:08X} declares {}, "
                    "expected {} (magic {})",
                    magic, header[3], ndim, expected_text));
  }

  const std::uint64_t dims_bytes = 4u * ndim;
  const std::uint64_t dims_got = reader.read_append(header, dims_bytes);
  if (dims_got < dims_bytes) {
    throw core::DataError(
        path, "byte 4",
        fmt::format("truncated header: expected {} bytes of dimensions, found {}{}", dims_bytes,
                    dims_got, early_end_note(reader)));
  }
  IdxPayload payload;
  std::string dims_text;
  for (unsigned i = 0; i < ndim; ++i) {
    payload.dims.push_back(big_endian_u32(header.data() + 4 + 4 * i));
    dims_text += (i == 0 ? "" : " x ") + std::to_string(payload.dims.back());
  }
  const std::uint64_t header_bytes = 4 + dims_bytes;

  std::uint64_t expected = 1;
  bool overflow = false;
  for (unsigned i = 0; i < ndim; ++i) {
    const std::uint64_t d = payload.dims[i];
    if (i >= positive_from && d == 0) {
      throw core::DataError(path, fmt::format("byte {}", 4 + 4 * i),
                            fmt::format("zero-sized {}: dimensions {}", kind, dims_text));
    }
    overflow = overflow || __builtin_mul_overflow(expected, d, &expected);
  }
  if (overflow || expected > kIdxMaxPayloadBytes) {
    throw core::DataError(path, "byte 4",
                          fmt::format("absurd dimensions {}: they describe {} bytes, more than the "
                                      "limit of {} bytes",
                                      dims_text, overflow ? "over 2^64" : std::to_string(expected),
                                      kIdxMaxPayloadBytes));
  }

  const std::uint64_t got = reader.read_append(payload.bytes, expected);
  if (got < expected) {
    throw core::DataError(
        path, fmt::format("byte {}", header_bytes + got),
        fmt::format("truncated data: dimensions {} need {} bytes after the {}-byte "
                    "header, found {}{}",
                    dims_text, expected, header_bytes, got, early_end_note(reader)));
  }
  const std::uint64_t trailing = reader.skip(kTrailingCountLimit);
  if (trailing > 0) {
    throw core::DataError(
        path, fmt::format("byte {}", header_bytes + expected),
        fmt::format("trailing data: {}{} bytes after the {} bytes that dimensions {} "
                    "describe",
                    trailing >= kTrailingCountLimit ? "at least " : "", trailing, expected,
                    dims_text));
  }
  return payload;
}

}  // namespace

IdxImages read_idx_images(const std::string& path) {
  IdxPayload payload = read_idx_ubyte(path, 3, "images", 1);
  IdxImages images;
  images.count = static_cast<std::int64_t>(payload.dims[0]);
  images.rows = static_cast<std::int64_t>(payload.dims[1]);
  images.cols = static_cast<std::int64_t>(payload.dims[2]);
  images.pixels = std::move(payload.bytes);
  return images;
}

std::vector<std::int32_t> read_idx_labels(const std::string& path, int num_classes) {
  LPSIM_ASSERT(num_classes >= 1 && num_classes <= 256,
               "read_idx_labels needs num_classes in [1, 256]");
  const IdxPayload payload = read_idx_ubyte(path, 1, "labels", 1);
  std::vector<std::int32_t> labels(payload.bytes.size());
  for (std::size_t i = 0; i < payload.bytes.size(); ++i) {
    const int label = payload.bytes[i];
    if (label >= num_classes) {
      throw core::DataError(
          path, fmt::format("byte {}", 8 + i),
          fmt::format("label {} of sample {} is out of range [0, {})", label, i, num_classes));
    }
    labels[i] = label;
  }
  return labels;
}

}  // namespace lpsim::data
