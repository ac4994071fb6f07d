// write_imported (onnx_import.h): DIR/network.json and DIR/checkpoint/, replaced as a whole.

#include <unistd.h>

#include <filesystem>
#include <system_error>

#include "core/atomic_file.h"
#include "core/errors.h"
#include "workloads/data/file_io.h"
#include "workloads/onnx_import/onnx_import.h"

namespace lpsim::onnx_import {
namespace {

namespace fs = std::filesystem;

void check(const std::error_code& ec, const std::string& path, const std::string& what) {
  if (ec) throw core::UserError(path, "", "cannot " + what + ": " + ec.message());
}

}  // namespace

void write_imported(const ImportedModel& model, const std::string& dir_text) {
  fs::path dir = fs::path(dir_text).lexically_normal();
  if (!dir.has_filename() && dir.has_parent_path()) dir = dir.parent_path();  // "out/" -> "out"
  const std::string name = dir.filename().string();
  if (name.empty() || name == "." || name == ".." || dir == dir.root_path()) {
    throw core::UserError("", "--out",
                          "found \"" + dir_text + "\", expected a directory to create");
  }
  const std::string path = dir.string();
  std::error_code ec;
  // Only an earlier import is replaced; nothing else of the user's is ever removed.
  if (fs::exists(dir, ec)) {
    if (!fs::is_directory(dir, ec)) {
      throw core::UserError(path, "", "exists and is not a directory (nothing was written)");
    }
    for (const auto& entry : fs::directory_iterator(dir, ec)) {
      const std::string e = entry.path().filename().string();
      if (e != kNetworkFileName && e != kCheckpointDirName) {
        throw core::UserError(path, "",
                              "holds \"" + e +
                                  "\", which an import does not write; give a new or empty "
                                  "directory (nothing was written)");
      }
    }
    check(ec, path, "list the directory");
  }
  const fs::path parent = dir.has_parent_path() ? dir.parent_path() : fs::path(".");
  fs::create_directories(parent, ec);
  check(ec, parent.string(), "create the directory");

  const std::string pid = std::to_string(::getpid());
  const fs::path tmp = path + ".tmp-" + pid;
  const fs::path old = path + ".old-" + pid;
  fs::remove_all(tmp, ec);
  try {
    fs::create_directory(tmp, ec);
    check(ec, tmp.string(), "create the directory");
    core::write_file_atomic((tmp / kNetworkFileName).string(), model.document.dump(2) + "\n");
    if (!model.tensors.empty()) {
      data::write_checkpoint((tmp / kCheckpointDirName).string(), model.tensors);
    }
    data::sync_directory(tmp.string());
    const bool replace = fs::exists(dir);
    if (replace) {
      fs::rename(dir, old, ec);
      check(ec, path, "move the earlier import aside");
    }
    fs::rename(tmp, dir, ec);
    if (ec) {
      std::error_code back;
      if (replace) fs::rename(old, dir, back);
      check(ec, path, "rename " + tmp.string() + " into place");
    }
    fs::remove_all(old, ec);
    data::sync_directory(parent.string());
  } catch (...) {
    std::error_code ignored;
    fs::remove_all(tmp, ignored);
    throw;
  }
}

}  // namespace lpsim::onnx_import
