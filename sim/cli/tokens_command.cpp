// `lpsim tokens TEXT... --context T --out DIR`: text files as a `tokens` data set
// (workloads/data/tokens.h): their bytes in the order given, cut into windows of T+1 bytes,
// DIR/train.npy and DIR/test.npy (uint8).

#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "core/errors.h"
#include "sim/cli/command.h"
#include "sim/cli/options.h"
#include "workloads/data/file_io.h"
#include "workloads/data/tokens.h"

namespace lpsim::cli {
namespace {

// The largest context accepted (a window is one row of a .npy file).
constexpr std::int64_t kMaxContext = std::int64_t{1} << 20;

// Appends the bytes of `path` to `out`; core::DataError naming the file when it is not a
// readable regular file.
void append_file(const std::string& path, std::string& out) {
  std::error_code ec;
  const auto status = std::filesystem::status(path, ec);
  if (!std::filesystem::exists(status)) {
    throw core::DataError(path, "", "missing input file: it does not exist");
  }
  if (!std::filesystem::is_regular_file(status)) {
    throw core::DataError(path, "",
                          "not a regular file (lpsim tokens reads text files, not directories: "
                          "give the files themselves)");
  }
  std::ifstream in = data::open_for_reading(path);
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) throw core::DataError(path, "", "cannot read the file");
  out += text.str();
}

}  // namespace

int run_tokens(const std::vector<std::string>& args) {
  po::options_description options("tokens options");
  options.add_options()("text", po::value<std::vector<std::string>>(),
                        "text files, concatenated in the order given (or the arguments)")(
      "context", po::value<std::int64_t>(), "T, the model's context: windows of T+1 bytes")(
      "out", po::value<std::string>(),
      "directory to write train.npy and test.npy into (made when absent)");
  po::positional_options_description positional;
  positional.add("text", -1);
  po::variables_map vm;
  if (!parse_options("tokens", "TEXT... --context T --out DIR", options, positional, args, vm)) {
    return 0;
  }
  if (!vm.count("text")) {
    throw core::UserError("", "TEXT", "give the text files to read");
  }
  if (!vm.count("context")) throw core::UserError("", "--context", "give the model's context T");
  if (!vm.count("out")) throw core::UserError("", "--out", "give the directory to write");
  const std::int64_t context = vm["context"].as<std::int64_t>();
  if (context < 1 || context > kMaxContext) {
    throw core::UserError(
        "", "--context",
        "found " + std::to_string(context) + ", expected 1.." + std::to_string(kMaxContext));
  }
  const auto files = vm["text"].as<std::vector<std::string>>();
  std::string bytes;
  for (const std::string& f : files) append_file(f, bytes);
  const auto length = static_cast<std::int64_t>(bytes.size());
  if (length == 0) {
    throw core::UserError("", "TEXT",
                          "the input (" + std::to_string(files.size()) + " file" +
                              (files.size() == 1 ? "" : "s") + ") holds no bytes");
  }
  if (length - 1 < context) {
    throw core::UserError(
        "", "TEXT",
        "the input holds " + std::to_string(length) + " bytes, too few for one window of context " +
            std::to_string(context) + " (" + std::to_string(context + 1) + " bytes)");
  }
  const data::ByteWindows windows = data::cut_byte_windows(bytes, context);
  const std::string dir = vm["out"].as<std::string>();
  data::write_byte_windows(dir, windows);
  std::cout << "read " << length << " bytes from " << files.size() << " file"
            << (files.size() == 1 ? "" : "s") << "; context " << context << ": "
            << windows.train_count + windows.test_count << " window"
            << (windows.train_count + windows.test_count == 1 ? "" : "s") << " of " << context + 1
            << " bytes, " << windows.train_count << " in " << dir << "/train.npy, "
            << windows.test_count << " in " << dir << "/test.npy (uint8)\n";
  if (windows.test_count == 0) {
    std::cerr << "lpsim tokens: note: fewer than 10 windows, so test.npy holds none (a run "
                 "refuses an empty split)\n";
  }
  return 0;
}

}  // namespace lpsim::cli
