// The seed groups of a sweep's aggregate, checked by hand on made-up point reports; the
// sweep's retry of a point refused for memory, with a stand-in for `lpsim run`.

#include "sim/sweep/sweep.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <sstream>

namespace lpsim::sweep {
namespace {

// A complete report with the figures the aggregate reads.
core::Json report(int seed, std::int64_t cycles, double accuracy, double train_loss,
                  const core::Json& test_loss) {
  return {{"status", "complete"},
          {"run", {{"seed", seed}}},
          {"summary",
           {{"total_cycles", cycles},
            {"cycles_per_minibatch", cycles / 10.0},
            {"memory_peak_bytes", {{"total", 4096}}},
            {"link_bytes", 0},
            {"energy_per_minibatch_pj", 2.0 * static_cast<double>(cycles)}}},
          {"training",
           {{"final_test_accuracy", accuracy},
            {"final_train_loss", train_loss},
            {"final_test_loss", test_loss}}}};
}

// 2 policies x 3 seeds (the grid's order: /run/seed fastest); of `none`, seeds 2 and 3 failed.
struct Fixture {
  std::vector<Point> points;
  std::vector<PointResult> results;
  Fixture() {
    const char* policies[] = {"stash", "none"};
    for (std::size_t i = 0; i < 6; ++i) {
      Point p;
      p.index = i;
      p.hash = "h" + std::to_string(i);
      p.values = {{"/pipeline/policy", policies[i / 3]}, {"/run/seed", 1 + i % 3}};
      points.push_back(p);
    }
    results.resize(6);
    results[0] = {"ok", 0, "", report(1, 100, 0.5, 1.0, 1.5)};
    results[1] = {"ok", 0, "", report(2, 200, 0.6, 2.0, 2.5)};
    results[2] = {"skipped", 0, "", report(3, 600, 0.7, 3.0, nullptr)};  // diverged test loss
    results[3] = {"ok", 0, "", report(1, 50, 0.25, 0.5, 0.75)};
    results[4] = {"failed", 2, "bad", core::Json()};
    results[5] = {"failed", 130, "interrupted", core::Json()};
  }
};

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

TEST(SweepSeedGroups, GroupStatisticsMatchTheHandComputedOnes) {
  const Fixture f;
  const core::Json groups = group_points(f.points, f.results);
  ASSERT_EQ(groups.size(), 2u);
  const core::Json& stash = groups[0];
  EXPECT_EQ(stash.at("values"), core::Json({{"/pipeline/policy", "stash"}}));
  EXPECT_EQ(stash.at("points"), core::Json({0, 1, 2}));
  EXPECT_EQ(stash.at("seeds"), core::Json({1, 2, 3}));
  EXPECT_EQ(stash.at("n"), 3);
  EXPECT_EQ(stash.at("left_out"), 0);
  // cycles 100, 200, 600: mean 300, sd sqrt((200^2 + 100^2 + 300^2) / 2) = sqrt(70000).
  const core::Json& cycles = stash.at("figures").at("total_cycles");
  EXPECT_EQ(cycles.at("count"), 3);
  EXPECT_DOUBLE_EQ(cycles.at("mean").get<double>(), 300.0);
  EXPECT_NEAR(cycles.at("sd").get<double>(), std::sqrt(70000.0), 1e-9);
  EXPECT_EQ(cycles.at("min"), 100);
  EXPECT_EQ(cycles.at("max"), 600);
  // accuracy 0.5, 0.6, 0.7: mean 0.6, sd 0.1.
  const core::Json& accuracy = stash.at("figures").at("final_test_accuracy");
  EXPECT_NEAR(accuracy.at("mean").get<double>(), 0.6, 1e-12);
  EXPECT_NEAR(accuracy.at("sd").get<double>(), 0.1, 1e-12);
  EXPECT_DOUBLE_EQ(accuracy.at("min").get<double>(), 0.5);
  EXPECT_DOUBLE_EQ(accuracy.at("max").get<double>(), 0.7);
  // train loss 1, 2, 3: mean 2, sd 1; the test loss is null at seed 3, so it counts 2 seeds.
  const core::Json& train = stash.at("figures").at("final_train_loss");
  EXPECT_DOUBLE_EQ(train.at("mean").get<double>(), 2.0);
  EXPECT_DOUBLE_EQ(train.at("sd").get<double>(), 1.0);
  const core::Json& test = stash.at("figures").at("final_test_loss");
  EXPECT_EQ(test.at("count"), 2);
  EXPECT_DOUBLE_EQ(test.at("mean").get<double>(), 2.0);
  EXPECT_NEAR(test.at("sd").get<double>(), std::sqrt(0.5), 1e-12);
  EXPECT_EQ(stash.at("figures").at("memory_total_bytes").at("sd"), 0.0);

  // `none`: one complete seed (sd null), the failed and the interrupted point left out.
  const core::Json& none = groups[1];
  EXPECT_EQ(none.at("seeds"), core::Json({1}));
  EXPECT_EQ(none.at("n"), 1);
  EXPECT_EQ(none.at("left_out"), 2);
  EXPECT_EQ(none.at("left_out_points"), core::Json({4, 5}));
  const core::Json& one = none.at("figures").at("final_test_accuracy");
  EXPECT_EQ(one.at("count"), 1);
  EXPECT_DOUBLE_EQ(one.at("mean").get<double>(), 0.25);
  EXPECT_TRUE(one.at("sd").is_null());
  EXPECT_DOUBLE_EQ(one.at("min").get<double>(), 0.25);
  EXPECT_DOUBLE_EQ(one.at("max").get<double>(), 0.25);
}

TEST(SweepSeedGroups, AggregateWritesTheGroupsAndTheLosses) {
  const Fixture f;
  const std::string dir = ::testing::TempDir() + "/lpsim_groups_" + std::to_string(::getpid());
  std::system(("rm -rf " + dir).c_str());
  write_aggregate(dir, "base.json", "grid.json", f.points, f.results);
  const std::string csv = slurp(dir + "/sweep.csv");
  EXPECT_EQ(csv.substr(0, csv.find('\n')),
            "index,hash,/pipeline/policy,/run/seed,status,total_cycles,cycles_per_minibatch,"
            "memory_total_bytes,link_bytes,energy_per_minibatch_pj,final_test_accuracy,"
            "final_train_loss,final_test_loss");
  EXPECT_NE(csv.find("\n0,h0,stash,1,ok,100,10.0,4096,0,200.0,0.5,1.0,1.5\n"), std::string::npos)
      << csv;
  EXPECT_NE(csv.find("\n2,h2,stash,3,ok,600,60.0,4096,0,1200.0,0.7,3.0,\n"), std::string::npos)
      << csv;
  EXPECT_NE(csv.find("\n4,h4,none,2,failed,,,,,,,,\n"), std::string::npos) << csv;
  const std::string groups = slurp(dir + "/sweep_groups.csv");
  EXPECT_EQ(groups.rfind("group,/pipeline/policy,seeds,n,left_out,total_cycles_mean,"
                         "total_cycles_sd,total_cycles_min,total_cycles_max,"
                         "cycles_per_minibatch_mean,",
                         0),
            0u)
      << groups;
  EXPECT_NE(groups.find("\n0,stash,1;2;3,3,0,300.0,264.575"), std::string::npos) << groups;
  EXPECT_NE(groups.find("\n1,none,1,1,2,50.0,,50,50,"), std::string::npos) << groups;
  EXPECT_EQ(std::count(groups.begin(), groups.end(), '\n'), 3);
  const core::Json doc = core::parse_json_file(dir + "/sweep.json");
  EXPECT_EQ(doc.at("groups"), group_points(f.points, f.results));
  EXPECT_EQ(doc.at("points")[0].at("final_train_loss"), 1.0);
  EXPECT_TRUE(doc.at("points")[4].at("final_test_loss").is_null());
}

// A stand-in for `lpsim run` (argv: run -q --out DIR --set /kind=K): kind 0 succeeds at once;
// kind 1 runs 1 s; kind 2 is refused for memory (exit 4) when another point is running 0.3 s
// after it starts; kind 3 is always refused. Each writes a complete report when it succeeds.
std::string fake_lpsim(const std::string& dir) {
  const std::string script = dir + "/fake_lpsim";
  std::ofstream(script)
      << "#!/bin/sh\n"
      << "running=" << dir << "/running\n"
      << "mkdir -p \"$running\"; touch \"$running/$$\"\n"
      << "case \"$*\" in\n"
      << "  */kind=0*) ;;\n"
      << "  */kind=1*) sleep 1 ;;\n"
      << "  */kind=2*) sleep 0.3\n"
      << "    if [ \"$(ls \"$running\" | wc -l)\" -gt 1 ]; then\n"
      << "      rm \"$running/$$\"; echo 'needs an estimated' >&2; exit 4; fi ;;\n"
      << "  *) rm \"$running/$$\"; exit 4 ;;\n"
      << "esac\n"
      << "echo '{\"status\": \"complete\", \"summary\": {\"total_cycles\": 7}, "
         "\"training\": {\"final_test_accuracy\": 0.5}}' > \"$4/report.json\"\n"
      << "rm \"$running/$$\"\n";
  std::system(("chmod +x " + script).c_str());
  return script;
}

TEST(SweepRetry, APointRefusedForMemoryBesideOthersRunsAgainAloneAndOnlyOnce) {
  const std::string dir = ::testing::TempDir() + "/lpsim_sweep_retry_" + std::to_string(getpid());
  std::system(("rm -rf " + dir + " && mkdir -p " + dir).c_str());
  const int kinds[] = {1, 2, 1, 3};
  std::vector<Point> points;
  for (std::size_t i = 0; i < 4; ++i) {
    Point p;
    p.index = i;
    p.hash = "p" + std::to_string(i);
    p.overrides = {"/kind=" + std::to_string(kinds[i])};
    points.push_back(p);
  }
  const Launch launch{fake_lpsim(dir), "", {}, dir + "/out", 0};
  const std::vector<PointResult> r = run_points(launch, points, 2, true);
  ASSERT_EQ(r.size(), 4u);
  // Point 1 started beside point 0 and was refused; alone, it ran (it would have been refused
  // again had point 2 started beside it).
  EXPECT_EQ(r[1].status, "ok") << r[1].error;
  EXPECT_TRUE(r[1].retried_alone);
  EXPECT_EQ(r[0].status, "ok");
  EXPECT_FALSE(r[0].retried_alone);
  EXPECT_EQ(r[2].status, "ok");
  EXPECT_FALSE(r[2].retried_alone);
  // Point 3 is refused alone too: it has failed, with the refusal's exit code, and is not
  // tried a third time.
  EXPECT_EQ(r[3].status, "failed");
  EXPECT_EQ(r[3].exit_code, 4);
  EXPECT_TRUE(r[3].retried_alone);
  // At -j 1 every point starts alone: a refusal is final at once.
  std::system(("rm -rf " + dir + "/out").c_str());
  Point always_refused = points[3];
  always_refused.index = 0;
  const std::vector<PointResult> serial = run_points(launch, {always_refused}, 1, true);
  EXPECT_EQ(serial[0].status, "failed");
  EXPECT_FALSE(serial[0].retried_alone);
  std::system(("rm -rf " + dir).c_str());
}

// The aggregate is rewritten as each point finishes: run_points reports the results so far
// before the first point and after each one, and write_aggregate marks the points not yet run
// "pending" (left out of their group's statistics).
TEST(SweepProgress, TheAggregateIsWrittenAfterEachPointWithThePendingOnesMarked) {
  const std::string dir =
      ::testing::TempDir() + "/lpsim_sweep_progress_" + std::to_string(getpid());
  std::system(("rm -rf " + dir + " && mkdir -p " + dir).c_str());
  std::vector<Point> points;
  for (std::size_t i = 0; i < 2; ++i) {
    Point p;
    p.index = i;
    p.hash = "q" + std::to_string(i);
    p.values = {{"/run/seed", static_cast<int>(i) + 1}};
    p.overrides = {"/kind=0", "/run/seed=" + std::to_string(i + 1)};
    points.push_back(p);
  }
  const Launch launch{fake_lpsim(dir), "", {}, dir + "/out", 0};
  std::vector<std::vector<std::string>> seen;
  const auto results = run_points(launch, points, 1, true, [&](const auto& so_far) {
    seen.push_back({so_far[0].status, so_far[1].status});
    write_aggregate(dir + "/out", "base.json", "grid.json", points, so_far);
    if (seen.size() == 2) {
      const core::Json mid = core::parse_json_file(dir + "/out/sweep.json");
      EXPECT_EQ(mid.at("points")[0].at("status"), "ok");
      EXPECT_EQ(mid.at("points")[1].at("status"), "pending");
      EXPECT_EQ(mid.at("groups")[0].at("n"), 1);
      EXPECT_EQ(mid.at("groups")[0].at("left_out_points"), core::Json::array({1}));
      const std::string csv = slurp(dir + "/out/sweep.csv");
      EXPECT_NE(csv.find("\n1,q1,2,pending,"), std::string::npos) << csv;
    }
  });
  const std::vector<std::vector<std::string>> expected = {{"", ""}, {"ok", ""}, {"ok", "ok"}};
  EXPECT_EQ(seen, expected);
  EXPECT_EQ(results[1].status, "ok");
  std::system(("rm -rf " + dir).c_str());
}

}  // namespace
}  // namespace lpsim::sweep
