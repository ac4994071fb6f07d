// NumPy .npy files: do values survive a write and a read bit for bit, do files NumPy wrote
// read correctly (and do ours match NumPy's byte for byte), and is every malformed file
// refused with a core::DataError naming the file and the fault?

#include "workloads/data/npy.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <utility>

#include "test_util.h"

namespace lpsim::data {
namespace {

using testing::expect_error;
using testing::read_bytes;
using testing::ScratchDir;
using testing::write_bytes;

const std::string kNpyFixtures = std::string(LPSIM_SOURCE_DIR) + "/tests/fixtures/data/";

std::uint32_t bits_of(float f) {
  std::uint32_t b;
  std::memcpy(&b, &f, 4);
  return b;
}

float float_of(std::uint32_t b) {
  float f;
  std::memcpy(&f, &b, 4);
  return f;
}

std::vector<std::uint8_t> as_bytes(const std::string& s) {
  return std::vector<std::uint8_t>(s.begin(), s.end());
}

// A .npy file with the given header dict text (padded as NumPy pads) and raw data.
std::string npy_with_header(const std::string& dict, const std::string& data, int major = 1) {
  std::string text = dict;
  const std::size_t length_bytes = major == 1 ? 2 : 4;
  while ((8 + length_bytes + text.size() + 1) % 64 != 0) text += ' ';
  text += '\n';
  std::string out = "\x93NUMPY";
  out.push_back(static_cast<char>(major));
  out.push_back('\0');
  for (std::size_t i = 0; i < length_bytes; ++i) {
    out.push_back(static_cast<char>((text.size() >> (8 * i)) & 0xFF));
  }
  return out + text + data;
}

TEST(NpyRoundTripsExactly, Float32BitForBitIncludingSpecialValues) {
  ScratchDir dir;
  std::vector<float> values = {0.0f,
                               -0.0f,
                               1.0f,
                               -1.0f,
                               1.0f / 3.0f,
                               std::numeric_limits<float>::quiet_NaN(),
                               -std::numeric_limits<float>::quiet_NaN(),
                               float_of(0x7FC12345u),  // a NaN with a payload
                               std::numeric_limits<float>::infinity(),
                               -std::numeric_limits<float>::infinity(),
                               std::numeric_limits<float>::denorm_min(),
                               -std::numeric_limits<float>::denorm_min(),
                               float_of(0x007FFFFFu),  // the largest denormal
                               std::numeric_limits<float>::min(),
                               std::numeric_limits<float>::max(),
                               std::numeric_limits<float>::lowest(),
                               123456.789f};
  const std::vector<std::int64_t> shape = {static_cast<std::int64_t>(values.size())};
  const std::string path = dir.file("specials.npy");
  write_npy(path, shape, values);
  const NpyArray<float> back = read_npy<float>(path);
  EXPECT_EQ(back.shape, shape);
  EXPECT_EQ(back.stored, DType::kFloat32);
  ASSERT_EQ(back.data.size(), values.size());
  for (std::size_t i = 0; i < values.size(); ++i) {
    EXPECT_EQ(bits_of(back.data[i]), bits_of(values[i])) << "element " << i;
  }
}

TEST(NpyRoundTripsExactly, ShapesScalarOneDimensionalEmptyAndFourDimensional) {
  ScratchDir dir;
  const std::vector<std::vector<std::int64_t>> shapes = {{}, {1}, {7}, {0}, {0, 3}, {2, 3, 1, 2}};
  for (const auto& shape : shapes) {
    SCOPED_TRACE(shape_text(shape));
    std::vector<float> values(static_cast<std::size_t>(shape_elements(shape)));
    for (std::size_t i = 0; i < values.size(); ++i) values[i] = 0.5f * static_cast<float>(i) - 1;
    const std::string path = dir.file("a.npy");
    write_npy(path, shape, values);
    const NpyArray<float> back = read_npy<float>(path);
    EXPECT_EQ(back.shape, shape);
    EXPECT_EQ(back.data, values);
    EXPECT_EQ(read_bytes(path).size() % 64, (values.size() * 4) % 64) << "data starts aligned";
  }
}

TEST(NpyRoundTripsExactly, Float64StoredAndConverted) {
  ScratchDir dir;
  const std::vector<double> values = {0.1, -2.5e300, 1e-310, 3.0};
  const std::string path = dir.file("d.npy");
  write_npy(path, {2, 2}, values);
  const NpyArray<double> back = read_npy<double>(path);
  EXPECT_EQ(back.stored, DType::kFloat64);
  EXPECT_EQ(back.data, values);
  const NpyArray<float> narrowed = read_npy<float>(path);
  EXPECT_EQ(narrowed.data[0], 0.1f);
  EXPECT_EQ(narrowed.data[1], -std::numeric_limits<float>::infinity());
  EXPECT_EQ(narrowed.data[3], 3.0f);
  // float data written as '<f8' widens exactly.
  write_npy(path, {2}, std::vector<float>{0.1f, -7.0f}, DType::kFloat64);
  EXPECT_EQ(read_npy_header(path).dtype, DType::kFloat64);
  EXPECT_EQ(read_npy<double>(path).data, (std::vector<double>{double{0.1f}, -7.0}));
  EXPECT_EQ(read_npy<float>(path).data, (std::vector<float>{0.1f, -7.0f}));
}

TEST(NpyReadsWhatNumPyWrote, Float32Matrix) {
  const NpyArray<float> a = read_npy<float>(kNpyFixtures + "numpy_written.npy");
  EXPECT_EQ(a.shape, (std::vector<std::int64_t>{3, 4}));
  EXPECT_EQ(a.stored, DType::kFloat32);
  ASSERT_EQ(a.data.size(), 12u);
  // NumPy computes arange(12, float32) / 7 in float32.
  for (int i = 0; i < 12; ++i) EXPECT_EQ(a.data[static_cast<std::size_t>(i)], float(i) / 7.0f);
}

TEST(NpyReadsWhatNumPyWrote, OurBytesEqualNumPys) {
  std::vector<float> values(12);
  for (int i = 0; i < 12; ++i) values[static_cast<std::size_t>(i)] = float(i) / 7.0f;
  const std::vector<std::int64_t> shape = {3, 4};
  const std::string ours = encode_npy(shape, values.data(), DType::kFloat32);
  EXPECT_EQ(as_bytes(ours), read_bytes(kNpyFixtures + "numpy_written.npy"));

  const NpyArray<float> scalar = read_npy<float>(kNpyFixtures + "numpy_scalar_f4.npy");
  EXPECT_EQ(as_bytes(encode_npy({}, scalar.data.data(), DType::kFloat32)),
            read_bytes(kNpyFixtures + "numpy_scalar_f4.npy"));
  const NpyArray<float> specials = read_npy<float>(kNpyFixtures + "numpy_specials_f4.npy");
  EXPECT_EQ(as_bytes(encode_npy(specials.shape, specials.data.data(), DType::kFloat32)),
            read_bytes(kNpyFixtures + "numpy_specials_f4.npy"));
  const NpyArray<double> f8 = read_npy<double>(kNpyFixtures + "numpy_f8_v2.npy");
  const std::string f8_ours = encode_npy(f8.shape, f8.data.data(), DType::kFloat64);
  std::vector<std::uint8_t> f8_numpy = read_bytes(kNpyFixtures + "numpy_f8_v2.npy");
  // The fixture is version 2.0 (4-byte header length); ours is 1.0: compare the data.
  ASSERT_GE(f8_numpy.size(), 48u);
  EXPECT_EQ(std::vector<std::uint8_t>(f8_ours.end() - 48, f8_ours.end()),
            std::vector<std::uint8_t>(f8_numpy.end() - 48, f8_numpy.end()));
}

TEST(NpyReadsWhatNumPyWrote, SpecialValues) {
  const NpyArray<float> a = read_npy<float>(kNpyFixtures + "numpy_specials_f4.npy");
  ASSERT_EQ(a.data.size(), 10u);
  EXPECT_TRUE(std::isnan(a.data[0]));
  EXPECT_EQ(a.data[1], std::numeric_limits<float>::infinity());
  EXPECT_EQ(a.data[2], -std::numeric_limits<float>::infinity());
  EXPECT_EQ(bits_of(a.data[3]), 0x80000000u);
  EXPECT_EQ(bits_of(a.data[4]), 0u);
  EXPECT_EQ(a.data[5], std::numeric_limits<float>::denorm_min());
  EXPECT_EQ(a.data[6], -std::numeric_limits<float>::denorm_min());
  EXPECT_EQ(a.data[7], std::numeric_limits<float>::min());
  EXPECT_EQ(a.data[8], std::numeric_limits<float>::max());
  EXPECT_EQ(a.data[9], 1.0f / 3.0f);
}

TEST(NpyReadsWhatNumPyWrote, VersionsTwoAndThreeAndIntegerDtypes) {
  const NpyHeader v2 = read_npy_header(kNpyFixtures + "numpy_f8_v2.npy");
  EXPECT_EQ(v2.major_version, 2);
  EXPECT_EQ(v2.dtype, DType::kFloat64);
  EXPECT_EQ(v2.data_offset % 64, 0);
  const NpyArray<double> f8 = read_npy<double>(kNpyFixtures + "numpy_f8_v2.npy");
  EXPECT_EQ(f8.shape, (std::vector<std::int64_t>{2, 3}));
  ASSERT_EQ(f8.data.size(), 6u);
  for (std::size_t i = 0; i < 6; ++i) EXPECT_NEAR(f8.data[i], -1.0 + 0.4 * double(i), 1e-15);
  EXPECT_EQ(f8.data.back(), 1.0);

  const NpyHeader v3 = read_npy_header(kNpyFixtures + "numpy_i8_v3.npy");
  EXPECT_EQ(v3.major_version, 3);
  const NpyArray<std::int64_t> i8 = read_npy<std::int64_t>(kNpyFixtures + "numpy_i8_v3.npy");
  EXPECT_EQ(i8.shape, (std::vector<std::int64_t>{5}));
  EXPECT_EQ(i8.data, (std::vector<std::int64_t>{-2, -1, 0, 1, std::int64_t{1} << 40}));
  EXPECT_EQ(read_npy<float>(kNpyFixtures + "numpy_i8_v3.npy").data[1], -1.0f);
  expect_error<core::DataError>([] { read_npy<std::int32_t>(kNpyFixtures + "numpy_i8_v3.npy"); },
                                "numpy_i8_v3.npy", {"value 1099511627776 of element 4", "int32"});

  const NpyArray<std::int32_t> i4 = read_npy<std::int32_t>(kNpyFixtures + "numpy_i4.npy");
  EXPECT_EQ(i4.data, (std::vector<std::int32_t>{1, -2, 3, 2147483647}));
  EXPECT_EQ(read_npy<std::int64_t>(kNpyFixtures + "numpy_i4.npy").data[3], 2147483647);
  expect_error<core::DataError>([] { read_npy<std::int64_t>(kNpyFixtures + "numpy_written.npy"); },
                                "numpy_written.npy", {"holds float32 data", "integer dtype"});

  const NpyArray<float> scalar = read_npy<float>(kNpyFixtures + "numpy_scalar_f4.npy");
  EXPECT_TRUE(scalar.shape.empty());
  EXPECT_EQ(scalar.data, std::vector<float>{2.5f});
  const NpyArray<float> empty = read_npy<float>(kNpyFixtures + "numpy_empty_f4.npy");
  EXPECT_EQ(empty.shape, (std::vector<std::int64_t>{0, 3}));
  EXPECT_TRUE(empty.data.empty());
}

TEST(NpyRejectsMalformedFiles, NumPyFilesWeDoNotSupport) {
  expect_error<core::DataError>([] { read_npy<float>(kNpyFixtures + "numpy_fortran_f4.npy"); },
                                "numpy_fortran_f4.npy", {"fortran_order is True", "C-order"});
  expect_error<core::DataError>([] { read_npy<float>(kNpyFixtures + "numpy_big_endian_f4.npy"); },
                                "numpy_big_endian_f4.npy", {"unsupported dtype '>f4'"});
}

TEST(NpyReadsWhatNumPyWrote, Uint8AndOurBytesEqualNumPys) {
  const NpyArray<std::int64_t> u1 = read_npy<std::int64_t>(kNpyFixtures + "numpy_u1.npy");
  EXPECT_EQ(u1.stored, DType::kUint8);
  EXPECT_EQ(u1.shape, (std::vector<std::int64_t>{3}));
  EXPECT_EQ(u1.data, (std::vector<std::int64_t>{0, 1, 2}));
  EXPECT_EQ(read_npy<float>(kNpyFixtures + "numpy_u1.npy").data[2], 2.0f);
  const std::vector<std::uint8_t> values = {0, 1, 2};
  EXPECT_EQ(as_bytes(encode_npy({3}, values.data())), read_bytes(kNpyFixtures + "numpy_u1.npy"));
}

TEST(NpyRoundTripsExactly, IntegerDtypesIncludingTheirExtremes) {
  ScratchDir dir;
  const std::string path = dir.file("i.npy");
  const std::vector<std::pair<DType, std::vector<std::int64_t>>> cases = {
      {DType::kUint8, {0, 1, 127, 128, 255, 7}},
      {DType::kUint16, {0, 255, 256, 65535, 1000, 2}},
      {DType::kInt32, {-2147483648LL, -1, 0, 1, 2147483647, 5}},
      {DType::kInt64,
       {std::numeric_limits<std::int64_t>::min(), -1, 0, 1,
        std::numeric_limits<std::int64_t>::max(), 1LL << 40}},
  };
  for (const auto& [dtype, values] : cases) {
    SCOPED_TRACE(dtype_name(dtype));
    write_npy(path, {2, 3}, values, dtype);
    const NpyHeader header = read_npy_header(path);
    EXPECT_EQ(header.dtype, dtype);
    EXPECT_EQ(header.data_offset + 6 * static_cast<std::int64_t>(dtype_size(dtype)),
              static_cast<std::int64_t>(read_bytes(path).size()));
    const NpyArray<std::int64_t> back = read_npy<std::int64_t>(path);
    EXPECT_EQ(back.stored, dtype);
    EXPECT_EQ(back.shape, (std::vector<std::int64_t>{2, 3}));
    EXPECT_EQ(back.data, values);
    EXPECT_TRUE(dtype_is_integer(dtype));
    EXPECT_EQ(dtype_from_name(dtype_name(dtype)), dtype);
  }
  EXPECT_EQ(std::string(dtype_descr(DType::kUint16)), "<u2");
  EXPECT_FALSE(dtype_is_integer(DType::kFloat32));
  // A value that does not fit the integer target is refused with the element named.
  write_npy(path, {1}, std::vector<std::int64_t>{3000000000LL}, DType::kInt64);
  expect_error<core::DataError>([&] { read_npy<std::int32_t>(path); }, path,
                                {"value 3000000000 of element 0", "int32"});
  // A value that does not fit the dtype written is a bug of the caller.
  EXPECT_THROW(write_npy(path, {1}, std::vector<std::int64_t>{256}, DType::kUint8),
               core::InternalError);
}

struct BadFile {
  const char* label;
  std::string bytes;
  std::vector<std::string> fragments;
};

TEST(NpyRejectsMalformedFiles, EveryFaultNamesFileAndProblem) {
  const std::string good_dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }";
  const std::string eight(8, '\0');
  const std::vector<BadFile> cases = {
      {"empty", "", {"bad magic: found an empty file", "not a .npy file"}},
      {"not-npy", "PK\x03\x04 this is a zip", {"bad magic: found 0x504B0304", "expected"}},
      {"version",
       std::string("\x93NUMPY\x04\x00", 8) + "xx",
       {"unsupported .npy format version 4.0"}},
      {"minor", std::string("\x93NUMPY\x01\x01", 8) + "xx", {"version 1.1"}},
      {"no-length", std::string("\x93NUMPY\x01\x00", 8) + "x", {"truncated header"}},
      {"short-header",
       std::string("\x93NUMPY\x01\x00\x40\x00", 10) + "{'descr'",
       {"truncated header: expected 64 bytes, found 8"}},
      {"huge-header",
       std::string("\x93NUMPY\x02\x00\xFF\xFF\xFF\x7F", 12),
       {"header length 2147483647 exceeds the limit"}},
      {"not-dict", npy_with_header("['descr']", eight), {"header syntax", "'{'"}},
      {"missing-shape",
       npy_with_header("{'descr': '<f4', 'fortran_order': False}", eight),
       {"header syntax", "'shape' is missing"}},
      {"extra-key",
       npy_with_header("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), 'x': 1}", eight),
       {"header syntax", "unexpected key 'x'"}},
      {"dup-key",
       npy_with_header("{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (2,)}",
                       eight),
       {"header syntax", "'descr' appears twice"}},
      {"bad-bool",
       npy_with_header("{'descr': '<f4', 'fortran_order': false, 'shape': (2,)}", eight),
       {"header syntax", "True or False"}},
      {"unterminated",
       npy_with_header("{'descr': '<f4, 'fortran_order': False}", eight),
       {"header syntax"}},
      {"not-tuple",
       npy_with_header("{'descr': '<f4', 'fortran_order': False, 'shape': (2)}", eight),
       {"header syntax", "shape (2) is not a tuple"}},
      {"negative",
       npy_with_header("{'descr': '<f4', 'fortran_order': False, 'shape': (-2,)}", eight),
       {"negative dimension"}},
      {"bad-dim",
       npy_with_header("{'descr': '<f4', 'fortran_order': False, 'shape': (2, x)}", eight),
       {"header syntax", "expected a dimension", "found 'x'"}},
      {"junk-after",
       npy_with_header(good_dict + " junk", eight),
       {"header syntax", "after the header"}},
      {"dtype",
       npy_with_header("{'descr': '<c8', 'fortran_order': False, 'shape': (2,), }", eight),
       {"unsupported dtype '<c8'", "'|u1', '<u2'"}},
      {"int16",
       npy_with_header("{'descr': '<i2', 'fortran_order': False, 'shape': (2,), }", eight),
       {"unsupported dtype '<i2'"}},
      {"structured",
       npy_with_header("{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (2,), }", eight),
       {"unsupported dtype", "structured"}},
      {"big-dim",
       npy_with_header("{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999,)}",
                       eight),
       {"does not fit a 64-bit integer"}},
      {"overflow",
       npy_with_header(
           "{'descr': '<f8', 'fortran_order': False, 'shape': (4294967296, 4294967296), }", eight),
       {"shape (4294967296, 4294967296) overflows"}},
      {"truncated",
       npy_with_header(good_dict, std::string(5, '\0')),
       {"truncated data", "needs 8 bytes, found 5"}},
      {"huge-claim",
       npy_with_header("{'descr': '<f4', 'fortran_order': False, 'shape': (1000000000000,), }",
                       eight),
       {"truncated data", "needs 4000000000000 bytes, found 8"}},
      {"trailing",
       npy_with_header(good_dict, std::string(11, '\0')),
       {"trailing data: 3 bytes", "after the 8 bytes"}},
      {"v2-truncated",
       npy_with_header(good_dict, std::string(4, '\0'), 2),
       {"truncated data", "needs 8 bytes, found 4"}},
  };
  ScratchDir dir;
  for (const BadFile& c : cases) {
    SCOPED_TRACE(c.label);
    const std::string path = dir.file(std::string(c.label) + ".npy");
    write_bytes(path, as_bytes(c.bytes));
    expect_error<core::DataError>([&] { read_npy<float>(path); }, path, c.fragments);
  }
}

TEST(NpyRejectsMalformedFiles, HeaderFaultsGiveTheByteOffset) {
  ScratchDir dir;
  const std::string path = dir.file("x.npy");
  const std::string dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, x)}";
  write_bytes(path, as_bytes(npy_with_header(dict, "")));
  // 10 bytes of magic, version and header length come before the dictionary.
  expect_error<core::DataError>([&] { read_npy<float>(path); }, path,
                                {"byte " + std::to_string(10 + dict.find('x'))});
}

