#include "core/json_reader.h"

#include <cmath>
#include <fstream>
#include <limits>
#include <sstream>

#include "core/errors.h"

namespace lpsim::core {

Json parse_json_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ConfigError(path, "", "cannot open the file for reading");
  std::stringstream buffer;
  buffer << in.rdbuf();
  if (in.bad()) throw ConfigError(path, "", "cannot read the file");
  return parse_json_text(buffer.str(), path);
}

Json parse_json_text(const std::string& text, const std::string& origin) {
  try {
    return Json::parse(text);
  } catch (const Json::parse_error& e) {
    // Turn the byte offset into line and column: people edit JSON by line.
    std::size_t line = 1, column = 1;
    for (std::size_t i = 0; i < e.byte && i < text.size(); ++i) {
      if (text[i] == '\n') {
        ++line;
        column = 1;
      } else {
        ++column;
      }
    }
    std::string what = e.what();
    const auto colon = what.find("syntax error");
    if (colon != std::string::npos) what = what.substr(colon);
    throw ConfigError(origin, "line " + std::to_string(line) + ", column " + std::to_string(column),
                      "not valid JSON: " + what);
  } catch (const Json::exception& e) {
    // e.g. out_of_range 406: a number literal beyond double ("1e400"); found by fuzzing.
    std::string what = e.what();
    const auto bracket = what.find("] ");
    if (bracket != std::string::npos) what = what.substr(bracket + 2);
    throw ConfigError(origin, "", "not valid JSON: " + what);
  }
}

std::string pointer_append(const std::string& pointer, const std::string& token) {
  std::string escaped;
  for (char c : token) {
    if (c == '~') {
      escaped += "~0";
    } else if (c == '/') {
      escaped += "~1";
    } else {
      escaped += c;
    }
  }
  return pointer + "/" + escaped;
}

std::string pointer_append(const std::string& pointer, std::size_t index) {
  return pointer + "/" + std::to_string(index);
}

bool is_valid_utf8(const std::string& text) {
  try {
    (void)Json(text).dump();
    return true;
  } catch (const Json::type_error&) {
    return false;
  }
}

std::string utf8_lossy(const std::string& text) {
  // dump() with `replace` writes U+FFFD for each invalid sequence; parse() reads it back.
  return Json::parse(Json(text).dump(-1, ' ', false, Json::error_handler_t::replace))
      .get<std::string>();
}

std::string describe_value(const Json& value) {
  std::string text = value.dump();
  if (text.size() > 60) text = text.substr(0, 57) + "...";
  return text;
}

ObjectReader::ObjectReader(const Json& value, std::string file, std::string pointer)
    : value_(value), file_(std::move(file)), pointer_(std::move(pointer)) {
  if (!value_.is_object()) {
    throw ConfigError(file_, pointer_.empty() ? "/" : pointer_,
                      "expected a JSON object, found " + describe_value(value_));
  }
}

bool ObjectReader::has(const std::string& key) const { return value_.contains(key); }

bool ObjectReader::has_value(const std::string& key) const {
  return value_.contains(key) && !value_.at(key).is_null();
}

const Json* ObjectReader::find(const std::string& key) {
  auto it = value_.find(key);
  if (it == value_.end()) return nullptr;
  read_.insert(key);
  return &*it;
}

void ObjectReader::fail(const std::string& key, const std::string& problem) const {
  throw ConfigError(file_, pointer(key), problem);
}

const Json& ObjectReader::at(const std::string& key) {
  const Json* v = find(key);
  if (v == nullptr) fail(key, "required key is missing");
  return *v;
}

std::int64_t json_integer(const Json& value, const std::string& file, const std::string& pointer,
                          std::int64_t min, std::int64_t max) {
  auto range = [&] {
    return "an integer in [" + std::to_string(min) + ", " + std::to_string(max) + "]";
  };
  std::int64_t result = 0;
  if (value.is_number_integer()) {
    if (value.is_number_unsigned() &&
        value.get<std::uint64_t>() >
            static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
      throw ConfigError(file, pointer, "found " + describe_value(value) + ", expected " + range());
    }
    result = value.get<std::int64_t>();
  } else if (value.is_number_float()) {
    const double d = value.get<double>();
    if (!std::isfinite(d) || std::floor(d) != d || std::fabs(d) > 9.0e15) {
      throw ConfigError(file, pointer, "found " + describe_value(value) + ", expected " + range());
    }
    result = static_cast<std::int64_t>(d);
  } else {
    throw ConfigError(file, pointer, "found " + describe_value(value) + ", expected " + range());
  }
  if (result < min || result > max) {
    throw ConfigError(file, pointer, "found " + describe_value(value) + ", expected " + range());
  }
  return result;
}

