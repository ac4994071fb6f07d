// Strict JSON reading (core/json_reader.h): every error names the file, the JSON pointer,
// the value found and what was allowed; unread keys are errors.
#include "core/json_reader.h"

#include <gtest/gtest.h>

#include <fstream>
#include <string>

#include "core/errors.h"

namespace lpsim {
namespace {

// The core::ConfigError `call` throws (fails the test when it throws none).
template <typename F>
core::ConfigError error_of(F&& call) {
  try {
    call();
  } catch (const core::ConfigError& e) {
    return e;
  }
  ADD_FAILURE() << "no core::ConfigError";
  return core::ConfigError("", "", "");
}

TEST(JsonReader, ReadsTypedValuesWithinTheirRanges) {
  const core::Json doc =
      core::Json::parse(R"({"n": 8, "x": 0.5, "b": true, "s": "os", "o": {"k": 1},
                                   "a": [1, 2], "z": null})");
  core::ObjectReader r(doc, "cfg.json", "");
  EXPECT_EQ(r.integer("n", 1, 16), 8);
  EXPECT_DOUBLE_EQ(r.number("x", 0.0, 1.0), 0.5);
  EXPECT_TRUE(r.boolean("b"));
  EXPECT_EQ(r.choice("s", {"os", "ws", "is"}), "os");
  core::ObjectReader o = r.object("o");
  EXPECT_EQ(o.integer("k", 0, 1), 1);
  o.finish();
  EXPECT_EQ(r.array("a").size(), 2u);
  EXPECT_FALSE(r.nullable_string("z").has_value());
  // Fallbacks for absent keys, which stay unread.
  EXPECT_EQ(r.integer("missing", 3, 0, 10), 3);
  EXPECT_EQ(r.string("missing_s", "dflt"), "dflt");
  EXPECT_FALSE(r.has("missing"));
  EXPECT_TRUE(r.has("z"));
  EXPECT_FALSE(r.has_value("z"));
  r.finish();  // every key was read
}

TEST(JsonReader, ErrorsNameTheFilePointerValueAndExpectation) {
  const core::Json doc =
      core::Json::parse(R"({"hw": {"rows": 0, "df": "xs", "lr": "fast", "f": 1.5}})");
  core::ObjectReader top(doc, "cfg.json", "");
  core::ObjectReader hw = top.object("hw");
  const core::ConfigError range = error_of([&] { hw.integer("rows", 1, 65536); });
  EXPECT_EQ(range.file(), "cfg.json");
  EXPECT_EQ(range.where(), "/hw/rows");
  EXPECT_NE(range.problem().find("0"), std::string::npos) << range.problem();
  EXPECT_NE(range.problem().find("65536"), std::string::npos) << range.problem();
  const core::ConfigError choice = error_of([&] { hw.choice("df", {"os", "ws", "is"}); });
  EXPECT_EQ(choice.where(), "/hw/df");
  EXPECT_NE(choice.problem().find("\"xs\""), std::string::npos) << choice.problem();
  EXPECT_NE(choice.problem().find("ws"), std::string::npos) << choice.problem();
  const core::ConfigError type = error_of([&] { hw.number("lr", 0.0, 1.0); });
  EXPECT_EQ(type.where(), "/hw/lr");
  EXPECT_NE(type.problem().find("\"fast\""), std::string::npos) << type.problem();
  const core::ConfigError fraction =
      error_of([&] { hw.integer("f", 0, 10); });  // 1.5 is no integer
  EXPECT_EQ(fraction.where(), "/hw/f");
  const core::ConfigError missing = error_of([&] { hw.boolean("absent"); });
  EXPECT_EQ(missing.where(), "/hw/absent");
}

TEST(JsonReader, FinishRejectsEveryKeyNobodyRead) {
  const core::Json doc = core::Json::parse(R"({"batch_size": 32, "batch_szie": 64})");
  core::ObjectReader r(doc, "cfg.json", "/workload");
  EXPECT_EQ(r.integer("batch_size", 1, 1024), 32);
  const core::ConfigError e = error_of([&] { r.finish(); });
  EXPECT_EQ(e.where(), "/workload/batch_szie");
  EXPECT_NE(std::string(e.what()).find("cfg.json"), std::string::npos) << e.what();
}

TEST(JsonReader, NotAnObjectIsAnError) {
  const core::Json doc = core::Json::parse("[1, 2]");
  const core::ConfigError e = error_of([&] { core::ObjectReader r(doc, "net.json", "/layers"); });
  EXPECT_EQ(e.file(), "net.json");
  EXPECT_EQ(e.where(), "/layers");
}

TEST(JsonReader, PointersEscapeTildeAndSlash) {
  EXPECT_EQ(core::pointer_append("/a", "b/c~d"), "/a/b~1c~0d");
  EXPECT_EQ(core::pointer_append("", std::size_t{3}), "/3");
}

TEST(JsonReader, SyntaxErrorsNameTheFileLineAndColumn) {
  const std::string path = ::testing::TempDir() + "/json_reader_bad.json";
  {
    std::ofstream out(path);
    out << "{\n  \"a\": 1,\n  \"b\": }\n";
  }
  try {
    core::parse_json_file(path);
    ADD_FAILURE() << "no error";
  } catch (const core::UserError& e) {
    EXPECT_EQ(e.file(), path);
    EXPECT_NE(std::string(e.what()).find("line 3"), std::string::npos) << e.what();
  }
  try {
    core::parse_json_text("{\"a\": [1, 2", "--set /a");
    ADD_FAILURE() << "no error";
  } catch (const core::UserError& e) {
    EXPECT_NE(std::string(e.what()).find("--set /a"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace lpsim
