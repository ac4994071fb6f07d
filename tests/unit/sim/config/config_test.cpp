// Reading a configuration: defaults, a user file merged over them, --set overrides, the checks
// across keys, and every error naming the file and the JSON pointer.
#include "sim/config/config.h"

#include <gtest/gtest.h>

#include <fstream>
#include <string>
#include <tuple>

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

// ARCHITECTURE.md §2c: the optimizer's kind picks its own keys, which get their defaults once
// the kind is known: an sgd document resolves as before AdamW (momentum and no more; absent
// kind), an adamw one shows betas and eps and no momentum.
TEST(Config, TheOptimizerKindFillsInItsOwnKeys) {
  const config::Config sgd = config::load_config("", {});
  EXPECT_EQ(sgd.optimizer.kind, ops::OptimizerKind::kSgd);
  const core::Json& so = sgd.resolved["workload"]["optimizer"];
  EXPECT_EQ(so, core::Json::parse(R"({"lr": 0.01, "momentum": 0.9, "weight_decay": 0.0})"));
  EXPECT_EQ(sgd.optimizer.clip_norm, 0.0);
  EXPECT_EQ(sgd.optimizer.schedule.warmup_minibatches, 0);

  const config::Config adamw = config::load_config(
      "",
      {"/workload/optimizer={\"kind\": \"adamw\", \"lr\": 0.001, \"weight_decay\": 0.1, "
       "\"betas\": [0.8, 0.95], \"clip_norm\": 1.5, \"schedule\": {\"warmup_minibatches\": 7}}"});
  EXPECT_EQ(adamw.optimizer.kind, ops::OptimizerKind::kAdamw);
  EXPECT_EQ(adamw.optimizer.beta1, 0.8);
  EXPECT_EQ(adamw.optimizer.beta2, 0.95);
  EXPECT_EQ(adamw.optimizer.eps, 1e-8);
  EXPECT_EQ(adamw.optimizer.weight_decay, 0.1);
  EXPECT_EQ(adamw.optimizer.clip_norm, 1.5);
  EXPECT_EQ(adamw.optimizer.schedule.warmup_minibatches, 7);
  const core::Json& ao = adamw.resolved["workload"]["optimizer"];
  EXPECT_FALSE(ao.contains("momentum"));
  EXPECT_EQ(ao["eps"], 1e-8);
  EXPECT_EQ(ao["betas"], core::Json::parse("[0.8, 0.95]"));

  // A file that keeps the default optimizer object and names adamw by --set.
  EXPECT_EQ(config::load_config("", {"/workload/optimizer/kind=adamw"}).optimizer.kind,
            ops::OptimizerKind::kAdamw);
  EXPECT_EQ(config::load_config("", {"/workload/optimizer/clip_norm=null"}).optimizer.clip_norm,
            0.0);
}

TEST(Config, RefusesTheKeysOfTheOtherOptimizerKind) {
  core::ConfigError e =
      load_error("", {"/workload/optimizer/kind=adamw", "/workload/optimizer/momentum=0.9"});
  EXPECT_EQ(e.where(), "/workload/optimizer/momentum");
  e = load_error("", {"/workload/optimizer/betas=[0.9, 0.9]"});
  EXPECT_EQ(e.where(), "/workload/optimizer/betas");
  e = load_error("", {"/workload/optimizer/kind=sgd", "/workload/optimizer/eps=1e-6"});
  EXPECT_EQ(e.where(), "/workload/optimizer/eps");
  e = load_error("", {"/workload/optimizer/kind=adamw", "/workload/optimizer/betas=[-0.1, 0.9]"});
  EXPECT_EQ(e.where(), "/workload/optimizer/betas/0");
  e = load_error("", {"/workload/optimizer/kind=adamw", "/workload/optimizer/betas=[0.9]"});
  EXPECT_EQ(e.where(), "/workload/optimizer/betas");
  e = load_error("", {"/workload/optimizer/kind=adamw", "/workload/optimizer/eps=0"});
  EXPECT_EQ(e.where(), "/workload/optimizer/eps");
  e = load_error("", {"/workload/optimizer/kind=adam"});
  EXPECT_EQ(e.where(), "/workload/optimizer/kind");
  e = load_error("", {"/workload/optimizer/kind=adamw", "/pipeline/spike_compensation=true"});
  EXPECT_EQ(e.where(), "/pipeline/spike_compensation");
  // false is what sgd's default is: fine with adamw.
  EXPECT_NO_THROW(config::load_config(
      "", {"/workload/optimizer/kind=adamw", "/pipeline/spike_compensation=false"}));
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

TEST(Config, ReadsTheTokenDataSetKinds) {
  const config::Config tokens = config::load_config(
      "", {"/workload/dataset/kind=tokens", "/workload/dataset/path=data/fortunes_64"});
  EXPECT_EQ(tokens.dataset.kind, "tokens");
  EXPECT_EQ(tokens.dataset.path, "data/fortunes_64");
  // The synthetic keys are optional: absent from the resolved document, their defaults apply.
  EXPECT_FALSE(tokens.resolved["workload"]["dataset"].contains("synthetic_tokens"));
  EXPECT_EQ(tokens.dataset.synthetic_tokens_context, 32);
  EXPECT_EQ(tokens.dataset.synthetic_tokens_vocab, 64);
  const config::Config synthetic = config::load_config(
      "",
      {"/workload/dataset/kind=synthetic_tokens",
       R"(/workload/dataset/synthetic_tokens={"context": 16, "vocab": 256, "train_samples": 100, "test_samples": 10})"});
  EXPECT_EQ(synthetic.dataset.synthetic_tokens_context, 16);
  EXPECT_EQ(synthetic.dataset.synthetic_tokens_vocab, 256);
  EXPECT_EQ(synthetic.dataset.synthetic_tokens_train, 100);
  EXPECT_EQ(synthetic.dataset.synthetic_tokens_test, 10);
}

TEST(Config, RefusesBadSyntheticTokenSetsByPointer) {
  const auto with = [](const std::string& object) {
    return std::vector<std::string>{"/workload/dataset/kind=synthetic_tokens",
                                    "/workload/dataset/synthetic_tokens=" + object};
  };
  for (const auto& [object, pointer, fragment] :
       {std::tuple<std::string, std::string, std::string>{
            R"({"vocab": 1})", "/workload/dataset/synthetic_tokens/vocab", "found 1"},
        {R"({"context": 0})", "/workload/dataset/synthetic_tokens/context", "found 0"},
        {R"({"test_samples": 0})", "/workload/dataset/synthetic_tokens/test_samples", "found 0"},
        {R"({"contxt": 8})", "/workload/dataset/synthetic_tokens/contxt", "unknown key"},
        {R"({"context": 4096, "train_samples": 100000})",
         "/workload/dataset/synthetic_tokens/train_samples", "expected at most 268435456"}}) {
    const core::ConfigError e = load_error("", with(object));
    EXPECT_EQ(e.where(), pointer) << e.what();
    EXPECT_NE(e.problem().find(fragment), std::string::npos) << e.what();
  }
  EXPECT_EQ(load_error("", {"/workload/dataset/kind=text"}).where(), "/workload/dataset/kind");
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
