#pragma once
// A parameter table: every key of a JSON document declared once (pointer, default, what is
// accepted, unit, meaning, where it goes), from which the default document, the strict reader
// and the documentation table are all derived, so they cannot disagree.
//
// Contract: read() visits the document's objects in the table's order, reads each declared key
// with core::ObjectReader (type and range checked, errors naming file and JSON pointer) and
// calls finish() on every object, so an undeclared key is an error. An `optional` parameter
// may be absent (its default then applies, and the default document leaves it out); an object
// whose parameters are all optional may be absent as a whole. default_document() holds every
// non-optional parameter at its default. markdown() is one table row per parameter.

#include <algorithm>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "core/json_reader.h"

namespace lpsim::core {

template <typename Target>
struct Param {
  std::string pointer;  // "/hw/pe/rows"
  Json default_value;   // null for a nullable parameter whose default is null
  std::string accepts;  // for the docs: "1..65536", "`os`, `ws`, `is`", "bool"
  std::string unit;     // "cycles", "B/cycle", "" when it has none
  std::string meaning;
  bool optional = false;
  // Reads `key` of `parent` (present, or the default when optional and absent) into out.
  std::function<void(ObjectReader& parent, const std::string& key, Target& out)> read;
};

// "1..65536"; a power of two from 2^20 up is written 2^k.
std::string describe_range(std::int64_t min, std::int64_t max);
std::string describe_range(double min, double max);
// "`a`, `b`, `c`".
std::string describe_choices(const std::vector<std::string>& names);
// A default as the documentation shows it: a string in backticks, a number as JSON.
std::string describe_default(const Json& value);

template <typename Target>
class ParamTable {
 public:
  explicit ParamTable(std::vector<Param<Target>> params) : params_(std::move(params)) {}

  const std::vector<Param<Target>>& params() const { return params_; }

  Json default_document() const {
    Json doc = Json::object();
    for (const auto& p : params_) {
      if (!p.optional) doc[Json::json_pointer(p.pointer)] = p.default_value;
    }
    return doc;
  }

  void read(const Json& doc, const std::string& file, Target& out) const {
    ObjectReader top(doc, file, "");
    read_object(top, "", out);
    top.finish();
  }

  // Reads the table's parameters from an object the caller opened (a table nested in another
  // document, its pointers relative to that object); the caller finishes `r`.
  void read_fields(ObjectReader& r, Target& out) const { read_object(r, "", out); }

  // | key | accepts | unit | default | meaning |, keys written with dots (hw.pe.rows), after
  // `key_prefix` ("hw.energy." for a nested table).
  std::string markdown(const std::string& key_prefix = "") const {
    std::string s = "| key | accepts | unit | default | meaning |\n|---|---|---|---|---|\n";
    for (const auto& p : params_) {
      std::string key = key_prefix + p.pointer.substr(1);
      for (char& ch : key) {
        if (ch == '/') ch = '.';
      }
      s += "| `" + key + "` | " + p.accepts + " | " + p.unit + " | " +
           (p.optional ? "absent: " : "") + describe_default(p.default_value) + " | " + p.meaning +
           " |\n";
    }
    return s;
  }

 private:
  // Reads the parameters directly under `prefix` ("" or "/hw/pe") and the objects below it,
  // in the order their first parameter is declared.
  void read_object(ObjectReader& r, const std::string& prefix, Target& out) const {
    std::vector<std::string> done;
    for (const auto& p : params_) {
      if (p.pointer.compare(0, prefix.size() + 1, prefix + "/") != 0) continue;
      const std::string rest = p.pointer.substr(prefix.size() + 1);
      const auto slash = rest.find('/');
      if (slash == std::string::npos) {
        if (r.has(rest) || !p.optional) {
          p.read(r, rest, out);
        } else {
          const Json fallback = {{rest, p.default_value}};
          ObjectReader defaults(fallback, r.file(), r.pointer());
          p.read(defaults, rest, out);
        }
        continue;
      }
      const std::string key = rest.substr(0, slash);
      if (std::find(done.begin(), done.end(), key) != done.end()) continue;
      done.push_back(key);
      const std::string child = prefix + "/" + key;
      if (!r.has(key) && all_optional(child)) {
        const Json empty = Json::object();
        ObjectReader sub(empty, r.file(), r.pointer(key));
        read_object(sub, child, out);
        continue;
      }
      ObjectReader sub = r.object(key);
      read_object(sub, child, out);
      sub.finish();
    }
  }

