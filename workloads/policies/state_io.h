#pragma once
// Little binary writer and reader for the engine's and the policies' state (checkpoints):
// integers as int64, scalars as raw bytes of the engine's type, every container with its
// size first. A reader that meets anything else throws core::DataError naming the stream's origin.

#include <cstdint>
#include <istream>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include "core/errors.h"

namespace lpsim::policies {

class StateWriter {
 public:
  explicit StateWriter(std::ostream& out) : out_(out) {}
  void i64(std::int64_t v) { out_.write(reinterpret_cast<const char*>(&v), sizeof(v)); }
  void f64(double v) { out_.write(reinterpret_cast<const char*>(&v), sizeof(v)); }
  template <typename M>
  void matrix(const M& m) {
    i64(m.rows());
    i64(m.cols());
    out_.write(reinterpret_cast<const char*>(m.data()),
               static_cast<std::streamsize>(sizeof(typename M::Scalar) * m.size()));
  }
  template <typename V>
  void vector(const V& v) {
    i64(v.size());
    out_.write(reinterpret_cast<const char*>(v.data()),
               static_cast<std::streamsize>(sizeof(typename V::Scalar) * v.size()));
  }
  void text(const std::string& t) {
    i64(static_cast<std::int64_t>(t.size()));
    out_.write(t.data(), static_cast<std::streamsize>(t.size()));
  }
  void bools(const std::vector<bool>& b) {
    i64(static_cast<std::int64_t>(b.size()));
    for (bool x : b) i64(x ? 1 : 0);
  }

 private:
  std::ostream& out_;
};

class StateReader {
 public:
  StateReader(std::istream& in, std::string origin) : in_(in), origin_(std::move(origin)) {}
  std::int64_t i64() {
    std::int64_t v = 0;
    read(&v, sizeof(v));
    return v;
  }
  double f64() {
    double v = 0;
    read(&v, sizeof(v));
    return v;
  }
  std::int64_t count(std::int64_t max) {
    const std::int64_t n = i64();
    if (n < 0 || n > max) fail("implausible count " + std::to_string(n));
    return n;
  }
  template <typename M>
  void matrix(M& m) {
    const std::int64_t r = count(std::int64_t{1} << 40), c = count(std::int64_t{1} << 40);
    if (r != 0 && c > (std::int64_t{1} << 34) / r) fail("implausible matrix size");
    m.resize(r, c);
    read(m.data(), sizeof(typename M::Scalar) * static_cast<std::size_t>(m.size()));
  }
  template <typename V>
  void vector(V& v) {
    v.resize(count(std::int64_t{1} << 34));
    read(v.data(), sizeof(typename V::Scalar) * static_cast<std::size_t>(v.size()));
  }
  std::string text() {
    std::string t(static_cast<std::size_t>(count(1 << 16)), '\0');
    read(t.data(), t.size());
    return t;
  }
  void bools(std::vector<bool>& b) {
    b.assign(static_cast<std::size_t>(count(std::int64_t{1} << 24)), false);
    for (std::size_t i = 0; i < b.size(); ++i) b[i] = i64() != 0;
  }
  [[noreturn]] void fail(const std::string& what) const {
    throw core::DataError(origin_, "", "not a training state of this run: " + what);
  }

 private:
  void read(void* p, std::size_t n) {
    in_.read(static_cast<char*>(p), static_cast<std::streamsize>(n));
    if (static_cast<std::size_t>(in_.gcount()) != n) fail("truncated");
  }
  std::istream& in_;
  std::string origin_;
};

}  // namespace lpsim::policies
