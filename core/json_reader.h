#pragma once
// Strict reading of the JSON documents a user writes (configs, networks, grids).
//
// Contract: every accessor checks type and range and throws ConfigError naming the file,
// the JSON pointer of the offending value, the value found and what was allowed. An
// ObjectReader remembers which keys were read; finish() rejects every key nobody asked
// for, so a typo in a key is an error, never silently ignored.

#include <cstdint>
#include <initializer_list>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace lpsim::core {

using Json = nlohmann::json;

// Parses a file; a syntax error names the file, line and column.
Json parse_json_file(const std::string& path);
// Parses text that came from `origin` (a file name or "--set /a/b").
Json parse_json_text(const std::string& text, const std::string& origin);

// Appends one reference token to a JSON pointer, escaping '~' and '/'.
std::string pointer_append(const std::string& pointer, const std::string& token);
std::string pointer_append(const std::string& pointer, std::size_t index);

// Whether `text` is valid UTF-8, so a JSON document can hold it (nlohmann::json's dump throws
// on anything else). Bytes from a binary file (an ONNX model) or from argv need this check.
bool is_valid_utf8(const std::string& text);
// `text` with every invalid UTF-8 sequence replaced by U+FFFD: for text that is only shown
// (a producer name, a path in a description), never for a name another file refers to.
std::string utf8_lossy(const std::string& text);

// Short rendering of a value for messages (long arrays and objects are elided).
std::string describe_value(const Json& value);

class ObjectReader {
 public:
  // `value` must outlive the reader. Throws if it is not an object.
  ObjectReader(const Json& value, std::string file, std::string pointer);

  bool has(const std::string& key) const;
  // True when the key is present and not null.
  bool has_value(const std::string& key) const;
  // The raw value (marked as read); throws when missing.
  const Json& at(const std::string& key);
  std::string pointer(const std::string& key) const { return pointer_append(pointer_, key); }
  const std::string& file() const { return file_; }
  const std::string& pointer() const { return pointer_; }

  std::int64_t integer(const std::string& key, std::int64_t min, std::int64_t max);
  std::int64_t integer(const std::string& key, std::int64_t fallback, std::int64_t min,
                       std::int64_t max);
  double number(const std::string& key, double min, double max);
  double number(const std::string& key, double fallback, double min, double max);
  bool boolean(const std::string& key);
  bool boolean(const std::string& key, bool fallback);
  std::string string(const std::string& key);
  std::string string(const std::string& key, const std::string& fallback);
  // A string that must be one of `allowed`.
  std::string choice(const std::string& key, const std::vector<std::string>& allowed);
  std::string choice(const std::string& key, const std::string& fallback,
                     const std::vector<std::string>& allowed);
  // A string or null; nullopt when null or absent.
  std::optional<std::string> nullable_string(const std::string& key);
  // A required nested object.
  ObjectReader object(const std::string& key);
  // An array (required); returns the array value.
  const Json& array(const std::string& key);

  // Throws for every key present but never read.
  void finish() const;

  [[noreturn]] void fail(const std::string& key, const std::string& problem) const;

 private:
  const Json* find(const std::string& key);

  const Json& value_;
  std::string file_;
  std::string pointer_;
  mutable std::set<std::string> read_;
};

// Free-standing checks for values that are not object members (array elements).
std::int64_t json_integer(const Json& value, const std::string& file, const std::string& pointer,
                          std::int64_t min, std::int64_t max);
std::string json_string(const Json& value, const std::string& file, const std::string& pointer);

}  // namespace lpsim::core
