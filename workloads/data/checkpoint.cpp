#include "workloads/data/checkpoint.h"

#include <fmt/format.h>

#include <filesystem>
#include <map>
#include <set>

#include "core/errors.h"
#include "workloads/data/file_io.h"

namespace lpsim::data {
namespace {

namespace fs = std::filesystem;

std::string join_path(const std::string& dir, const std::string& file) {
  return (fs::path(dir) / file).string();
}

std::string json_shape(const std::vector<std::int64_t>& shape) {
  std::string text = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) {
    text += (i == 0 ? "" : ",") + std::to_string(shape[i]);
  }
  return text + "]";
}

// A manifest "file" must name a file directly inside the checkpoint directory.
bool is_plain_file_name(const std::string& file) {
  return !file.empty() && file != "." && file != ".." && file.find('/') == std::string::npos &&
         file.find('\\') == std::string::npos && file.find('\0') == std::string::npos;
}

struct ManifestEntry {
  std::string name;
  std::string file;
  std::vector<std::int64_t> shape;
  DType dtype = DType::kFloat32;
  std::string pointer;  // "/tensors/<i>"
};

}  // namespace

const NamedTensor* Checkpoint::find(const std::string& name) const {
  for (const NamedTensor& t : tensors) {
    if (t.name == name) return &t;
  }
  return nullptr;
}

const NamedTensor& Checkpoint::at(const std::string& name) const {
  if (const NamedTensor* t = find(name)) return *t;
  std::string names;
  for (std::size_t i = 0; i < tensors.size(); ++i) {
    if (i == 8) {
      names += fmt::format(", ... ({} in all)", tensors.size());
      break;
    }
    names += (i == 0 ? "" : ", ") + tensors[i].name;
  }
  throw core::DataError(join_path(dir, kCheckpointManifest), "",
                        fmt::format("no tensor named \"{}\" in the checkpoint (it holds: {})", name,
                                    names.empty() ? "nothing" : names));
}

std::string checkpoint_file_name(const std::string& tensor_name) { return tensor_name + ".npy"; }

void write_checkpoint(const std::string& dir, const std::vector<NamedTensor>& tensors,
                      const core::Json& extra) {
  LPSIM_ASSERT(extra.is_null() || extra.is_object(),
               "write_checkpoint: extra must be a JSON object or null");
  std::set<std::string> names;
  for (const NamedTensor& t : tensors) {
    LPSIM_ASSERT(is_plain_file_name(checkpoint_file_name(t.name)) && !t.name.empty(),
                 "write_checkpoint: tensor name \"" + t.name + "\" cannot be a file name");
    LPSIM_ASSERT(names.insert(t.name).second,
                 "write_checkpoint: duplicate tensor name \"" + t.name + "\"");
    LPSIM_ASSERT(t.dtype == DType::kFloat32 || t.dtype == DType::kFloat64,
                 "write_checkpoint: tensor \"" + t.name + "\" must be float32 or float64");
    LPSIM_ASSERT(static_cast<std::int64_t>(t.data.size()) == shape_elements(t.shape),
                 "write_checkpoint: tensor \"" + t.name + "\" data size does not match shape");
  }

  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw core::DataError(dir, "", "cannot create the checkpoint directory: " + ec.message());
  // Without its manifest a half-overwritten checkpoint is never mistaken for a whole one.
  const std::string manifest_path = join_path(dir, kCheckpointManifest);
  if (fs::exists(manifest_path, ec)) {
    fs::remove(manifest_path, ec);
    if (ec)
      throw core::DataError(manifest_path, "", "cannot remove the old manifest: " + ec.message());
    sync_directory(dir);
  }

  core::Json manifest_tensors = core::Json::array();
  for (const NamedTensor& t : tensors) {
    const std::string file = checkpoint_file_name(t.name);
    write_file_atomically(join_path(dir, file), encode_npy(t.shape, t.data.data(), t.dtype));
    manifest_tensors.push_back(core::Json{
        {"name", t.name}, {"file", file}, {"shape", t.shape}, {"dtype", dtype_name(t.dtype)}});
  }
  core::Json manifest = {{"format", kCheckpointFormat}, {"tensors", std::move(manifest_tensors)}};
  if (!extra.is_null()) manifest["extra"] = extra;
  sync_directory(dir);
  write_file_atomically(manifest_path, manifest.dump(2) + "\n");
  sync_directory(dir);
}

