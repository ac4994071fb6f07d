// The lpsim command line end to end: every bad input of tests/bad_inputs/cases.json exits
// 2 (4 when refused for memory) with its message fragment, and good runs exit 0 with well-formed
// output.

#include <fcntl.h>
#include <gtest/gtest.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "core/json_reader.h"
#include "tests/sanitizer.h"
#include "workloads/data/npy.h"

extern char** environ;

namespace lpsim {
namespace {

struct Result {
  int exit_code = -1;
  std::string out;
  std::string err;
};

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string shell_quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

Result run_lpsim(const std::vector<std::string>& args) {
  const std::string dir = ::testing::TempDir();
  // Per process: ctest runs the cases of this file in parallel.
  const std::string tag = std::to_string(::getpid());
  const std::string out = dir + "/lpsim_cli_out_" + tag + ".txt";
  const std::string err = dir + "/lpsim_cli_err_" + tag + ".txt";
  // The timeout only guards against a hang: generous, since ASan on a slow machine is slow.
  std::string cmd = "timeout 900 " + shell_quote(std::string(LPSIM_BINARY_DIR) + "/lpsim");
  for (const auto& a : args) cmd += " " + shell_quote(a);
  cmd += " >" + out + " 2>" + err + " </dev/null";
  const int status = std::system(cmd.c_str());
  Result r;
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  r.out = slurp(out);
  r.err = slurp(err);
  return r;
}

TEST(BadInputs, EveryCaseExitsWithItsCodeAndMessage) {
  const std::string dir = std::string(LPSIM_SOURCE_DIR) + "/tests/bad_inputs";
  const core::Json cases = core::parse_json_file(dir + "/cases.json");
  ASSERT_GE(cases.at("cases").size(), 50u);
  std::system("rm -rf /tmp/lpsim_bad_input_should_not_exist");
  for (const auto& c : cases.at("cases")) {
    std::vector<std::string> args;
    for (const auto& a : c.at("args")) {
      const std::string s = a.get<std::string>();
      const std::string file =
          c.at("file").is_null() ? "" : dir + "/" + c.at("file").get<std::string>();
      const auto at = s.find('@');
      args.push_back(at == std::string::npos ? s : s.substr(0, at) + file + s.substr(at + 1));
    }
    const Result r = run_lpsim(args);
    const std::string fragment = c.at("fragment").get<std::string>();
    // 2 (bad input) unless the case says otherwise: 4 for a run refused for memory.
    EXPECT_EQ(r.exit_code, c.value("exit", 2)) << c.dump() << "\nstderr: " << r.err;
    EXPECT_NE(r.err.find(fragment), std::string::npos) << c.dump() << "\nstderr: " << r.err;
    if (!c.at("file").is_null()) {
      // The file at fault: the case's own, unless it points to another ("names").
      const std::string named = c.value("names", c.at("file").get<std::string>());
      EXPECT_NE(r.err.find(named), std::string::npos)
          << "the message must name the file: " << r.err;
    }
    EXPECT_TRUE(r.out.empty()) << "no half-written output on stdout: " << r.out;
  }
  // No case may have created its output directory.
  EXPECT_NE(std::system("test -e /tmp/lpsim_bad_input_should_not_exist"), 0);
}

TEST(PoliciesCommand, ListsTheRegistryAndItsStabilityBounds) {
  const Result names = run_lpsim({"policies", "--names"});
  ASSERT_EQ(names.exit_code, 0) << names.err;
  EXPECT_NE(names.out.find("ema_lwp\n"), std::string::npos);
  const Result r = run_lpsim({"policies", "--stability", "--json", "--delays", "2,4"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::map<std::string, core::Json> by_name;
  for (const auto& p : core::Json::parse(r.out)) by_name[p.at("name").get<std::string>()] = p;
  EXPECT_FALSE(by_name.at("sync").contains("stability"));  // one stage: no delay
  const core::Json& none = by_name.at("none");
  EXPECT_EQ(none.at("forward_rule"), "current");
  ASSERT_EQ(none.at("stability").size(), 2u);
  EXPECT_EQ(none.at("stability")[0].at("delay"), 2);
  // stability_test.cpp's value: the plain delayed rule at mu = 0.9, d = 2.
  EXPECT_NEAR(none.at("stability")[0].at("max_lr_curvature").get<double>(), 0.0512492, 1e-6);
  const core::Json& at4 = none.at("stability")[1];
  EXPECT_GT(at4.at("max_lr_curvature_spike").get<double>(),
            at4.at("max_lr_curvature").get<double>());
  EXPECT_EQ(by_name.at("lwp").at("forward_rule"), "momentum_prediction");
  EXPECT_GT(by_name.at("lwp").at("stability")[1].at("max_lr_curvature").get<double>(),
            at4.at("max_lr_curvature").get<double>());
  const Result text = run_lpsim({"policies", "--stability", "--momentum", "0.5"});
  ASSERT_EQ(text.exit_code, 0) << text.err;
  EXPECT_NE(text.out.find("momentum 0.5"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("d = 10"), std::string::npos) << text.out;
}

TEST(GraphCommand, PrintsTheRetimedGraphAsJson) {
  const Result r = run_lpsim({"graph", "--model", "mlp6", "--stages", "2,2,2"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const core::Json j = core::Json::parse(r.out);
  std::vector<std::int64_t> delays;
  for (const auto& l : j.at("layers")) delays.push_back(l.at("delay").get<std::int64_t>());
  EXPECT_EQ(delays, (std::vector<std::int64_t>{4, 4, 2, 2, 0, 0}));
  EXPECT_GT(j.at("iteration_bound").get<double>(), 0.0);
  EXPECT_FALSE(j.at("edges").empty());
  for (const auto& e : j.at("edges")) EXPECT_GE(e.at("delay").get<std::int64_t>(), 0);
}

// A GPT's graph and schedule: every layer but the embeddings (whose Ba reads no weights) gets
// a stashed version under stash; the attention's products are GEMMs of its F node.
TEST(GraphCommand, GptTinyUnderStash) {
  const Result r = run_lpsim(
      {"graph", "--model", "gpt_tiny", "--stages", "8,6,6,8", "--policy", "stash", "--batch", "4"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const core::Json j = core::Json::parse(r.out);
  EXPECT_EQ(j.at("layers").size(), 28u);
  int stashed = 0;
  for (const auto& e : j.at("edges")) {
    if (e.at("kind") != "stashed_weights") continue;
    ++stashed;
    EXPECT_NE(e.at("to"), "Ba:wpe");
  }
  EXPECT_EQ(stashed, 26);
  bool attention_gemms = false;
  for (const auto& n : j.at("nodes")) {
    // F of h.0.attn.c_attn: its linear (one GEMM over B·T rows) and the attention's 2 per
    // sample and head (4 samples x 4 heads).
    if (n.at("name") == "F:h.0.attn.c_attn") attention_gemms = n.at("gemms").size() == 1 + 2 * 16;
  }
  EXPECT_TRUE(attention_gemms);
  const Result s = run_lpsim({"schedule", "--set", "/workload/model=gpt_tiny", "--set",
                              "/workload/dataset/kind=synthetic_tokens", "--set",
                              "/workload/dataset/synthetic_tokens={\"context\":64,\"vocab\":256}",
                              "--set", "/pipeline/stages=[8,6,6,8]", "--procs", "2"});
  EXPECT_EQ(s.exit_code, 0) << s.err;
}

TEST(GraphCommand, WritesDotToAFile) {
  const std::string path = ::testing::TempDir() + "/lpsim_graph.dot";
  std::remove(path.c_str());
  const Result r = run_lpsim({"graph", "--model", "cnn3", "--format", "dot", "--out", path});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string dot = slurp(path);
  EXPECT_EQ(dot.rfind("digraph training {", 0), 0u);
  EXPECT_NE(dot.find("cluster_stage2"), std::string::npos);
  EXPECT_NE(dot.find("label=\"4D\""), std::string::npos);  // conv1's stored activation
}

TEST(GraphCommand, UnwritableOutputIsABadInput) {
  const Result r = run_lpsim({"graph", "--model", "mlp3", "--out", "/dev/null/dir/g.json"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("/dev/null/dir/g.json"), std::string::npos) << r.err;
}

// A path lpsim would write into a report's meta, or an ONNX file's name, that is not UTF-8:
// refused before anything runs (a JSON string holds only UTF-8; dumping one threw).
TEST(CommandLine, AnArgumentThatIsNotUtf8IsABadInput) {
  const std::string bad = ::testing::TempDir() + "/lpsim_\xeb.json";
  const Result r =
      run_lpsim({"run", "--config", bad, "--out", "/tmp/lpsim_bad_input_should_not_exist"});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("argument 2 is not valid UTF-8"), std::string::npos) << r.err;
  EXPECT_TRUE(r.out.empty()) << r.out;
  EXPECT_NE(std::system("test -e /tmp/lpsim_bad_input_should_not_exist"), 0);
}

// --types lists the registry: every kind a network file may use, with whether it has
// parameters and whether its Ba reads them.
TEST(ModelsCommand, TypesListsTheRegisteredKinds) {
  const Result r = run_lpsim({"models", "--types", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const core::Json j = core::Json::parse(r.out);
  std::map<std::string, core::Json> by_name;
  for (const auto& t : j) by_name[t.at("type").get<std::string>()] = t;
  for (const char* n : {"linear", "conv2d", "lif", "embedding", "causal_self_attention", "gelu"}) {
    EXPECT_EQ(by_name.count(n), 1u) << n;
  }
  EXPECT_TRUE(by_name.at("embedding").at("parameters").get<bool>());
  EXPECT_FALSE(by_name.at("embedding").at("backward_reads_weights").get<bool>());
  EXPECT_TRUE(by_name.at("layernorm").at("backward_reads_weights").get<bool>());
  EXPECT_FALSE(by_name.at("gelu").at("parameters").get<bool>());
}

TEST(ModelsCommand, ListsEveryBuiltinModel) {
  const Result r = run_lpsim({"models", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const core::Json j = core::Json::parse(r.out);
  std::vector<std::string> names;
  for (const auto& m : j) names.push_back(m.at("name").get<std::string>());
  for (const char* want : {"mlp3", "mlp6", "cnn3", "resnet18"}) {
    EXPECT_NE(std::find(names.begin(), names.end(), want), names.end()) << want;
  }
}

// A fresh scratch directory for one test (ctest runs the cases of this file in parallel).
std::string fresh_dir(const std::string& name) {
  const std::string dir =
      ::testing::TempDir() + "/lpsim_cli_" + name + "_" + std::to_string(::getpid());
  std::system(("rm -rf " + shell_quote(dir) + " && mkdir -p " + shell_quote(dir)).c_str());
  return dir;
}

void write_text_file(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
}

TEST(TokensCommand, CutsTheTextsIntoWindowsAndSplitsOffTheLastTenth) {
  const std::string dir = fresh_dir("tokens");
  const std::string a = "abcdefghijklmnopqrstuvwxyz", b = "0123456789ABCDEFGHIJ";
  write_text_file(dir + "/a.txt", a);
  write_text_file(dir + "/b.txt", b);
  const std::string out = dir + "/made/fortunes_3";
  const Result r =
      run_lpsim({"tokens", dir + "/a.txt", dir + "/b.txt", "--context", "3", "--out", out});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  // L = 46, T = 3: n = floor(45 / 3) = 15 windows of 4 bytes, the last floor(15 / 10) = 1 for test.
  EXPECT_EQ(r.out, "read 46 bytes from 2 files; context 3: 15 windows of 4 bytes, 14 in " + out +
                       "/train.npy, 1 in " + out + "/test.npy (uint8)\n");
  const std::string text = a + b;
  const data::NpyArray<std::int64_t> train = data::read_npy<std::int64_t>(out + "/train.npy");
  const data::NpyArray<std::int64_t> test = data::read_npy<std::int64_t>(out + "/test.npy");
  EXPECT_EQ(train.stored, data::DType::kUint8);
  EXPECT_EQ(test.stored, data::DType::kUint8);
  ASSERT_EQ(train.shape, (std::vector<std::int64_t>{14, 4}));
  ASSERT_EQ(test.shape, (std::vector<std::int64_t>{1, 4}));
  for (std::size_t i = 0; i < 14; ++i) {
    for (std::size_t t = 0; t < 4; ++t) {
      EXPECT_EQ(train.data[i * 4 + t], static_cast<unsigned char>(text[i * 3 + t]))
          << i << " " << t;
    }
  }
  EXPECT_EQ(std::string(train.data.begin(), train.data.begin() + 8), "abcddefg");
  // Window 8 spans the two files; window 14, bytes [42, 46), is the test split.
  EXPECT_EQ(std::string(train.data.begin() + 32, train.data.begin() + 36), "yz01");
  EXPECT_EQ(std::string(test.data.begin(), test.data.end()), "GHIJ");
  // Only the two files: the temporaries were renamed.
  std::vector<std::string> names;
  for (const auto& e : std::filesystem::directory_iterator(out)) {
    names.push_back(e.path().filename().string());
  }
  std::sort(names.begin(), names.end());
  EXPECT_EQ(names, (std::vector<std::string>{"test.npy", "train.npy"}));
  std::system(("rm -rf " + shell_quote(dir)).c_str());
}

TEST(TokensCommand, BadInputsExitTwoAndWriteNothing) {
  const std::string dir = fresh_dir("tokens_bad");
  write_text_file(dir + "/short.txt", "abc");
  write_text_file(dir + "/empty.txt", "");
  const std::string out = dir + "/out";
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{"--context", "4", "--out", out}, "TEXT: give the text files to read"},
      {{dir + "/absent.txt", "--context", "4", "--out", out},
       dir + "/absent.txt: missing input file"},
      {{dir, "--context", "4", "--out", out}, dir + ": not a regular file"},
      {{dir + "/empty.txt", "--context", "4", "--out", out}, "the input (1 file) holds no bytes"},
      {{dir + "/short.txt", dir + "/empty.txt", "--context", "3", "--out", out},
       "the input holds 3 bytes, too few for one window of context 3 (4 bytes)"},
      {{dir + "/short.txt", "--context", "0", "--out", out}, "--context: found 0, expected 1.."},
      {{dir + "/short.txt", "--out", out}, "--context: give the model's context T"},
      {{dir + "/short.txt", "--context", "1"}, "--out: give the directory to write"},
      {{dir + "/short.txt", "--context", "1", "--out", dir + "/short.txt/x"},
       dir + "/short.txt/x: cannot make the output directory"},
  };
  for (const auto& [args, fragment] : cases) {
    std::vector<std::string> full = {"tokens"};
    full.insert(full.end(), args.begin(), args.end());
    const Result r = run_lpsim(full);
    EXPECT_EQ(r.exit_code, 2) << fragment << "\nstderr: " << r.err;
    EXPECT_NE(r.err.find(fragment), std::string::npos) << r.err;
    EXPECT_TRUE(r.out.empty()) << r.out;
    EXPECT_NE(std::system(("test -e " + shell_quote(out)).c_str()), 0) << fragment;
  }
  std::system(("rm -rf " + shell_quote(dir)).c_str());
}

// A token data set is checked before anything runs: its directory, then the model it is read for.
TEST(CheckConfigCommand, RefusesATokenDataSetItCannotRead) {
  const std::string dir = fresh_dir("tokens_config");
  write_text_file(dir + "/a.txt", std::string(100, 'x'));
  ASSERT_EQ(
      run_lpsim({"tokens", dir + "/a.txt", "--context", "8", "--out", dir + "/set"}).exit_code, 0);
  std::remove((dir + "/set/test.npy").c_str());
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{"--set", "/workload/dataset/kind=tokens", "--set",
        "/workload/dataset/path=" + dir + "/none"},
       "/workload/dataset/path: \"" + dir + "/none\" is not a directory"},
      {{"--set", "/workload/dataset/kind=tokens", "--set",
        "/workload/dataset/path=" + dir + "/set"},
       "/workload/dataset/path: \"" + dir + "/set\" holds no test.npy"},
      {{"--set", "/workload/dataset/kind=synthetic_tokens"},
       "/workload/model: workload.dataset.kind \"synthetic_tokens\" holds token windows, but the "
       "network \"mlp3\" does not read token ids"},
      {{"--set", "/workload/dataset/kind=synthetic_tokens", "--set", "/workload/model=gpt_tiny"},
       "/workload/dataset/synthetic_tokens/context: found windows of 32 tokens, but gpt_tiny's "
       "context is 64"},
      {{"--set", "/workload/model=gpt_tiny"},
       "/workload/dataset/kind: found \"fashion_mnist\", but the network \"gpt_tiny\" reads "
       "token ids"},
  };
  for (const auto& [args, fragment] : cases) {
    std::vector<std::string> full = {"check-config"};
    full.insert(full.end(), args.begin(), args.end());
    const Result r = run_lpsim(full);
    EXPECT_EQ(r.exit_code, 2) << fragment << "\nstderr: " << r.err;
    EXPECT_NE(r.err.find(fragment), std::string::npos) << r.err;
  }
  ASSERT_EQ(
      run_lpsim({"tokens", dir + "/a.txt", "--context", "8", "--out", dir + "/set"}).exit_code, 0);
  const Result r = run_lpsim({"check-config", "--set", "/workload/dataset/kind=tokens", "--set",
                              "/workload/dataset/path=" + dir + "/set"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("/workload/model: found \"mlp3\", but workload.dataset.kind \"tokens\" "
                       "needs a token model"),
            std::string::npos)
      << r.err;
  // gpt_tiny's context is 64: windows of 8 + 1 tokens are another length.
  const Result g =
      run_lpsim({"check-config", "--set", "/workload/dataset/kind=tokens", "--set",
                 "/workload/dataset/path=" + dir + "/set", "--set", "/workload/model=gpt_tiny"});
  EXPECT_EQ(g.exit_code, 2);
  EXPECT_NE(g.err.find("train.npy"), std::string::npos) << g.err;
  EXPECT_NE(g.err.find("65"), std::string::npos) << g.err;
  std::system(("rm -rf " + shell_quote(dir)).c_str());
}

TEST(GemmCommand, MatchesScaleSimPlusOne) {
  // First row of shared/reference/scalesim_v2_gemm_cycles.csv: SCALE-Sim prints 961.
  const Result r = run_lpsim({"gemm", "--rows", "4", "--cols", "16", "--dataflow", "os", "--m",
                              "102", "--n", "13", "--k", "19", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(core::Json::parse(r.out).at("cycles").get<std::uint64_t>(), 962u);
}

TEST(GemmCommand, WithOperandsInDramReportsStallsTrafficAndEnergy) {
  const std::vector<std::string> base = {"gemm", "--rows", "32",          "--cols", "32",
                                         "--m",  "512",    "--n",         "512",    "--k",
                                         "512",  "--json", "--sram-bytes"};
  auto run = [&](const std::string& sram, const std::string& bandwidth) {
    std::vector<std::string> args = base;
    args.insert(args.end(), {sram, "--dram-bytes-per-cycle", bandwidth});
    const Result r = run_lpsim(args);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return core::Json::parse(r.out);
  };
  const core::Json small = run("65536", "16"), large = run("4194304", "16"),
                   fast = run("65536", "256");
  const core::Json& m = small.at("memory");
  EXPECT_EQ(m.at("compute_cycles"), small.at("cycles"));
  EXPECT_EQ(m.at("cycles").get<std::uint64_t>(), m.at("compute_cycles").get<std::uint64_t>() +
                                                     m.at("stall_cycles").get<std::uint64_t>());
  EXPECT_GT(m.at("stall_cycles").get<std::uint64_t>(), 0u);
  // B (1 MiB) does not fit in 64 KiB: it is read once per row fold (16), A once, C written once.
  EXPECT_EQ(m.at("dram_read_bytes").get<std::uint64_t>(), 4u * 512 * 512 * (1 + 16));
  EXPECT_EQ(m.at("dram_write_bytes").get<std::uint64_t>(), 4u * 512 * 512);
  EXPECT_EQ(large.at("memory").at("dram_read_bytes").get<std::uint64_t>(), 4u * 512 * 512 * 2);
  EXPECT_LT(large.at("memory").at("cycles").get<std::uint64_t>(),
            m.at("cycles").get<std::uint64_t>());
  EXPECT_LT(fast.at("memory").at("cycles").get<std::uint64_t>(),
            m.at("cycles").get<std::uint64_t>());
  const core::Json& e = m.at("energy_pj");
  EXPECT_DOUBLE_EQ(e.at("mac").get<double>(), 512.0 * 512 * 512 * 4.6);
  EXPECT_DOUBLE_EQ(e.at("dram").get<double>(), 162.5 * (m.at("dram_read_bytes").get<double>() +
                                                        m.at("dram_write_bytes").get<double>()));
  EXPECT_GT(e.at("total").get<double>(),
            large.at("memory").at("energy_pj").at("total").get<double>());
}

std::vector<std::string> tiny_run(const std::string& out) {
  return {"run",   "-q",
          "--out", out,
          "--set", "/workload/dataset/kind=synthetic",
          "--set", "/workload/dataset/synthetic={\"train_samples\":256,\"test_samples\":64}",
          "--set", "/workload/epochs=2"};
}

TEST(RunCommand, SameConfigGivesTheSameReportApartFromMeta) {
  const std::string a = ::testing::TempDir() + "/lpsim_det_a",
                    b = ::testing::TempDir() + "/lpsim_det_b";
  ASSERT_EQ(run_lpsim(tiny_run(a)).exit_code, 0);
  ASSERT_EQ(run_lpsim(tiny_run(b)).exit_code, 0);
  core::Json ra = core::parse_json_file(a + "/report.json"),
             rb = core::parse_json_file(b + "/report.json");
  EXPECT_NE(ra.at("meta"), core::Json());
  ra.erase("meta");
  rb.erase("meta");
  EXPECT_EQ(ra.dump(), rb.dump());
  EXPECT_EQ(ra.at("mode"), "hardware");
  EXPECT_GT(ra.at("summary").at("total_cycles").get<std::uint64_t>(), 0u);
  EXPECT_EQ(slurp(a + "/epochs.csv"), slurp(b + "/epochs.csv"));
}

TEST(ScheduleCommand, PrintsPipeDreamBesideTheSplits) {
  const Result r = run_lpsim({"schedule", "--set", "/workload/model=mlp6", "--set",
                              "/pipeline/policy=stash", "--procs", "1-4", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const core::Json j = core::Json::parse(r.out);
  std::map<std::pair<std::string, int>, core::Json> rows;
  for (const auto& row : j.at("schedules")) {
    rows[{row.at("mode").get<std::string>(), row.at("processors").get<int>()}] = row;
  }
  for (int p = 1; p <= 4; ++p) {
    ASSERT_EQ(rows.count({"pipedream", p}), 1u) << "P = " << p;
    const core::Json& pd = rows.at({"pipedream", p});
    const auto stages = pd.at("stage_of_unit").get<std::vector<int>>();
    ASSERT_EQ(stages.size(), 6u);
    EXPECT_EQ(stages.front(), 0);
    EXPECT_EQ(stages.back() + 1, pd.at("stages").get<int>());
    EXPECT_LE(pd.at("stages").get<int>(), p);
    for (std::size_t u = 1; u < stages.size(); ++u) {
      EXPECT_TRUE(stages[u] == stages[u - 1] || stages[u] == stages[u - 1] + 1) << "contiguous";
    }
    const core::Json& ii = rows.at({"intra+inter", p});
    EXPECT_DOUBLE_EQ(ii.at("speedup_vs_pipedream").get<double>(),
                     pd.at("period").get<double>() / ii.at("period").get<double>());
  }
  // The plain table has the PipeDream columns too.
  const Result t = run_lpsim({"schedule", "--set", "/workload/model=mlp6", "--procs", "2"});
  ASSERT_EQ(t.exit_code, 0) << t.err;
  EXPECT_NE(t.out.find("pipedream"), std::string::npos) << t.out;
}

// `lpsim schedule` gives every schedule's DRAM bytes per minibatch (the residents beyond
// hw.sram.capacity_bytes, which its periods do not count): a run of that schedule moves
// exactly that much per minibatch, and runs no faster than the DRAM channel allows. mlp6 under
// stash with 1 MiB of SRAM on 3 processors, every split and PipeDream.
TEST(ScheduleCommand, DramBytesPerMinibatchAreTheRunsOwn) {
  const std::vector<std::string> design = {"--set", "/workload/model=mlp6",
                                           "--set", "/pipeline/policy=stash",
                                           "--set", "/hw/sram/capacity_bytes=1048576"};
  std::vector<std::string> args = {"schedule", "--procs", "3", "--json"};
  args.insert(args.end(), design.begin(), design.end());
  const Result s = run_lpsim(args);
  ASSERT_EQ(s.exit_code, 0) << s.err;
  int rows = 0;
  const core::Json schedules = core::Json::parse(s.out).at("schedules");
  for (const auto& row : schedules) {
    const std::string mode = row.at("mode").get<std::string>();
    SCOPED_TRACE(mode);
    const std::string dir = ::testing::TempDir() + "/lpsim_dram_" + std::to_string(rows++);
    std::vector<std::string> run = tiny_run(dir);
    run.insert(run.end(), design.begin(), design.end());
    run.insert(run.end(), {"--no-math", "--set", "/pipeline/processors=3"});
    if (mode == "pipedream") {
      run.insert(run.end(), {"--set", "/pipeline/scheduler=pipedream"});
    } else {
      run.insert(run.end(), {"--set", "/pipeline/backward_split=" + mode});
    }
    const Result r = run_lpsim(run);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const core::Json summary = core::parse_json_file(dir + "/report.json").at("summary");
    const auto per = row.at("dram_bytes_per_minibatch").get<std::uint64_t>();
    EXPECT_GT(per, 0u);
    EXPECT_EQ(summary.at("dram_bytes").get<std::uint64_t>(),
              per * summary.at("minibatches").get<std::uint64_t>());
    // The one channel's 64 B/cycle bound the period; the run is no faster.
    EXPECT_DOUBLE_EQ(row.at("dram_bound_period").get<double>(),
                     std::ceil(static_cast<double>(per) / 64.0));
    EXPECT_GE(summary.at("cycles_per_minibatch").get<double>(),
              row.at("dram_bound_period").get<double>());
  }
  EXPECT_EQ(rows, 4);
  // The table says what the column is.
  std::vector<std::string> text = {"schedule", "--procs", "3"};
  text.insert(text.end(), design.begin(), design.end());
  const Result t = run_lpsim(text);
  ASSERT_EQ(t.exit_code, 0) << t.err;
  EXPECT_NE(t.out.find("the periods do not count those stalls"), std::string::npos) << t.out;
}

TEST(RunCommand, PipeDreamRunsOnTheStagesItsPartitionerChose) {
  const std::string dir = ::testing::TempDir() + "/lpsim_pipedream";
  std::vector<std::string> args = tiny_run(dir);
  for (const char* set : {"/workload/model=mlp6", "/pipeline/policy=stash",
                          "/pipeline/scheduler=pipedream", "/pipeline/processors=3"}) {
    args.push_back("--set");
    args.push_back(set);
  }
  args.push_back("--no-math");
  const Result r = run_lpsim(args);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const core::Json report = core::parse_json_file(dir + "/report.json");
  const Result s = run_lpsim({"schedule", "--set", "/workload/model=mlp6", "--set",
                              "/pipeline/policy=stash", "--procs", "3", "--json"});
  ASSERT_EQ(s.exit_code, 0) << s.err;
  core::Json pipedream;
  const core::Json schedules = core::Json::parse(s.out).at("schedules");
  for (const auto& row : schedules) {
    if (row.at("mode") == "pipedream") pipedream = row;
  }
  ASSERT_FALSE(pipedream.is_null());
  EXPECT_EQ(report.at("network").at("stages"), pipedream.at("stages"));
  EXPECT_EQ(report.at("hw").at("processors"), pipedream.at("stages"));
  // Without a processor count PipeDream has nothing to partition for: a bad input.
  const Result bad =
      run_lpsim({"run", "-q", "--no-math", "--set", "/pipeline/scheduler=pipedream"});
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.err.find("/pipeline/processors"), std::string::npos) << bad.err;
}

TEST(RunCommand, ThreadCountChangesNothingButItsOwnRecord) {
  if (LPSIM_TEST_ASAN) {
    // Two cnn3 epochs of the lpsim executable: 38 s under ASan. The in-process
    // ThreadCount.ChangesNoBitOfTheReferenceOrTheHardwareRun runs the same split kernels there.
    GTEST_SKIP()
        << "release only (ASan: see ThreadCount.ChangesNoBitOfTheReferenceOrTheHardwareRun)";
  }
  // cnn3 at batch 64: conv2's product and the element-wise passes are split (parallel.h).
  const auto run = [](const std::string& threads) {
    const std::string out = ::testing::TempDir() + "/lpsim_threads_" + threads;
    std::vector<std::string> args = tiny_run(out);
    args.insert(args.end(), {"--threads", threads, "--set", "/workload/model=cnn3", "--set",
                             "/workload/batch_size=64", "--set", "/workload/epochs=1"});
    const Result r = run_lpsim(args);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    core::Json report = core::parse_json_file(out + "/report.json");
    report.erase("meta");
    return report;
  };
  core::Json one = run("1"), two = run("2");
  EXPECT_EQ(one.at("run").at("threads"), 1);
  EXPECT_EQ(two.at("run").at("threads"), 2);
  one.at("run").erase("threads");
  two.at("run").erase("threads");
  EXPECT_EQ(one.dump(), two.dump());
  EXPECT_GT(one.at("summary").at("final_test_accuracy").get<double>(), 0.0);
}

TEST(RunCommand, SavedWeightsReloadExactly) {
  const std::string out = ::testing::TempDir() + "/lpsim_save";
  const std::string w1 = ::testing::TempDir() + "/lpsim_w1",
                    w2 = ::testing::TempDir() + "/lpsim_w2";
  std::vector<std::string> first = tiny_run(out);
  first.insert(first.end(), {"--save-weights", w1});
  ASSERT_EQ(run_lpsim(first).exit_code, 0);
  // Starting from the saved weights with a zero learning rate changes nothing.
  std::vector<std::string> second = tiny_run(out);
  second.insert(second.end(), {"--init-from", w1, "--save-weights", w2, "--reference", "--set",
                               "/workload/optimizer/lr=0"});
  const Result r = run_lpsim(second);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  for (const char* t : {"fc1.weight.npy", "fc1.bias.npy", "fc3.weight.npy"}) {
    EXPECT_EQ(slurp(w1 + "/" + t), slurp(w2 + "/" + t)) << t;
    EXPECT_GT(slurp(w1 + "/" + t).size(), 128u);
  }
}

TEST(CheckConfigCommand, AcceptsTheDefaultJobWithoutRunningIt) {
  const Result r = run_lpsim({"check-config", "--set", "/workload/dataset/kind=synthetic"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("(defaults): ok"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("estimated memory"), std::string::npos) << r.out;
}

// README "Configuration" is the parameter table's own output (one declaration per key).
TEST(CheckConfigCommand, ParametersTableIsTheReadme) {
  const Result r = run_lpsim({"check-config", "--parameters"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string readme = slurp(std::string(LPSIM_SOURCE_DIR) + "/README.md");
  const std::string begin = "<!-- parameters: lpsim check-config --parameters -->\n";
  const auto a = readme.find(begin);
  const auto b = readme.find("<!-- end parameters -->");
  ASSERT_NE(a, std::string::npos);
  ASSERT_NE(b, std::string::npos);
  EXPECT_EQ(readme.substr(a + begin.size(), b - a - begin.size()), r.out)
      << "regenerate README \"Configuration\" with build/release/lpsim check-config --parameters";
  // A key of each kind (integer, choice, optional, object) is in it.
  for (const char* key : {"`run.seed`", "`hw.dram.channels`", "`pipeline.backward_split`",
                          "`workload.dataset.synthetic.noise_std`", "`hw.energy`"}) {
    EXPECT_NE(r.out.find(key), std::string::npos) << key;
  }
}

// README's contents list is its "## " sections, in order, each linked by GitHub's anchor
// (lower case, punctuation other than '-' and '_' dropped, spaces as '-').
TEST(Readme, ContentsListEverySection) {
  const std::string readme = slurp(std::string(LPSIM_SOURCE_DIR) + "/README.md");
  const auto marker = readme.find("<!-- contents:");
  const auto b = readme.find("<!-- end contents -->");
  ASSERT_NE(marker, std::string::npos);
  ASSERT_NE(b, std::string::npos);
  const auto a = readme.find('\n', marker) + 1;  // the list starts on the marker's next line
  const std::string list = readme.substr(a, b - a);
  std::string expected;
  std::istringstream lines(readme);
  bool fenced = false;
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind("```", 0) == 0) fenced = !fenced;
    if (fenced || line.rfind("## ", 0) != 0) continue;
    const std::string title = line.substr(3);
    std::string id;
    for (const char c : title) {
      if (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_') {
        id += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      } else if (c == ' ') {
        id += '-';
      }
    }
    expected += "- [" + title + "](#" + id + ")\n";
  }
  EXPECT_GT(expected.size(), 0u);
  EXPECT_EQ(list, expected) << "README's contents list: one line per \"## \" section";
}

TEST(SweepCommand, RunsEveryPointRecordsFailuresAndResumes) {
  const std::string dir = ::testing::TempDir() + "/lpsim_sweep_" + std::to_string(::getpid());
  std::system(("rm -rf " + dir).c_str());
  const std::string grid = dir + ".grid.json";
  {
    std::ofstream g(grid);
    // 3 x 2 points; batch 1000 exceeds the 256 samples: that point must fail alone.
    g << R"({"grid": {"/pipeline/policy": ["stash", "ema_grad", "none"],
                      "/workload/batch_size": [16, 1000]}})";
  }
  std::vector<std::string> args = {
      "sweep",  "-q",
      "-j",     "2",
      "--grid", grid,
      "--out",  dir,
      "--set",  "/workload/dataset/kind=synthetic",
      "--set",  "/workload/dataset/synthetic={\"train_samples\":256,\"test_samples\":64}"};
  const Result r = run_lpsim(args);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const core::Json sweep = core::parse_json_file(dir + "/sweep.json");
  ASSERT_EQ(sweep.at("points").size(), 6u);
  int ok = 0, failed = 0;
  for (const auto& p : sweep.at("points")) {
    if (p.at("status") == "ok") {
      ++ok;
      EXPECT_EQ(p.at("values").at("/workload/batch_size"), 16);
      EXPECT_GT(p.at("summary").at("total_cycles").get<std::uint64_t>(), 0u);
    } else {
      ++failed;
      EXPECT_EQ(p.at("values").at("/workload/batch_size"), 1000);
      EXPECT_NE(p.at("error").get<std::string>().find("/workload/batch_size"), std::string::npos);
    }
  }
  EXPECT_EQ(ok, 3);
  EXPECT_EQ(failed, 3);
  const std::string csv = slurp(dir + "/sweep.csv");
  EXPECT_EQ(std::count(csv.begin(), csv.end(), '\n'), 7);  // header + 6 points
  // No seed axis: every point is its own seed group, a failed one left out.
  ASSERT_EQ(sweep.at("groups").size(), 6u);
  for (const auto& g : sweep.at("groups")) {
    const bool failed_group = g.at("values").at("/workload/batch_size") == 1000;
    EXPECT_EQ(g.at("n"), failed_group ? 0 : 1) << g.dump();
    EXPECT_EQ(g.at("left_out"), failed_group ? 1 : 0) << g.dump();
  }
  const std::string groups = slurp(dir + "/sweep_groups.csv");
  EXPECT_EQ(std::count(groups.begin(), groups.end(), '\n'), 7);
  // Running it again runs only the failed points; a directory of no point of this grid is
  // named in a warning (the -q run says nothing).
  std::filesystem::create_directories(dir + "/points/0123456789abcdef");
  args.erase(std::find(args.begin(), args.end(), "-q"));
  const Result again = run_lpsim(args);
  EXPECT_NE(again.err.find("1 directories in " + dir + "/points belong to no point"),
            std::string::npos)
      << again.err;
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_NE(
      again.out.find("3 ok (3 already done, 0 resumed from a checkpoint, 0 run again alone after a "
                     "refusal for memory), 3 failed"),
      std::string::npos)
      << again.out;
  EXPECT_EQ(slurp(dir + "/sweep.csv"), csv);
}

// head, then job, then tail: one command line.
std::vector<std::string> concat(std::vector<std::string> head, const std::vector<std::string>& job,
                                const std::vector<std::string>& tail) {
  head.insert(head.end(), job.begin(), job.end());
  head.insert(head.end(), tail.begin(), tail.end());
  return head;
}

// mlp6 for two epochs of 8,000 synthetic samples under stash: long enough (a second or two) to
// be killed mid-run once a checkpoint is written every 50 minibatches.
const std::vector<std::string> kMlp6TwoEpochJob = {
    "--set", "/workload/model=mlp6",
    "--set", "/workload/dataset/kind=synthetic",
    "--set", "/workload/dataset/synthetic={\"train_samples\":8000,\"test_samples\":200}",
    "--set", "/workload/epochs=2",
    "--set", "/pipeline/stability_check=false",
    "--set", "/pipeline/policy=stash"};

// Issue 32: a sweep killed mid-point (a session stop, a lost node) continues the point from
// its last checkpoint when run again, to the aggregate an uninterrupted sweep writes.
TEST(SweepCommand, AKilledPointContinuesFromItsCheckpoint) {
  const std::string dir = ::testing::TempDir() + "/lpsim_sweep_kill_" + std::to_string(::getpid());
  std::system(("rm -rf " + dir + "*").c_str());
  const std::string grid = dir + ".grid.json";
  std::ofstream(grid) << R"({"grid": {"/run/seed": [1, 2]}})";
  auto sweep_args = [&](const std::string& out, bool checkpoints) {
    std::vector<std::string> a =
        concat({"sweep", "-q", "-j", "1", "--grid", grid, "--out", out}, kMlp6TwoEpochJob, {});
    if (checkpoints) a.insert(a.end(), {"--checkpoint-every", "50"});
    return a;
  };
  const Result whole = run_lpsim(sweep_args(dir + "_whole", false));
  ASSERT_EQ(whole.exit_code, 0) << whole.err;
  // The same sweep with checkpoints, killed (with the point it runs: one process group) once
  // a point has saved one.
  std::vector<std::string> args = sweep_args(dir + "_killed", true);
  args.insert(args.begin(), std::string(LPSIM_BINARY_DIR) + "/lpsim");
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP);
  posix_spawnattr_setpgroup(&attr, 0);
  pid_t pid = 0;
  ASSERT_EQ(posix_spawn(&pid, argv[0], nullptr, &attr, argv.data(), environ), 0);
  posix_spawnattr_destroy(&attr);
  auto saved_checkpoints = [&] {
    int n = 0;
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator(dir + "_killed/points", ec)) {
      n += std::filesystem::exists(e.path() / "checkpoint" / "manifest.json") ? 1 : 0;
    }
    return n;
  };
  for (int i = 0; i < 30000 && saved_checkpoints() == 0; ++i) ::usleep(10000);
  ::kill(-pid, SIGKILL);
  int status = 0;
  ::waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFSIGNALED(status)) << "the sweep ended before it was killed";
  // The aggregate as the kill left it: written before the first point, the killed point pending.
  const core::Json mid = core::parse_json_file(dir + "_killed/sweep.json");
  ASSERT_EQ(mid.at("points").size(), 2u);
  EXPECT_EQ(mid.at("points").at(0).at("status"), "pending");
  EXPECT_EQ(mid.at("groups").at(0).at("n"), 0);
  const Result again = run_lpsim(sweep_args(dir + "_killed", true));
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_NE(
      again.out.find("2 ok (0 already done, 1 resumed from a checkpoint, 0 run again alone after a "
                     "refusal for memory), 0 failed"),
      std::string::npos)
      << again.out;
  EXPECT_EQ(slurp(dir + "_killed/sweep.csv"), slurp(dir + "_whole/sweep.csv"));
  EXPECT_EQ(slurp(dir + "_killed/sweep_groups.csv"), slurp(dir + "_whole/sweep_groups.csv"));
  const core::Json sweep = core::parse_json_file(dir + "_killed/sweep.json");
  EXPECT_EQ(sweep.at("points").at(0).at("resumed"), true);
  EXPECT_EQ(sweep.at("points").at(1).at("resumed"), false);
  // A complete point's training state is removed.
  EXPECT_EQ(saved_checkpoints(), 0);
}

// Issue 13: more SRAM never costs cycles or energy (from one bank's size up, where an
// access costs the same), and with ample SRAM nothing moves to or from DRAM.
TEST(SweepCommand, CyclesAndEnergyNeverGrowWithSramCapacity) {
  const std::string dir = ::testing::TempDir() + "/lpsim_capacity_" + std::to_string(::getpid());
  std::system(("rm -rf " + dir).c_str());
  const std::string grid = dir + ".grid.json";
  const std::vector<std::int64_t> capacities = {1 << 20, 2 << 20, 4 << 20, 1 << 30};
  {
    std::ofstream g(grid);
    g << R"({"grid": {"/pipeline/policy": ["stash", "ema_grad", "ema_weight"],
                      "/hw/sram/capacity_bytes": [1048576, 2097152, 4194304, 1073741824]}})";
  }
  const Result r =
      run_lpsim({"sweep", "-q", "-j", "2", "--grid", grid, "--out", dir, "--set",
                 "/workload/model=mlp6", "--set", "/workload/dataset/kind=synthetic", "--set",
                 "/workload/dataset/synthetic={\"train_samples\":512,\"test_samples\":64}", "--set",
                 "/pipeline/stability_check=false"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const core::Json sweep = core::parse_json_file(dir + "/sweep.json");
  std::map<std::string, std::map<std::int64_t, core::Json>> by_policy;
  for (const auto& p : sweep.at("points")) {
    ASSERT_EQ(p.at("status"), "ok") << p.dump();
    by_policy[p.at("values").at("/pipeline/policy").get<std::string>()]
             [p.at("values").at("/hw/sram/capacity_bytes").get<std::int64_t>()] = p.at("summary");
  }
  ASSERT_EQ(by_policy.size(), 3u);
  for (const auto& [policy, points] : by_policy) {
    ASSERT_EQ(points.size(), capacities.size()) << policy;
    for (std::size_t i = 1; i < capacities.size(); ++i) {
      const core::Json& small = points.at(capacities[i - 1]);
      const core::Json& large = points.at(capacities[i]);
      EXPECT_LE(large.at("cycles_per_minibatch").get<double>(),
                small.at("cycles_per_minibatch").get<double>())
          << policy << " " << capacities[i];
      EXPECT_LE(large.at("energy_per_minibatch_pj").get<double>(),
                small.at("energy_per_minibatch_pj").get<double>())
          << policy << " " << capacities[i];
      EXPECT_LE(large.at("dram_bytes").get<std::uint64_t>(),
                small.at("dram_bytes").get<std::uint64_t>());
    }
    EXPECT_GT(points.at(capacities.front()).at("dram_bytes").get<std::uint64_t>(), 0u) << policy;
    EXPECT_EQ(points.at(capacities.back()).at("dram_bytes").get<std::uint64_t>(), 0u) << policy;
    EXPECT_LT(points.at(capacities.back()).at("cycles_per_minibatch").get<double>(),
              points.at(capacities.front()).at("cycles_per_minibatch").get<double>())
        << policy;
  }
}

TEST(RunCommand, TraceCoversTheWindowOnEveryProcessor) {
  const std::string out = ::testing::TempDir() + "/lpsim_trace_" + std::to_string(::getpid());
  std::vector<std::string> args = tiny_run(out);
  args.insert(args.end(), {"--set", "/pipeline/policy=stash", "--trace", out + ".trace.json",
                           "--trace-minibatches", "4:8"});
  const Result r = run_lpsim(args);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const core::Json trace = core::parse_json_file(out + ".trace.json");
  const core::Json report = core::parse_json_file(out + "/report.json");
  const auto total = report.at("summary").at("total_cycles").get<std::uint64_t>();
  const int procs = report.at("hw").at("processors").get<int>();
  std::vector<int> tasks_per_pe(procs, 0);
  for (const auto& e : trace.at("traceEvents")) {
    if (e.at("ph") != "X") continue;
    const auto m = e.at("args").at("minibatch").get<std::int64_t>();
    EXPECT_GE(m, 4);
    EXPECT_LT(m, 8);
    EXPECT_LE(e.at("args").at("end_cycle").get<std::uint64_t>(), total + 1000);
    if (e.at("cat") == "task") ++tasks_per_pe.at(e.at("tid").get<int>());
  }
  // mlp3 per layer: each stage runs F, Bw, U (and Ba, and the loss) for each of 4 minibatches.
  for (int p = 0; p < procs; ++p) EXPECT_GE(tasks_per_pe[p], 12) << "pe" << p;
}

TEST(RunCommand, SigtermStopsAtAMinibatchBoundaryWithAReport) {
  const std::string out = ::testing::TempDir() + "/lpsim_sigterm_" + std::to_string(::getpid());
  const std::string err = out + ".stderr";
  std::system(("rm -rf " + out + " " + err).c_str());
  const std::string binary = std::string(LPSIM_BINARY_DIR) + "/lpsim";
  std::vector<std::string> args = {
      binary,  "run",
      "--set", "/workload/epochs=3",
      "--set", "/pipeline/stability_check=false",
      "--set", "/workload/dataset/kind=synthetic",
      "--set", "/workload/dataset/synthetic={\"train_samples\":60000,\"test_samples\":100}",
      "--out", out};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 2, err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  pid_t pid = 0;
  ASSERT_EQ(posix_spawn(&pid, binary.c_str(), &actions, nullptr, argv.data(), environ), 0);
  posix_spawn_file_actions_destroy(&actions);
  // Signal once training is under way (its progress line appears), whatever the load.
  for (int i = 0; i < 6000 && slurp(err).find("hardware: ") == std::string::npos; ++i) {
    ::usleep(50000);
  }
  ::kill(pid, SIGTERM);
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status)) << slurp(err);
  EXPECT_EQ(WEXITSTATUS(status), 3) << slurp(err);
  const core::Json report = core::parse_json_file(out + "/report.json");
  EXPECT_EQ(report.at("status"), "interrupted");
  const auto done = report.at("summary").at("minibatches").get<std::int64_t>();
  EXPECT_GT(done, 0);
  EXPECT_LT(done, 3 * 1875);
}

// A report without its `meta` block (time and host: the only part allowed to differ).
core::Json report_without_meta(const std::string& path) {
  core::Json r = core::parse_json_file(path);
  r.erase("meta");
  return r;
}

// `lpsim run` of `job` whole (into BASE_full), then with a checkpoint every `every`
// minibatches (BASE_ck) and resumed from the last one (BASE_resumed).
struct ResumedRun {
  Result full;
  core::Json full_report, resumed_report;  // without meta
};
ResumedRun run_whole_and_resumed(const std::string& base, const std::vector<std::string>& job,
                                 int every) {
  ResumedRun r;
  r.full = run_lpsim(concat({"run"}, job, {"--out", base + "_full"}));
  EXPECT_EQ(r.full.exit_code, 0) << r.full.err;
  const Result ck = run_lpsim(concat(
      {"run", "-q"}, job, {"--out", base + "_ck", "--checkpoint-every", std::to_string(every)}));
  EXPECT_EQ(ck.exit_code, 0) << ck.err;
  const Result resumed = run_lpsim(concat(
      {"run", "-q"}, job, {"--out", base + "_resumed", "--resume", base + "_ck/checkpoint"}));
  EXPECT_EQ(resumed.exit_code, 0) << resumed.err;
  if (r.full.exit_code == 0 && resumed.exit_code == 0) {
    r.full_report = report_without_meta(base + "_full/report.json");
    r.resumed_report = report_without_meta(base + "_resumed/report.json");
  }
  return r;
}

TEST(RunCommand, ResumeAfterSigkillGivesTheUninterruptedResult) {
  const std::string base = ::testing::TempDir() + "/lpsim_resume_" + std::to_string(::getpid());
  std::system(("rm -rf " + base + "*").c_str());
  const std::vector<std::string>& job = kMlp6TwoEpochJob;
  auto with = [&](std::vector<std::string> head, const std::vector<std::string>& tail) {
    return concat(std::move(head), job, tail);
  };
  ASSERT_EQ(
      run_lpsim(with({"run", "-q"}, {"--out", base + "_full", "--save-weights", base + "_wfull"}))
          .exit_code,
      0);
  // The same run with checkpoints, killed with SIGKILL once the first one exists.
  std::vector<std::string> args = with({std::string(LPSIM_BINARY_DIR) + "/lpsim", "run", "-q"},
                                       {"--out", base + "_ck", "--checkpoint-every", "50"});
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
  pid_t pid = 0;
  ASSERT_EQ(posix_spawn(&pid, args[0].c_str(), &actions, nullptr, argv.data(), environ), 0);
  posix_spawn_file_actions_destroy(&actions);
  const std::string checkpoint = base + "_ck/checkpoint";
  for (int i = 0; i < 30000 && !(std::ifstream(checkpoint + "/training_state.bin") &&
                                 std::ifstream(checkpoint + "/manifest.json"));
       ++i) {
    ::usleep(10000);
  }
  ::kill(pid, SIGKILL);
  int status = 0;
  ::waitpid(pid, &status, 0);
  // The kill lands wherever the run is by then, maybe in a later checkpoint's replacement:
  // between its two renames only DIR.old is left, which --resume DIR falls back to.
  ASSERT_TRUE(std::ifstream(checkpoint + "/manifest.json").good() ||
              std::ifstream(checkpoint + ".old/manifest.json").good());
  const Result resumed =
      run_lpsim(with({"run", "-q"}, {"--out", base + "_resumed", "--resume", checkpoint,
                                     "--save-weights", base + "_wres"}));
  ASSERT_EQ(resumed.exit_code, 0) << resumed.err;
  for (const char* t : {"fc1.weight.npy", "fc3.weight.npy", "fc6.bias.npy"}) {
    EXPECT_EQ(slurp(base + "_wfull/" + t), slurp(base + "_wres/" + t)) << t;
  }
  const core::Json a = report_without_meta(base + "_full/report.json");
  const core::Json b = report_without_meta(base + "_resumed/report.json");
  EXPECT_EQ(a.at("summary").at("total_cycles"), b.at("summary").at("total_cycles"));
  EXPECT_EQ(a.dump(), b.dump());
  // A resume under another configuration is refused.
  std::vector<std::string> other = with(
      {"run", "-q"},
      {"--out", base + "_other", "--resume", checkpoint, "--set", "/workload/optimizer/lr=0.02"});
  const Result refused = run_lpsim(other);
  EXPECT_EQ(refused.exit_code, 2);
  EXPECT_NE(refused.err.find("written by a different configuration"), std::string::npos)
      << refused.err;
}

// Spiking networks checkpoint like any other: LIF membranes of the minibatches in flight,
// spike counts and the Poisson encoders' positions come back with the state.
TEST(RunCommand, SpikingRunResumesFromACheckpointToTheSameResult) {
  const std::string base = ::testing::TempDir() + "/lpsim_snn_resume_" + std::to_string(::getpid());
  std::system(("rm -rf " + base + "*").c_str());
  const std::vector<std::string> job = {
      "--set", "/workload/model=snn3",
      "--set", "/workload/time_steps=4",
      "--set", "/workload/dataset/kind=synthetic",
      "--set", "/workload/dataset/synthetic={\"train_samples\":640,\"test_samples\":100}",
      "--set", "/workload/epochs=2",
      "--set", "/pipeline/stability_check=false",
      "--set", "/pipeline/policy=ema_grad"};
  // Checkpoints every 13 minibatches; the last one (minibatch 39 of 40) is where we resume.
  const ResumedRun r = run_whole_and_resumed(base, job, 13);
  ASSERT_FALSE(r.full_report.is_null());
  EXPECT_FALSE(r.full_report.at("ops").at("spikes").empty());
  EXPECT_EQ(r.full_report.dump(), r.resumed_report.dump());
}

// ARCHITECTURE.md §2c end to end: an AdamW run (lwp, per-layer stages) resumed from a
// checkpoint (its training state carries m, s and t) gives the uninterrupted run's report;
// the report skips the stability advisory and says why, and counts two optimizer tensors.
TEST(RunCommand, AdamwRunResumesFromACheckpointToTheSameResult) {
  const std::string base =
      ::testing::TempDir() + "/lpsim_adamw_resume_" + std::to_string(::getpid());
  std::system(("rm -rf " + base + "*").c_str());
  const std::vector<std::string> job = {
      "--set",
      "/workload/dataset/kind=synthetic",
      "--set",
      "/workload/dataset/synthetic={\"train_samples\":320,\"test_samples\":64}",
      "--set",
      "/workload/epochs=2",
      "--set",
      "/workload/batch_size=16",
      "--set",
      "/workload/optimizer={\"kind\":\"adamw\",\"lr\":0.001,\"weight_decay\":0.01,"
      "\"clip_norm\":1.0,\"schedule\":{\"warmup_minibatches\":5}}",
      "--set",
      "/pipeline/policy=lwp"};
  const ResumedRun r = run_whole_and_resumed(base, job, 13);
  ASSERT_FALSE(r.full_report.is_null());
  EXPECT_NE(r.full.out.find("stability: not computed under adamw"), std::string::npos)
      << r.full.out;
  const core::Json& a = r.full_report;
  EXPECT_EQ(a.dump(), r.resumed_report.dump());
  EXPECT_EQ(a.at("stability"), core::Json::parse(R"({"computed": false, "skipped": "adamw"})"));
  const core::Json& mem = a.at("summary").at("memory_peak_bytes");
  EXPECT_EQ(mem.at("optimizer").get<std::uint64_t>(), 2 * mem.at("weights").get<std::uint64_t>());
  const core::Json resolved = core::parse_json_file(base + "_full/config.json");
  EXPECT_FALSE(resolved.at("workload").at("optimizer").contains("momentum"));
}

// cnn3 in two stages {conv1, conv2} {fc} under ema_grad, 2 epochs of 320 samples: a resume
// from minibatch 39 has minibatches in flight in both stages.
const std::vector<std::string> kCnn3TwoStageJob = {
    "--set", "/workload/model=cnn3",
    "--set", "/workload/dataset/kind=synthetic",
    "--set", "/workload/dataset/synthetic={\"train_samples\":320,\"test_samples\":64}",
    "--set", "/workload/epochs=2",
    "--set", "/workload/batch_size=16",
    "--set", "/pipeline/stages=[2,1]",
    "--set", "/pipeline/stability_check=false",
    "--set", "/pipeline/policy=ema_grad"};

// Issue 33: checkpoints carry the formats. A run under the fp8 recipe with stochastic
// rounding, a bf16 master and an fp16 EMA resumes to the uninterrupted run's report;
// resuming under other formats is refused (the config hash).
TEST(RunCommand, RunUnderFormatsResumesFromACheckpointToTheSameResult) {
  const std::string base =
      ::testing::TempDir() + "/lpsim_formats_resume_" + std::to_string(::getpid());
  std::system(("rm -rf " + base + "*").c_str());
  std::vector<std::string> job = concat(
      {}, kCnn3TwoStageJob,
      {"--set", "/hw/numerics/weights=fp8_e4m3", "--set", "/hw/numerics/activations=fp8_e4m3",
       "--set", "/hw/numerics/activation_gradients=fp8_e5m2", "--set",
       "/hw/numerics/weight_gradients=bf16", "--set", "/hw/numerics/master=bf16", "--set",
       "/hw/numerics/ema=fp16", "--set", "/hw/numerics/rounding=stochastic"});
  const ResumedRun r = run_whole_and_resumed(base, job, 13);
  ASSERT_FALSE(r.full_report.is_null());
  EXPECT_EQ(r.full_report.dump(), r.resumed_report.dump());
  EXPECT_EQ(r.full_report.at("numerics").at("weights"), "fp8_e4m3");
  job.back() = "/hw/numerics/rounding=nearest_even";
  const Result other = run_lpsim(
      concat({"run", "-q"}, job, {"--out", base + "_other", "--resume", base + "_ck/checkpoint"}));
  EXPECT_EQ(other.exit_code, 2) << other.err;
}

// ARCHITECTURE.md §4c end to end: a run whose stages recompute (cnn3 in {conv1, conv2} {fc},
// the first recomputing under ema_grad, so the reruns use the reconstruction) resumes from a
// checkpoint taken with minibatches in flight to the uninterrupted run's report; a resume with
// another activation choice is refused (the config hash covers it).
TEST(RunCommand, RecomputingRunResumesFromACheckpointToTheSameResult) {
  const std::string base =
      ::testing::TempDir() + "/lpsim_recompute_resume_" + std::to_string(::getpid());
  std::system(("rm -rf " + base + "*").c_str());
  std::vector<std::string> job =
      concat({}, kCnn3TwoStageJob, {"--set", "/pipeline/activations=[\"recompute\",\"keep\"]"});
  const ResumedRun r = run_whole_and_resumed(base, job, 13);
  ASSERT_FALSE(r.full_report.is_null());
  EXPECT_EQ(r.full_report.dump(), r.resumed_report.dump());
  EXPECT_EQ(r.full_report.at("memory_by_stage").at(0).at("activations"), "recompute");
  EXPECT_GT(r.full_report.at("memory_by_stage").at(0).at("recompute_cycles_per_minibatch"), 0);
  job.back() = "/pipeline/activations=\"keep\"";
  const Result other = run_lpsim(
      concat({"run", "-q"}, job, {"--out", base + "_other", "--resume", base + "_ck/checkpoint"}));
  EXPECT_EQ(other.exit_code, 2) << other.err;
}

TEST(Help, EveryCommandHasHelp) {
  for (const char* cmd : {"run", "graph", "models", "gemm", "schedule", "check-config", "sweep",
                          "import", "tokens"}) {
    const Result r = run_lpsim({cmd, "--help"});
    EXPECT_EQ(r.exit_code, 0) << cmd;
    EXPECT_NE(r.out.find("usage: lpsim"), std::string::npos) << cmd;
  }
  EXPECT_EQ(run_lpsim({}).exit_code, 2);
  EXPECT_EQ(run_lpsim({"--help"}).exit_code, 0);
}

}  // namespace
}  // namespace lpsim
