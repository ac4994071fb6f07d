#include "workloads/data/npy.h"

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <limits>
#include <type_traits>
#include <utility>

#include "core/errors.h"
#include "workloads/data/file_io.h"

namespace lpsim::data {
namespace {

constexpr char kMagic[] = "\x93NUMPY";
constexpr std::size_t kMagicBytes = 6;
// NumPy aligns the start of the data to this many bytes.
constexpr std::size_t kAlign = 64;
// NumPy 1.24 leaves room for the first axis to grow to this many digits.
constexpr std::size_t kGrowthAxisMaxDigits = 21;

constexpr std::int64_t kInt64Max = std::numeric_limits<std::int64_t>::max();

constexpr DType kAllDTypes[] = {DType::kFloat32, DType::kFloat64, DType::kInt32,
                                DType::kInt64,   DType::kUint8,   DType::kUint16};
constexpr const char* kSupportedDescrs = "'<f4', '<f8', '<i4', '<i8', '|u1', '<u2'";

std::string at_byte(std::int64_t offset) { return fmt::format("byte {}", offset); }

// A recursive-descent reader of the Python dict literal in a .npy header.
class HeaderParser {
 public:
  HeaderParser(const std::string& path, const std::string& text, std::int64_t base)
      : path_(path), text_(text), base_(base) {}

  struct Fields {
    std::string descr;
    std::int64_t descr_at = 0;
    bool fortran_order = false;
    std::vector<std::int64_t> shape;
    std::int64_t shape_at = 0;
  };

  Fields parse() {
    Fields fields;
    bool seen_descr = false, seen_fortran = false, seen_shape = false;
    skip_space();
    expect('{', "'{' opening the header dictionary");
    while (true) {
      skip_space();
      if (peek() == '}') {
        ++pos_;
        break;
      }
      const std::size_t key_at = pos_;
      const std::string key = parse_string("a quoted key or '}'");
      skip_space();
      expect(':', "':' after the key");
      skip_space();
      if (key == "descr") {
        if (seen_descr) fail_at(key_at, "key 'descr' appears twice");
        seen_descr = true;
        fields.descr_at = base_ + static_cast<std::int64_t>(pos_);
        if (peek() == '[') {
          throw core::DataError(
              path_, at_byte(fields.descr_at),
              std::string("unsupported dtype: a structured dtype (descr is a list); supported: ") +
                  kSupportedDescrs);
        }
        fields.descr = parse_string("a quoted dtype string");
      } else if (key == "fortran_order") {
        if (seen_fortran) fail_at(key_at, "key 'fortran_order' appears twice");
        seen_fortran = true;
        fields.fortran_order = parse_bool();
      } else if (key == "shape") {
        if (seen_shape) fail_at(key_at, "key 'shape' appears twice");
        seen_shape = true;
        fields.shape_at = base_ + static_cast<std::int64_t>(pos_);
        fields.shape = parse_shape();
      } else {
        fail_at(key_at, "unexpected key '" + key +
                            "' (a .npy header has exactly 'descr', 'fortran_order', 'shape')");
      }
      skip_space();
      if (peek() == ',') {
        ++pos_;
        continue;
      }
      if (peek() == '}') {
        ++pos_;
        break;
      }
      fail_at(pos_, "expected ',' or '}' after a value, found " + found());
    }
    skip_space();
    if (pos_ != text_.size()) {
      fail_at(pos_, "unexpected " + found() + " after the header dictionary");
    }
    if (!seen_descr) fail_at(0, "key 'descr' is missing");
    if (!seen_fortran) fail_at(0, "key 'fortran_order' is missing");
    if (!seen_shape) fail_at(0, "key 'shape' is missing");
    return fields;
  }

 private:
  [[noreturn]] void fail_at(std::size_t at, const std::string& problem) const {
    throw core::DataError(path_, at_byte(base_ + static_cast<std::int64_t>(at)),
                          "header syntax: " + problem);
  }

  char peek() const { return pos_ < text_.size() ? text_[pos_] : '\0'; }

  std::string found() const {
    if (pos_ >= text_.size()) return "the end of the header";
    const char c = text_[pos_];
    if (c >= 0x20 && c < 0x7f) return fmt::format("'{}'", c);
    return fmt::format("byte 0x{:02X}", static_cast<unsigned char>(c));
  }

