// The parameter table (core/param_table.h): one declaration gives the default document, the
// strict reader and the documentation row.
#include "core/param_table.h"

#include <gtest/gtest.h>

#include <string>

#include "core/errors.h"

namespace lpsim {
namespace {

struct Target {
  std::int64_t rows = -1;
  double rate = -1.0;
  bool on = false;
  std::string mode;
  std::optional<std::int64_t> count = -7;
  std::int64_t extra = -1;
};

const core::ParamTable<Target>& table() {
  static const core::ParamTable<Target> t({
      core::integer_param<Target>("/pe/rows", 32, 1, 1 << 20, "MACs", "array rows",
                                  [](Target& x, std::int64_t v) { x.rows = v; }),
      core::number_param<Target>("/pe/rate", 0.5, 0.0, 1.0, "", "a rate",
                                 [](Target& x, double v) { x.rate = v; }),
      core::boolean_param<Target>("/on", true, "switch", [](Target& x, bool v) { x.on = v; }),
      core::choice_param<Target>(
          "/mode", "os",
          [] {
            return std::vector<std::string>{"os", "ws"};
          },
          "dataflow", [](Target& x, const std::string& v) { x.mode = v; }),
      core::nullable_integer_param<Target>(
          "/count", 1, 9, "", "or null",
          [](Target& x, std::optional<std::int64_t> v) { x.count = v; }),
      core::optional(core::integer_param<Target>("/opt/extra", 5, 0, 10, "", "optional",
                                                 [](Target& x, std::int64_t v) { x.extra = v; })),
  });
  return t;
}

core::ConfigError read_error(const core::Json& doc) {
  Target t;
  try {
    table().read(doc, "cfg.json", t);
  } catch (const core::ConfigError& e) {
    return e;
  }
  ADD_FAILURE() << "no core::ConfigError for " << doc.dump();
  return core::ConfigError("", "", "");
}

TEST(ParamTable, DefaultDocumentHoldsEveryRequiredDefault) {
  const core::Json doc = table().default_document();
  EXPECT_EQ(doc, core::Json::parse(
                     R"({"pe": {"rows": 32, "rate": 0.5}, "on": true, "mode": "os",
                         "count": null})"));
}

TEST(ParamTable, ReadsTheDefaultsAndAppliesAbsentOptionalOnes) {
  Target t;
  table().read(table().default_document(), "cfg.json", t);
  EXPECT_EQ(t.rows, 32);
  EXPECT_EQ(t.rate, 0.5);
  EXPECT_TRUE(t.on);
  EXPECT_EQ(t.mode, "os");
  EXPECT_FALSE(t.count.has_value());
  EXPECT_EQ(t.extra, 5);  // /opt absent as a whole: its default
}

TEST(ParamTable, ReadsGivenValues) {
  core::Json doc = table().default_document();
  doc["pe"]["rows"] = 7;
  doc["count"] = 3;
  doc["opt"] = {{"extra", 9}};
  Target t;
  table().read(doc, "cfg.json", t);
  EXPECT_EQ(t.rows, 7);
  EXPECT_EQ(t.count, 3);
  EXPECT_EQ(t.extra, 9);
}

TEST(ParamTable, RejectsUnknownKeysWrongValuesAndMissingRequiredOnes) {
  core::Json doc = table().default_document();
  doc["pe"]["colz"] = 1;
  core::ConfigError e = read_error(doc);
  EXPECT_EQ(e.file(), "cfg.json");
  EXPECT_EQ(e.where(), "/pe/colz");

  doc = table().default_document();
  doc["pe"]["rows"] = 0;
  e = read_error(doc);
  EXPECT_EQ(e.where(), "/pe/rows");
  EXPECT_NE(e.problem().find("found 0"), std::string::npos) << e.problem();

  doc = table().default_document();
  doc["mode"] = "xs";
  EXPECT_EQ(read_error(doc).where(), "/mode");

  doc = table().default_document();
  doc["opt"] = {{"extra", 11}};
  EXPECT_EQ(read_error(doc).where(), "/opt/extra");

  doc = table().default_document();
  doc.erase("on");
  EXPECT_EQ(read_error(doc).where(), "/on");
}

TEST(ParamTable, MarkdownHasOneRowPerParameter) {
  const std::string md = table().markdown();
  EXPECT_NE(md.find("| `pe.rows` | 1..2^20 | MACs | `32` | array rows |"), std::string::npos) << md;
  EXPECT_NE(md.find("| `mode` | `os`, `ws` |  | `\"os\"` | dataflow |"), std::string::npos) << md;
  EXPECT_NE(md.find("| `count` | 1..9 or null |  | `null` | or null |"), std::string::npos) << md;
  EXPECT_NE(md.find("| `opt.extra` | 0..10 |  | absent: `5` | optional |"), std::string::npos)
      << md;
  std::size_t rows = 0;
  for (char ch : md) rows += ch == '\n';
  EXPECT_EQ(rows, 2 + table().params().size());
}

TEST(ParamTable, NestedTableReadsFromTheObjectItIsGivenAndPrefixesItsKeys) {
  // A table read from inside another document: pointers relative to the object the caller
  // opened, errors at the full pointer, keys documented under the caller's prefix.
  const core::Json outer = {{"hw", {{"unit", table().default_document()}}}};
  core::ObjectReader top(outer, "cfg.json", "");
  core::ObjectReader hw = top.object("hw");
  core::ObjectReader unit = hw.object("unit");
  Target t;
  table().read_fields(unit, t);
  unit.finish();
  EXPECT_EQ(t.rows, 32);
  EXPECT_EQ(t.extra, 5);
  core::Json bad = outer;
  bad["hw"]["unit"]["pe"]["rows"] = 0;
  core::ObjectReader top2(bad, "cfg.json", "");
  core::ObjectReader hw2 = top2.object("hw");
  core::ObjectReader unit2 = hw2.object("unit");
  try {
    table().read_fields(unit2, t);
    ADD_FAILURE() << "rows = 0 accepted";
  } catch (const core::ConfigError& e) {
    EXPECT_EQ(e.where(), "/hw/unit/pe/rows");
  }
  EXPECT_NE(table().markdown("hw.unit.").find("| `hw.unit.pe.rows` |"), std::string::npos);
}

TEST(ParamTable, DefaultsAreShownWholeUnlessTheyAreTablesOfTheirOwn) {
  EXPECT_EQ(core::describe_default(core::Json{{"fp32", 4.6}, {"int8", 0.23}}),
            "`{\"fp32\":4.6,\"int8\":0.23}`");
  EXPECT_EQ(core::describe_default(core::Json{{"a", {{"b", 1}}}}), "an object (its own table)");
  EXPECT_EQ(core::describe_default(core::Json::parse("[1, 2]")), "`[1,2]`");
  EXPECT_EQ(core::describe_default(core::Json("x")), "`\"x\"`");
}

}  // namespace
}  // namespace lpsim