std::string json_string(const Json& value, const std::string& file, const std::string& pointer) {
  if (!value.is_string()) {
    throw ConfigError(file, pointer, "found " + describe_value(value) + ", expected a string");
  }
  return value.get<std::string>();
}

std::int64_t ObjectReader::integer(const std::string& key, std::int64_t min, std::int64_t max) {
  return json_integer(at(key), file_, pointer(key), min, max);
}

std::int64_t ObjectReader::integer(const std::string& key, std::int64_t fallback, std::int64_t min,
                                   std::int64_t max) {
  const Json* v = find(key);
  if (v == nullptr) return fallback;
  return json_integer(*v, file_, pointer(key), min, max);
}

double ObjectReader::number(const std::string& key, double min, double max) {
  const Json& v = at(key);
  std::ostringstream range;
  range << "a finite number in [" << min << ", " << max << "]";
  if (!v.is_number()) fail(key, "found " + describe_value(v) + ", expected " + range.str());
  const double d = v.get<double>();
  if (!std::isfinite(d) || d < min || d > max) {
    fail(key, "found " + describe_value(v) + ", expected " + range.str());
  }
  return d;
}

double ObjectReader::number(const std::string& key, double fallback, double min, double max) {
  if (!has(key)) return fallback;
  return number(key, min, max);
}

bool ObjectReader::boolean(const std::string& key) {
  const Json& v = at(key);
  if (!v.is_boolean()) fail(key, "found " + describe_value(v) + ", expected true or false");
  return v.get<bool>();
}

bool ObjectReader::boolean(const std::string& key, bool fallback) {
  if (!has(key)) return fallback;
  return boolean(key);
}

std::string ObjectReader::string(const std::string& key) {
  return json_string(at(key), file_, pointer(key));
}

std::string ObjectReader::string(const std::string& key, const std::string& fallback) {
  if (!has(key)) return fallback;
  return string(key);
}

namespace {
std::string join_quoted(const std::vector<std::string>& items) {
  std::string text;
  for (std::size_t i = 0; i < items.size(); ++i) {
    text += (i == 0 ? "" : ", ") + ("\"" + items[i] + "\"");
  }
  return text;
}
}  // namespace

std::string ObjectReader::choice(const std::string& key, const std::vector<std::string>& allowed) {
  const Json& v = at(key);
  if (v.is_string()) {
    for (const auto& a : allowed) {
      if (v.get<std::string>() == a) return a;
    }
  }
  fail(key, "found " + describe_value(v) + ", expected one of " + join_quoted(allowed));
}

std::string ObjectReader::choice(const std::string& key, const std::string& fallback,
                                 const std::vector<std::string>& allowed) {
  if (!has(key)) return fallback;
  return choice(key, allowed);
}

std::optional<std::string> ObjectReader::nullable_string(const std::string& key) {
  const Json* v = find(key);
  if (v == nullptr || v->is_null()) return std::nullopt;
  if (!v->is_string()) fail(key, "found " + describe_value(*v) + ", expected a string or null");
  return v->get<std::string>();
}

ObjectReader ObjectReader::object(const std::string& key) {
  return ObjectReader(at(key), file_, pointer(key));
}

const Json& ObjectReader::array(const std::string& key) {
  const Json& v = at(key);
  if (!v.is_array()) fail(key, "found " + describe_value(v) + ", expected an array");
  return v;
}

void ObjectReader::finish() const {
  for (auto it = value_.begin(); it != value_.end(); ++it) {
    if (read_.count(it.key()) == 0) {
      fail(it.key(), "unknown key (check its spelling; unknown keys are errors)");
    }
  }
}

}  // namespace lpsim::core