  void skip_space() {
    while (pos_ < text_.size() && (text_[pos_] == ' ' || text_[pos_] == '\t' ||
                                   text_[pos_] == '\n' || text_[pos_] == '\r')) {
      ++pos_;
    }
  }

  void expect(char c, const char* what) {
    if (peek() != c) fail_at(pos_, std::string("expected ") + what + ", found " + found());
    ++pos_;
  }

  std::string parse_string(const char* what) {
    const char quote = peek();
    if (quote != '\'' && quote != '"') {
      fail_at(pos_, std::string("expected ") + what + ", found " + found());
    }
    const std::size_t start = ++pos_;
    while (pos_ < text_.size() && text_[pos_] != quote) {
      if (text_[pos_] == '\\') fail_at(pos_, "escape sequences are not supported in strings");
      if (text_[pos_] == '\n') fail_at(pos_, "unterminated string");
      ++pos_;
    }
    if (pos_ >= text_.size()) fail_at(start - 1, "unterminated string");
    return text_.substr(start, pos_++ - start);
  }

  bool parse_bool() {
    if (text_.compare(pos_, 4, "True") == 0) {
      pos_ += 4;
      return true;
    }
    if (text_.compare(pos_, 5, "False") == 0) {
      pos_ += 5;
      return false;
    }
    fail_at(pos_, "expected True or False for 'fortran_order', found " + found());
  }

  std::int64_t parse_dimension() {
    if (peek() == '-') fail_at(pos_, "negative dimension in 'shape'");
    if (peek() < '0' || peek() > '9') {
      fail_at(pos_, "expected a dimension (a non-negative integer), found " + found());
    }
    const std::size_t start = pos_;
    std::int64_t value = 0;
    while (peek() >= '0' && peek() <= '9') {
      const int digit = peek() - '0';
      if (value > (kInt64Max - digit) / 10) {
        fail_at(start, "dimension does not fit a 64-bit integer");
      }
      value = value * 10 + digit;
      ++pos_;
    }
    if (peek() == 'L') ++pos_;  // Python 2 long literal
    return value;
  }

  std::vector<std::int64_t> parse_shape() {
    const std::size_t open = pos_;
    expect('(', "'(' opening the shape tuple");
    std::vector<std::int64_t> shape;
    bool trailing_comma = false;
    while (true) {
      skip_space();
      if (peek() == ')') {
        ++pos_;
        break;
      }
      shape.push_back(parse_dimension());
      skip_space();
      trailing_comma = false;
      if (peek() == ',') {
        ++pos_;
        trailing_comma = true;
        continue;
      }
      if (peek() == ')') {
        ++pos_;
        break;
      }
      fail_at(pos_, "expected ',' or ')' in the shape tuple, found " + found());
    }
    if (shape.size() == 1 && !trailing_comma) {
      fail_at(open, "shape (" + std::to_string(shape[0]) +
                        ") is not a tuple (a 1-D shape is written (n,))");
    }
    return shape;
  }

