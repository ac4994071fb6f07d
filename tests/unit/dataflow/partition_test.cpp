// Stage specifications and their faults.

#include "dataflow/partition.h"

#include <gtest/gtest.h>

#include <functional>

#include "core/errors.h"
#include "workloads/models/builtin.h"

namespace lpsim::dataflow {
namespace {

UnitGraph mlp6_units() { return group_units(models::builtin_model("mlp6")); }

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const core::ConfigError& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(Units, Mlp3AttachesReluToItsLinear) {
  const UnitGraph g = group_units(models::builtin_model("mlp3"));
  ASSERT_EQ(g.units.size(), 3u);
  EXPECT_EQ(g.units[0].name, "fc1");
  EXPECT_EQ(g.units[0].attached.size(), 1u);  // relu1
  EXPECT_EQ(g.input_attached.size(), 1u);     // flatten
  EXPECT_EQ(g.loss_inputs, std::vector<int>{2});
}

TEST(StageSpec, ParsesTextForms) {
  EXPECT_EQ(parse_stage_spec("per_layer", "x").kind, StageSpec::Kind::kPerLayer);
  const StageSpec s = parse_stage_spec("2,2,2", "x");
  EXPECT_EQ(s.counts, (std::vector<std::int64_t>{2, 2, 2}));
  EXPECT_THROW(parse_stage_spec("2,,2", "x"), core::ConfigError);
  EXPECT_THROW(parse_stage_spec("2,-1", "x"), core::ConfigError);
  EXPECT_THROW(parse_stage_spec("two", "x"), core::ConfigError);
  EXPECT_THROW(parse_stage_spec("2,", "x"), core::ConfigError);
}

TEST(StageSpec, NamesGiveTheSamePartitionAsCounts) {
  const UnitGraph g = mlp6_units();
  const core::Json names = core::Json::parse(R"([["fc1","fc2"],["fc3","fc4"],["fc5","fc6"]])");
  const Partition a = make_partition(g, parse_stage_spec(names, "c.json", "/pipeline/stages"),
                                     "c.json", "/pipeline/stages");
  const Partition b = make_partition(g, parse_stage_spec("2,2,2", "x"), "x", "");
  EXPECT_EQ(a.stage_of_unit, b.stage_of_unit);
  EXPECT_EQ(a.num_stages, 3);
}

TEST(StageSpec, FaultsNameThePointer) {
  const UnitGraph g = mlp6_units();
  auto names = [&](const char* text) {
    return error_of([&] {
      make_partition(g, parse_stage_spec(core::Json::parse(text), "c.json", "/pipeline/stages"),
                     "c.json", "/pipeline/stages");
    });
  };
  EXPECT_NE(names(R"([["fc1","fc3"],["fc2","fc4","fc5","fc6"]])").find("/pipeline/stages/0/1"),
            std::string::npos);
  EXPECT_NE(names(R"([["fc1","relu1"],["fc2"]])").find("not a parametrised layer"),
            std::string::npos);
  EXPECT_NE(names(R"([["fc1","fc2"]])").find("leave out \"fc3\""), std::string::npos);
  EXPECT_NE(names(R"([2, 2, 3])").find("add up to 7"), std::string::npos);
  EXPECT_NE(names(R"([1,1,1,1,1,1,1])").find("at most one stage per layer"), std::string::npos);
  EXPECT_NE(names(R"([2, 0, 4])").find("/pipeline/stages/1"), std::string::npos);
  EXPECT_NE(names(R"("pipelined")").find("per_layer"), std::string::npos);
}

}  // namespace
}  // namespace lpsim::dataflow