  bool all_optional(const std::string& prefix) const {
    for (const auto& p : params_) {
      if (p.pointer.compare(0, prefix.size() + 1, prefix + "/") == 0 && !p.optional) return false;
    }
    return true;
  }

  std::vector<Param<Target>> params_;
};

// Makers of the common kinds. `set` stores the value read into the target.
template <typename Target>
Param<Target> integer_param(std::string pointer, std::int64_t fallback, std::int64_t min,
                            std::int64_t max, std::string unit, std::string meaning,
                            std::function<void(Target&, std::int64_t)> set) {
  return {std::move(pointer),
          fallback,
          describe_range(min, max),
          std::move(unit),
          std::move(meaning),
          false,
          [=](ObjectReader& r, const std::string& key, Target& out) {
            set(out, r.integer(key, min, max));
          }};
}

// An integer or null (nullopt); its default is null.
template <typename Target>
Param<Target> nullable_integer_param(
    std::string pointer, std::int64_t min, std::int64_t max, std::string unit, std::string meaning,
    std::function<void(Target&, std::optional<std::int64_t>)> set) {
  return {std::move(pointer),
          nullptr,
          describe_range(min, max) + " or null",
          std::move(unit),
          std::move(meaning),
          false,
          [=](ObjectReader& r, const std::string& key, Target& out) {
            if (r.has_value(key)) {
              set(out, r.integer(key, min, max));
            } else {
              r.at(key);
              set(out, std::nullopt);
            }
          }};
}

template <typename Target>
Param<Target> number_param(std::string pointer, double fallback, double min, double max,
                           std::string unit, std::string meaning,
                           std::function<void(Target&, double)> set) {
  return {std::move(pointer),
          fallback,
          describe_range(min, max),
          std::move(unit),
          std::move(meaning),
          false,
          [=](ObjectReader& r, const std::string& key, Target& out) {
            set(out, r.number(key, min, max));
          }};
}

template <typename Target>
Param<Target> boolean_param(std::string pointer, bool fallback, std::string meaning,
                            std::function<void(Target&, bool)> set) {
  return {std::move(pointer),
          fallback,
          "bool",
          "",
          std::move(meaning),
          false,
          [=](ObjectReader& r, const std::string& key, Target& out) { set(out, r.boolean(key)); }};
}

template <typename Target>
Param<Target> string_param(std::string pointer, std::string fallback, std::string accepts,
                           std::string meaning,
                           std::function<void(Target&, const std::string&)> set) {
  return {std::move(pointer),
          std::move(fallback),
          std::move(accepts),
          "",
          std::move(meaning),
          false,
          [=](ObjectReader& r, const std::string& key, Target& out) { set(out, r.string(key)); }};
}

// A string or null (nullopt); its default is null.
template <typename Target>
Param<Target> nullable_string_param(
    std::string pointer, std::string accepts, std::string meaning,
    std::function<void(Target&, const std::optional<std::string>&)> set) {
  return {std::move(pointer),
          nullptr,
          std::move(accepts) + " or null",
          "",
          std::move(meaning),
          false,
          [=](ObjectReader& r, const std::string& key, Target& out) {
            set(out, r.nullable_string(key));
          }};
}

// One of the names `names()` returns (asked when read and documented, so a registry's names
// are always current).
template <typename Target>
Param<Target> choice_param(std::string pointer, std::string fallback,
                           std::function<std::vector<std::string>()> names, std::string meaning,
                           std::function<void(Target&, const std::string&)> set) {
  return {std::move(pointer),
          std::move(fallback),
          describe_choices(names()),
          "",
          std::move(meaning),
          false,
          [=](ObjectReader& r, const std::string& key, Target& out) {
            set(out, r.choice(key, names()));
          }};
}

// Marks a parameter optional (see the contract above).
template <typename Target>
Param<Target> optional(Param<Target> p) {
  p.optional = true;
  return p;
}

}  // namespace lpsim::core