  const std::string& path_;
  const std::string& text_;
  std::int64_t base_;
  std::size_t pos_ = 0;
};

bool host_is_little_endian() {
  const std::uint32_t one = 1;
  unsigned char first = 0;
  std::memcpy(&first, &one, 1);
  return first == 1;
}

// Little-endian decoding of one stored element, whatever the host's byte order.
template <typename U>
U load_le(const unsigned char* p) {
  U bits = 0;
  for (std::size_t i = 0; i < sizeof(U); ++i) bits |= static_cast<U>(p[i]) << (8 * i);
  return bits;
}

template <typename U>
void store_le(std::string& out, U bits) {
  for (std::size_t i = 0; i < sizeof(U); ++i) {
    out.push_back(static_cast<char>((bits >> (8 * i)) & 0xFFu));
  }
}

double load_element(const unsigned char* p, DType dtype) {
  switch (dtype) {
    case DType::kFloat32: {
      const std::uint32_t bits = load_le<std::uint32_t>(p);
      float f;
      std::memcpy(&f, &bits, 4);
      return f;
    }
    case DType::kFloat64: {
      const std::uint64_t bits = load_le<std::uint64_t>(p);
      double d;
      std::memcpy(&d, &bits, 8);
      return d;
    }
    default:
      break;
  }
  LPSIM_ASSERT(false, "load_element on an integer dtype");
  return 0.0;
}

std::int64_t load_integer(const unsigned char* p, DType dtype) {
  switch (dtype) {
    case DType::kUint8:
      return p[0];
    case DType::kUint16:
      return load_le<std::uint16_t>(p);
    case DType::kInt32:
      return static_cast<std::int32_t>(load_le<std::uint32_t>(p));
    case DType::kInt64:
      return static_cast<std::int64_t>(load_le<std::uint64_t>(p));
    case DType::kFloat32:
    case DType::kFloat64:
      break;
  }
  LPSIM_ASSERT(false, "load_integer on a float dtype");
  return 0;
}

template <typename T>
constexpr DType native_dtype() {
  if constexpr (std::is_same_v<T, float>) return DType::kFloat32;
  if constexpr (std::is_same_v<T, double>) return DType::kFloat64;
  if constexpr (std::is_same_v<T, std::int32_t>) return DType::kInt32;
  if constexpr (std::is_same_v<T, std::uint8_t>) return DType::kUint8;
  if constexpr (std::is_same_v<T, std::uint16_t>) return DType::kUint16;
  return DType::kInt64;
}

std::int64_t file_size_or_throw(std::ifstream& in, const std::string& path) {
  in.seekg(0, std::ios::end);
  const std::streamoff size = in.tellg();
  if (!in || size < 0) throw core::DataError(path, "", "cannot determine the size of the file");
  in.seekg(0, std::ios::beg);
  return static_cast<std::int64_t>(size);
}

// Reads the header; leaves `in` positioned at the data and returns the header with
// data_offset set; checks that exactly the announced data follows.
NpyHeader read_header(std::ifstream& in, const std::string& path) {
  const std::int64_t file_size = file_size_or_throw(in, path);
  unsigned char prefix[12] = {};
  const std::int64_t prefix_got = std::min<std::int64_t>(file_size, 10);
  in.read(reinterpret_cast<char*>(prefix), prefix_got);
  if (!in) throw core::DataError(path, "", "cannot read the file");
  if (prefix_got < static_cast<std::int64_t>(kMagicBytes) ||
      std::memcmp(prefix, kMagic, kMagicBytes) != 0) {
    std::string found;
    for (std::int64_t i = 0; i < std::min<std::int64_t>(prefix_got, 6); ++i) {
      found += fmt::format("{:02X}", prefix[i]);
    }
    throw core::DataError(path, "byte 0",
                          fmt::format("bad magic: found {}, expected 0x934E554D5059 "
                                      "(\"\\x93NUMPY\"); not a .npy file",
                                      found.empty() ? "an empty file" : "0x" + found));
  }
  if (prefix_got < 8) {
    throw core::DataError(
        path, "byte 6",
        fmt::format("truncated header: expected the 2-byte version, found {} bytes",
                    prefix_got - 6));
  }
  NpyHeader header;
  header.major_version = prefix[6];
  header.minor_version = prefix[7];
  if (header.minor_version != 0 || header.major_version < 1 || header.major_version > 3) {
    throw core::DataError(
        path, "byte 6",
        fmt::format("unsupported .npy format version {}.{} (supported: 1.0, 2.0, 3.0)",
                    header.major_version, header.minor_version));
  }
  const std::int64_t length_bytes = header.major_version == 1 ? 2 : 4;
  if (file_size < 8 + length_bytes) {
    throw core::DataError(
        path, "byte 8",
        fmt::format("truncated header: expected a {}-byte header length, found {} "
                    "bytes",
                    length_bytes, file_size - 8));
  }
  if (length_bytes == 4) {
    in.read(reinterpret_cast<char*>(prefix + 10), 2);
    if (!in) throw core::DataError(path, "", "cannot read the file");
  }
  const std::uint32_t header_len =
      length_bytes == 2 ? load_le<std::uint16_t>(prefix + 8) : load_le<std::uint32_t>(prefix + 8);
  const std::int64_t text_at = 8 + length_bytes;
  if (header_len > kNpyMaxHeaderBytes) {
    throw core::DataError(path, "byte 8",
                          fmt::format("header length {} exceeds the limit of {} bytes", header_len,
                                      kNpyMaxHeaderBytes));
  }
  if (file_size - text_at < header_len) {
    throw core::DataError(path, at_byte(text_at),
                          fmt::format("truncated header: expected {} bytes, found {}", header_len,
                                      file_size - text_at));
  }
  std::string text(header_len, '\0');
  in.read(text.data(), header_len);
  if (!in) throw core::DataError(path, "", "cannot read the file");

  const HeaderParser::Fields fields = HeaderParser(path, text, text_at).parse();
  const std::optional<DType> dtype = [&]() -> std::optional<DType> {
    for (DType d : kAllDTypes) {
      if (fields.descr == dtype_descr(d)) return d;
    }
    return std::nullopt;
  }();
  if (!dtype) {
    throw core::DataError(
        path, at_byte(fields.descr_at),
        fmt::format("unsupported dtype '{}' (supported: {})", fields.descr, kSupportedDescrs));
  }
  if (fields.fortran_order) {
    throw core::DataError(path, "header",
                          "fortran_order is True: only C-order arrays are supported (save "
                          "np.ascontiguousarray(a) instead)");
  }
  header.dtype = *dtype;
  header.shape = fields.shape;
  header.data_offset = text_at + header_len;

  const auto item = static_cast<std::int64_t>(dtype_size(header.dtype));
  std::int64_t elements = 1;
  for (std::int64_t d : header.shape) {
    if (d != 0 && elements > kInt64Max / item / d) {
      throw core::DataError(path, at_byte(fields.shape_at),
                            fmt::format("shape {} overflows: its byte count does not fit 64 bits",
                                        shape_text(header.shape)));
    }
    elements *= d;
  }
  const std::int64_t expected = elements * item;
  const std::int64_t found = file_size - header.data_offset;
  if (found < expected) {
    throw core::DataError(
        path, at_byte(header.data_offset),
        fmt::format("truncated data: shape {} of {} needs {} bytes, found {}",
                    shape_text(header.shape), dtype_name(header.dtype), expected, found));
  }
  if (found > expected) {
    throw core::DataError(
        path, at_byte(header.data_offset + expected),
        fmt::format("trailing data: {} bytes after the {} bytes that shape {} of {} "
                    "needs",
                    found - expected, expected, shape_text(header.shape),
                    dtype_name(header.dtype)));
  }
  return header;
}

// Appends one element as `stored`, little-endian (an integer value must fit the dtype).
template <typename T>
void store_element(std::string& out, T value, DType stored) {
  switch (stored) {
    case DType::kFloat32: {
      const float f = static_cast<float>(value);
      std::uint32_t bits;
      std::memcpy(&bits, &f, 4);
      store_le(out, bits);
      return;
    }
    case DType::kFloat64: {
      const double d = static_cast<double>(value);
      std::uint64_t bits;
      std::memcpy(&bits, &d, 8);
      store_le(out, bits);
      return;
    }
    case DType::kUint8:
      store_le(out, static_cast<std::uint8_t>(value));
      return;
    case DType::kUint16:
      store_le(out, static_cast<std::uint16_t>(value));
      return;
    case DType::kInt32:
      store_le(out, static_cast<std::uint32_t>(static_cast<std::int32_t>(value)));
      return;
    case DType::kInt64:
      store_le(out, static_cast<std::uint64_t>(static_cast<std::int64_t>(value)));
      return;
  }
}

// The range of an integer dtype, for checking what is written.
std::pair<std::int64_t, std::int64_t> integer_range(DType dtype) {
  switch (dtype) {
    case DType::kUint8:
      return {0, 255};
    case DType::kUint16:
      return {0, 65535};
    case DType::kInt32:
      return {std::numeric_limits<std::int32_t>::min(), std::numeric_limits<std::int32_t>::max()};
    case DType::kInt64:
    case DType::kFloat32:
    case DType::kFloat64:
      break;
  }
  return {std::numeric_limits<std::int64_t>::min(), kInt64Max};
}

template <typename T>
std::string encode(const std::vector<std::int64_t>& shape, const T* data, DType stored) {
  if constexpr (std::is_integral_v<T>) {
    LPSIM_ASSERT(dtype_is_integer(stored), "encode_npy writes integers as an integer dtype");
  } else {
    LPSIM_ASSERT(stored == DType::kFloat32 || stored == DType::kFloat64,
                 "encode_npy writes floats as float32 or float64");
  }
  std::string dict = fmt::format("{{'descr': '{}', 'fortran_order': False, 'shape': {}, }}",
                                 dtype_descr(stored), shape_text(shape));
  if (!shape.empty()) {
    dict.append(kGrowthAxisMaxDigits - std::to_string(shape[0]).size(), ' ');
  }
  // As numpy.lib.format._wrap_header: version 1.0 unless the header outgrows 16 bits.
  const std::size_t text_len = dict.size() + 1;  // + '\n'
  int version = 1;
  std::size_t length_bytes = 2;
  std::size_t pad = kAlign - (8 + length_bytes + text_len) % kAlign;
  if (text_len + pad > 0xFFFF) {
    version = 2;
    length_bytes = 4;
    pad = kAlign - (8 + length_bytes + text_len) % kAlign;
  }
  const std::int64_t elements = shape_elements(shape);
  std::string out;
  out.reserve(8 + length_bytes + text_len + pad +
              static_cast<std::size_t>(elements) * dtype_size(stored));
  out.append(kMagic, kMagicBytes);
  out.push_back(static_cast<char>(version));
  out.push_back('\0');
  if (length_bytes == 2) {
    store_le(out, static_cast<std::uint16_t>(text_len + pad));
  } else {
    store_le(out, static_cast<std::uint32_t>(text_len + pad));
  }
  out += dict;
  out.append(pad, ' ');
  out.push_back('\n');
  if constexpr (std::is_integral_v<T>) {
    const auto [lo, hi] = integer_range(stored);
    for (std::int64_t i = 0; i < elements; ++i) {
      const auto v = static_cast<std::int64_t>(data[i]);
      LPSIM_ASSERT(v >= lo && v <= hi, fmt::format("encode_npy: value {} of element {} does "
                                                   "not fit {}",
                                                   v, i, dtype_name(stored)));
    }
  }
  for (std::int64_t i = 0; i < elements; ++i) store_element(out, data[i], stored);
  return out;
}

}  // namespace

const char* dtype_name(DType dtype) {
  switch (dtype) {
    case DType::kFloat32:
      return "float32";
    case DType::kFloat64:
      return "float64";
    case DType::kInt32:
      return "int32";
    case DType::kInt64:
      return "int64";
    case DType::kUint8:
      return "uint8";
    case DType::kUint16:
      return "uint16";
  }
  return "?";
}

std::optional<DType> dtype_from_name(const std::string& name) {
  for (DType d : kAllDTypes) {
    if (name == dtype_name(d)) return d;
  }
  return std::nullopt;
}

const char* dtype_descr(DType dtype) {
  switch (dtype) {
    case DType::kFloat32:
      return "<f4";
    case DType::kFloat64:
      return "<f8";
    case DType::kInt32:
      return "<i4";
    case DType::kInt64:
      return "<i8";
    case DType::kUint8:
      return "|u1";
    case DType::kUint16:
      return "<u2";
  }
  return "?";
}

std::size_t dtype_size(DType dtype) {
  switch (dtype) {
    case DType::kUint8:
      return 1;
    case DType::kUint16:
      return 2;
    case DType::kFloat32:
    case DType::kInt32:
      return 4;
    case DType::kFloat64:
    case DType::kInt64:
      return 8;
  }
  return 8;
}

bool dtype_is_integer(DType dtype) {
  switch (dtype) {
    case DType::kInt32:
    case DType::kInt64:
    case DType::kUint8:
    case DType::kUint16:
      return true;
    case DType::kFloat32:
    case DType::kFloat64:
      return false;
  }
  return false;
}

std::int64_t shape_elements(const std::vector<std::int64_t>& shape) {
  std::int64_t n = 1;
  for (std::int64_t d : shape) {
    LPSIM_ASSERT(d >= 0 && (d == 0 || n <= kInt64Max / d), "shape_elements: bad shape");
    n *= d;
  }
  return n;
}

std::string shape_text(const std::vector<std::int64_t>& shape) {
  if (shape.empty()) return "()";
  if (shape.size() == 1) return "(" + std::to_string(shape[0]) + ",)";
  std::string text = "(";
  for (std::size_t i = 0; i < shape.size(); ++i) {
    text += (i == 0 ? "" : ", ") + std::to_string(shape[i]);
  }
  return text + ")";
}

NpyHeader read_npy_header(const std::string& path) {
  std::ifstream in = open_for_reading(path);
  return read_header(in, path);
}

template <typename T>
NpyArray<T> read_npy(const std::string& path) {
  std::ifstream in = open_for_reading(path);
  const NpyHeader header = read_header(in, path);
  NpyArray<T> array;
  array.shape = header.shape;
  array.stored = header.dtype;
  const std::int64_t elements = shape_elements(header.shape);
  const std::size_t item = dtype_size(header.dtype);
  const auto bytes = static_cast<std::size_t>(elements) * item;

  if (native_dtype<T>() == header.dtype && host_is_little_endian()) {
    array.data.resize(static_cast<std::size_t>(elements));
    in.read(reinterpret_cast<char*>(array.data.data()), static_cast<std::streamsize>(bytes));
    if (!in) throw core::DataError(path, at_byte(header.data_offset), "cannot read the array data");
    return array;
  }
  if constexpr (std::is_integral_v<T>) {
    if (!dtype_is_integer(header.dtype)) {
      throw core::DataError(
          path, "header",
          fmt::format("holds {} data, expected an integer dtype ('<i4', '<i8', '|u1' or '<u2')",
                      dtype_name(header.dtype)));
    }
  }
  std::vector<unsigned char> raw(bytes);
  in.read(reinterpret_cast<char*>(raw.data()), static_cast<std::streamsize>(bytes));
  if (!in) throw core::DataError(path, at_byte(header.data_offset), "cannot read the array data");
  array.data.resize(static_cast<std::size_t>(elements));
  for (std::int64_t i = 0; i < elements; ++i) {
    const unsigned char* p = raw.data() + static_cast<std::size_t>(i) * item;
    if constexpr (std::is_integral_v<T>) {
      const std::int64_t v = load_integer(p, header.dtype);
      if (v < std::numeric_limits<T>::min() || v > std::numeric_limits<T>::max()) {
        throw core::DataError(path,
                              at_byte(header.data_offset + i * static_cast<std::int64_t>(item)),
                              fmt::format("value {} of element {} does not fit {}", v, i,
                                          dtype_name(native_dtype<T>())));
      }
      array.data[static_cast<std::size_t>(i)] = static_cast<T>(v);
    } else if (dtype_is_integer(header.dtype)) {
      array.data[static_cast<std::size_t>(i)] = static_cast<T>(load_integer(p, header.dtype));
    } else {
      array.data[static_cast<std::size_t>(i)] = static_cast<T>(load_element(p, header.dtype));
    }
  }
  return array;
}

template NpyArray<float> read_npy<float>(const std::string&);
template NpyArray<double> read_npy<double>(const std::string&);
template NpyArray<std::int32_t> read_npy<std::int32_t>(const std::string&);
template NpyArray<std::int64_t> read_npy<std::int64_t>(const std::string&);

std::string encode_npy(const std::vector<std::int64_t>& shape, const float* data, DType stored) {
  return encode(shape, data, stored);
}

std::string encode_npy(const std::vector<std::int64_t>& shape, const double* data, DType stored) {
  return encode(shape, data, stored);
}

std::string encode_npy(const std::vector<std::int64_t>& shape, const std::uint8_t* data,
                       DType stored) {
  return encode(shape, data, stored);
}

std::string encode_npy(const std::vector<std::int64_t>& shape, const std::int64_t* data,
                       DType stored) {
  return encode(shape, data, stored);
}

void write_npy(const std::string& path, const std::vector<std::int64_t>& shape,
               const std::vector<float>& data, DType stored) {
  LPSIM_ASSERT(static_cast<std::int64_t>(data.size()) == shape_elements(shape),
               "write_npy: data size does not match the shape");
  write_file_atomically(path, encode_npy(shape, data.data(), stored));
}

void write_npy(const std::string& path, const std::vector<std::int64_t>& shape,
               const std::vector<double>& data, DType stored) {
  LPSIM_ASSERT(static_cast<std::int64_t>(data.size()) == shape_elements(shape),
               "write_npy: data size does not match the shape");
  write_file_atomically(path, encode_npy(shape, data.data(), stored));
}

void write_npy(const std::string& path, const std::vector<std::int64_t>& shape,
               const std::vector<std::uint8_t>& data, DType stored) {
  LPSIM_ASSERT(static_cast<std::int64_t>(data.size()) == shape_elements(shape),
               "write_npy: data size does not match the shape");
  write_file_atomically(path, encode_npy(shape, data.data(), stored));
}

void write_npy(const std::string& path, const std::vector<std::int64_t>& shape,
               const std::vector<std::int64_t>& data, DType stored) {
  LPSIM_ASSERT(static_cast<std::int64_t>(data.size()) == shape_elements(shape),
               "write_npy: data size does not match the shape");
  write_file_atomically(path, encode_npy(shape, data.data(), stored));
}

}  // namespace lpsim::data
