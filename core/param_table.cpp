#include "core/param_table.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace lpsim::core {
namespace {

std::string integer_text(std::int64_t v) {
  if (v >= (std::int64_t{1} << 20) && (v & (v - 1)) == 0) {
    int k = 0;
    while ((std::int64_t{1} << k) < v) ++k;
    return "2^" + std::to_string(k);
  }
  return std::to_string(v);
}

std::string number_text(double v) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%g", v);
  return buf;
}

}  // namespace

std::string describe_range(std::int64_t min, std::int64_t max) {
  return integer_text(min) + ".." + integer_text(max);
}

std::string describe_range(double min, double max) {
  return "[" + number_text(min) + ", " + number_text(max) + "]";
}

std::string describe_choices(const std::vector<std::string>& names) {
  std::string s;
  for (const auto& n : names) s += (s.empty() ? "`" : ", `") + n + "`";
  return s;
}

std::string describe_default(const Json& value) {
  if (value.is_string()) return "`\"" + value.get<std::string>() + "\"`";
  if (value.is_number_float()) return "`" + number_text(value.get<double>()) + "`";
  if (value.is_object()) {
    // A flat map is shown whole; an object of objects is a table of its own.
    const bool flat = std::none_of(value.begin(), value.end(),
                                   [](const Json& v) { return v.is_object() || v.is_array(); });
    if (!flat || value.empty()) return "an object (its own table)";
  }
  return "`" + value.dump() + "`";
}

}  // namespace lpsim::core
