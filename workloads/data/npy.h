#pragma once
// NumPy .npy files (format versions 1.0, 2.0 and 3.0), C order, little-endian.
//
// Contract: reading accepts dtypes '<f4', '<f8', '<i4', '<i8', '|u1', '<u2' and any shape
// tuple, including () for a scalar and (n,) for 1-D, and converts the values to the requested
// scalar type (float targets take any of the six; integer targets take only integer
// dtypes, range-checked). Every fault throws core::DataError naming the file, the byte offset and
// the fault: bad magic, unsupported version, header syntax, unsupported dtype (the one
// found), fortran_order True, a shape whose byte count overflows, truncated data (bytes
// expected vs found), trailing bytes. Memory is allocated only after the file size has
// been checked against the header.
// Writing (float32 and float64 from floats, any integer dtype from integers) produces version 1.0
// (2.0 only if the header outgrows 65535 bytes) byte for byte as NumPy 1.24's np.save does: same
// header text, padding and 64-byte alignment. Files are written to a temporary name and renamed, so
// a kill never leaves a truncated file.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace lpsim::data {

enum class DType { kFloat32, kFloat64, kInt32, kInt64, kUint8, kUint16 };

// "float32", "float64", "int32", "int64", "uint8", "uint16" (the checkpoint manifest's
// spelling).
const char* dtype_name(DType dtype);
std::optional<DType> dtype_from_name(const std::string& name);
// "<f4", "<f8", "<i4", "<i8", "|u1", "<u2".
const char* dtype_descr(DType dtype);
std::size_t dtype_size(DType dtype);
// kInt32, kInt64, kUint8 or kUint16.
bool dtype_is_integer(DType dtype);

// Largest .npy header accepted on reading.
inline constexpr std::uint32_t kNpyMaxHeaderBytes = 1u << 20;

struct NpyHeader {
  int major_version = 1;
  int minor_version = 0;
  DType dtype = DType::kFloat32;
  std::vector<std::int64_t> shape;  // {} is a scalar
  std::int64_t data_offset = 0;     // bytes before the array data
};

// Number of elements of a shape (1 for a scalar).
std::int64_t shape_elements(const std::vector<std::int64_t>& shape);
// NumPy's rendering: "()", "(3,)", "(3, 4)".
std::string shape_text(const std::vector<std::int64_t>& shape);

// An array read from a file; data in C order.
template <typename T>
struct NpyArray {
  std::vector<std::int64_t> shape;
  DType stored = DType::kFloat32;  // the dtype in the file
  std::vector<T> data;
};

// Reads and checks the header only (and that the file holds exactly the data it announces).
NpyHeader read_npy_header(const std::string& path);

// T is float, double, std::int32_t or std::int64_t.
template <typename T>
NpyArray<T> read_npy(const std::string& path);

// The bytes of a .npy file holding `data` (product(shape) values, C order) as `stored`:
// kFloat32 or kFloat64 from floats; an integer dtype from integers (every value must fit it).
std::string encode_npy(const std::vector<std::int64_t>& shape, const float* data, DType stored);
std::string encode_npy(const std::vector<std::int64_t>& shape, const double* data, DType stored);
std::string encode_npy(const std::vector<std::int64_t>& shape, const std::uint8_t* data,
                       DType stored = DType::kUint8);
std::string encode_npy(const std::vector<std::int64_t>& shape, const std::int64_t* data,
                       DType stored);

// Writes a .npy file; data.size() must equal product(shape). core::DataError when the file
// cannot be written.
void write_npy(const std::string& path, const std::vector<std::int64_t>& shape,
               const std::vector<float>& data, DType stored = DType::kFloat32);
void write_npy(const std::string& path, const std::vector<std::int64_t>& shape,
               const std::vector<double>& data, DType stored = DType::kFloat64);
void write_npy(const std::string& path, const std::vector<std::int64_t>& shape,
               const std::vector<std::uint8_t>& data, DType stored = DType::kUint8);
void write_npy(const std::string& path, const std::vector<std::int64_t>& shape,
               const std::vector<std::int64_t>& data, DType stored = DType::kInt64);

}  // namespace lpsim::data