TEST(NpyRejectsMalformedFiles, MissingFile) {
  ScratchDir dir;
  const std::string path = dir.file("absent.npy");
  expect_error<core::DataError>([&] { read_npy<float>(path); }, path,
                                {"cannot open", "No such file"});
}

TEST(NpyWritesSafely, UnwritableDirectoryIsADataError) {
  ScratchDir dir;
  const std::string path = dir.file("no-such-dir/a.npy");
  expect_error<core::DataError>([&] { write_npy(path, {1}, std::vector<float>{1.0f}); }, path,
                                {"cannot write"});
}

TEST(NpyWritesSafely, NoTemporaryFileLeftBehind) {
  ScratchDir dir;
  write_npy(dir.file("a.npy"), {2}, std::vector<float>{1.0f, 2.0f});
  write_npy(dir.file("a.npy"), {1}, std::vector<float>{3.0f});
  std::vector<std::string> names;
  for (const auto& entry : std::filesystem::directory_iterator(dir.path())) {
    names.push_back(entry.path().filename().string());
  }
  EXPECT_EQ(names, std::vector<std::string>{"a.npy"});
  EXPECT_EQ(read_npy<float>(dir.file("a.npy")).data, std::vector<float>{3.0f});
}

}  // namespace
}  // namespace lpsim::data