Checkpoint read_checkpoint(const std::string& dir) {
  const std::string manifest_path = join_path(dir, kCheckpointManifest);
  std::error_code ec;
  if (!fs::is_regular_file(manifest_path, ec)) {
    throw core::DataError(manifest_path, "",
                          fs::is_directory(dir, ec) ? "missing checkpoint manifest: " + dir +
                                                          " is not a checkpoint directory"
                                                    : "missing checkpoint directory " + dir);
  }
  const core::Json manifest = core::parse_json_file(manifest_path);

  core::ObjectReader root(manifest, manifest_path, "");
  root.choice("format", {kCheckpointFormat});
  const core::Json& list = root.array("tensors");
  std::vector<ManifestEntry> entries;
  for (std::size_t i = 0; i < list.size(); ++i) {
    ManifestEntry e;
    e.pointer = core::pointer_append("/tensors", i);
    core::ObjectReader t(list[i], manifest_path, e.pointer);
    e.name = t.string("name");
    if (e.name.empty()) t.fail("name", "found \"\", expected a non-empty tensor name");
    e.file = t.string("file");
    if (!is_plain_file_name(e.file)) {
      t.fail("file", "found " + core::describe_value(t.at("file")) +
                         ", expected a file name inside the checkpoint directory (no '/')");
    }
    const core::Json& shape = t.array("shape");
    for (std::size_t k = 0; k < shape.size(); ++k) {
      e.shape.push_back(core::json_integer(shape[k], manifest_path,
                                           core::pointer_append(t.pointer("shape"), k), 0,
                                           std::int64_t{1} << 62));
    }
    e.dtype = *dtype_from_name(t.choice("dtype", {"float32", "float64"}));
    t.finish();
    entries.push_back(std::move(e));
  }
  Checkpoint checkpoint;
  checkpoint.dir = dir;
  if (root.has("extra")) {
    const core::Json& extra = root.at("extra");
    if (!extra.is_null() && !extra.is_object()) {
      root.fail("extra",
                "found " + core::describe_value(extra) + ", expected a JSON object or null");
    }
    checkpoint.extra = extra;
  }
  root.finish();

  std::map<std::string, std::string> name_at, file_at;
  for (const ManifestEntry& e : entries) {
    if (!name_at.emplace(e.name, e.pointer).second) {
      throw core::DataError(
          manifest_path, e.pointer + "/name",
          fmt::format("duplicate tensor name \"{}\" (also at {})", e.name, name_at[e.name]));
    }
    if (!file_at.emplace(e.file, e.pointer).second) {
      throw core::DataError(
          manifest_path, e.pointer + "/file",
          fmt::format("duplicate tensor file \"{}\" (also at {})", e.file, file_at[e.file]));
    }
  }

  for (const ManifestEntry& e : entries) {
    const std::string npy_path = join_path(dir, e.file);
    if (!fs::exists(npy_path, ec)) {
      throw core::DataError(npy_path, "",
                            fmt::format("missing tensor file: {} {} names it for tensor \"{}\"",
                                        kCheckpointManifest, e.pointer, e.name));
    }
    const NpyHeader header = read_npy_header(npy_path);
    if (header.shape != e.shape || header.dtype != e.dtype) {
      throw core::DataError(
          npy_path, "",
          fmt::format("holds {} of shape {}, but {} {} says {} of shape {} for "
                      "tensor \"{}\"",
                      dtype_name(header.dtype), json_shape(header.shape), kCheckpointManifest,
                      e.pointer, dtype_name(e.dtype), json_shape(e.shape), e.name));
    }
    NpyArray<float> array = read_npy<float>(npy_path);
    NamedTensor t;
    t.name = e.name;
    t.shape = std::move(array.shape);
    t.data = std::move(array.data);
    t.dtype = array.stored;
    checkpoint.tensors.push_back(std::move(t));
  }
  return checkpoint;
}

}  // namespace lpsim::data
