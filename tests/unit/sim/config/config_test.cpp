// Reading a configuration: defaults, a user file merged over them, --set overrides, the checks
// across keys, and every error naming the file and the JSON pointer.
#include "sim/config/config.h"

#include <gtest/gtest.h>

#include <fstream>
#include <string>

#include "core/errors.h"

namespace lpsim {
namespace {

core::ConfigError load_error(const std::string& path, const std::vector<std::string>& sets) {
  try {
    config::load_config(path, sets);
  } catch (const core::ConfigError& e) {
    return e;
  }
  ADD_FAILURE() << "no core::ConfigError";
  return core::ConfigError("", "", "");
}

TEST(Config, DefaultsAreTheParameterTables) {
  const config::Config c = config::load_config("", {});
  EXPECT_EQ(c.source, "(defaults)");
  EXPECT_EQ(c.resolved, config::default_document());
  EXPECT_EQ(c.model, "mlp3");
  EXPECT_EQ(c.batch_size, 32);
  EXPECT_EQ(c.policy->name, "ema_grad");
  EXPECT_EQ(c.hw.pe_dataflow, hw::Dataflow::kOutputStationary);
  EXPECT_EQ(c.backward_split, dataflow::BackwardSplit::kFused);
  EXPECT_EQ(c.hw.sram_placement.size(), 7u);
  EXPECT_FALSE(c.processors.has_value());
  EXPECT_EQ(c.time_steps, 0);
}

TEST(Config, FileMergesOverDefaultsAndSetOverridesBoth) {
  const std::string path = ::testing::TempDir() + "/config_test_merge.json";
  std::ofstream(path) << R"({"workload": {"batch_size": 8, "optimizer": {"lr": 0.5}},
                             "hw": {"pe": {"dataflow": "ws"}}})";
  const config::Config c =
      config::load_config(path, {"/workload/batch_size=16", "/pipeline/backward_split=intra+inter",
                                 "/pipeline/processors=3"});
  EXPECT_EQ(c.batch_size, 16);           // --set wins over the file
  EXPECT_EQ(c.optimizer.lr, 0.5);        // the file wins over the default
  EXPECT_EQ(c.optimizer.momentum, 0.9);  // a sibling keeps its default
  EXPECT_EQ(c.hw.pe_dataflow, hw::Dataflow::kWeightStationary);
  EXPECT_EQ(c.backward_split, dataflow::BackwardSplit::kIntraInter);
  EXPECT_EQ(c.processors, 3);
  EXPECT_EQ(c.resolved["workload"]["batch_size"], 16);
}

TEST(Config, ReadsEveryLearningRateScheduleKind) {
  using Kind = reference::LrSchedule::Kind;
  EXPECT_EQ(config::load_config("", {}).optimizer.schedule.kind, Kind::kConstant);
  const auto kind_of = [](const std::string& k) {
    return config::load_config(
               "", {"/workload/optimizer/schedule={\"kind\": \"" + k + "\", \"gamma\": 0.5}"})
        .optimizer.schedule;
  };
  EXPECT_EQ(kind_of("constant").kind, Kind::kConstant);
  EXPECT_EQ(kind_of("step").kind, Kind::kStep);
  EXPECT_EQ(kind_of("cosine").kind, Kind::kCosine);
  EXPECT_EQ(kind_of("step").gamma, 0.5);
  EXPECT_EQ(kind_of("step").step_epochs, 1);  // absent: the table's default
}

TEST(Config, ErrorsNameTheFileAndThePointer) {
  const std::string path = ::testing::TempDir() + "/config_test_bad.json";
  std::ofstream(path) << R"({"hw": {"dram": {"chanels": 2}}})";
  core::ConfigError e = load_error(path, {});
  EXPECT_EQ(e.file(), path);
  EXPECT_EQ(e.where(), "/hw/dram/chanels");

  e = load_error("", {"/pipeline/policy=stashh"});
  EXPECT_EQ(e.where(), "/pipeline/policy");
  EXPECT_NE(e.problem().find("stash"), std::string::npos) << e.problem();

  e = load_error("", {"/hw/sram/placement=[\"weights\", \"weights\"]"});
  EXPECT_EQ(e.where(), "/hw/sram/placement/1");

  // time_steps applies only to a built-in spiking model.
  e = load_error("", {"/workload/time_steps=4"});
  EXPECT_EQ(e.where(), "/workload/time_steps");
  EXPECT_EQ(config::load_config("", {"/workload/model=snn3", "/workload/time_steps=4"}).time_steps,
            4);

  e = load_error("", {"/nothing/here=1"});
  EXPECT_EQ(e.file(), "--set");
}

TEST(Config, PipeDreamNamesTheKeyItCannotRunWith) {
  const std::vector<std::string> base = {"/pipeline/scheduler=pipedream", "/pipeline/processors=4"};
  const auto with = [&](const std::string& set) {
    std::vector<std::string> sets = base;
    sets.push_back(set);
    return sets;
  };
  EXPECT_EQ(config::load_config("", base).scheduler, dataflow::Scheduler::kPipeDream);
  EXPECT_EQ(load_error("", {"/pipeline/scheduler=pipedream"}).where(), "/pipeline/processors");
  EXPECT_EQ(load_error("", with("/pipeline/backward_split=intra")).where(),
            "/pipeline/backward_split");
  EXPECT_EQ(load_error("", with("/pipeline/stages=\"2,1\"")).where(), "/pipeline/stages");
  const core::ConfigError e = load_error("", with("/pipeline/policy=sync"));
  EXPECT_EQ(e.where(), "/pipeline/policy");
  EXPECT_NE(e.problem().find("one stage"), std::string::npos) << e.problem();
  EXPECT_EQ(load_error("", {"/pipeline/scheduler=gpipe"}).where(), "/pipeline/scheduler");
}

TEST(Config, HashIgnoresThreadsOnly) {
  const core::Json a = config::load_config("", {}).resolved;
  const core::Json b = config::load_config("", {"/run/threads=3"}).resolved;
  const core::Json c = config::load_config("", {"/run/seed=2"}).resolved;
  EXPECT_EQ(config::config_hash(a), config::config_hash(b));
  EXPECT_NE(config::config_hash(a), config::config_hash(c));
}

}  // namespace
}  // namespace lpsim
