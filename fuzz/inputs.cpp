#include "fuzz/inputs.h"

#include <zlib.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <vector>

#include "core/errors.h"
#include "core/json_reader.h"
#include "dataflow/export.h"
#include "dataflow/partition.h"
#include "dataflow/training_graph.h"
#include "sim/config/config.h"
#include "sim/run/job.h"
#include "workloads/data/checkpoint.h"
#include "workloads/data/idx.h"
#include "workloads/data/npy.h"
#include "workloads/models/network.h"
#include "workloads/models/units.h"
#include "workloads/onnx_import/onnx_import.h"

namespace lpsim::fuzz {
namespace {

std::string in_dir(const std::string& dir, const std::string& name) {
  return (std::filesystem::path(dir) / name).string();
}

// Plain writes (no fsync: the harness writes thousands of files a second). A failure to
// write is the harness's problem, not a finding in lpsim, so it is a runtime_error.
void write_file(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  out.close();
  if (!out) throw std::runtime_error("fuzz harness: cannot write " + path);
}

void write_gzip_file(const std::string& path, const std::string& bytes) {
  gzFile f = gzopen(path.c_str(), "wb1");
  if (f == nullptr) throw std::runtime_error("fuzz harness: cannot open " + path);
  const int wrote =
      bytes.empty() ? 0 : gzwrite(f, bytes.data(), static_cast<unsigned>(bytes.size()));
  const int closed = gzclose_w(f);
  if (wrote != static_cast<int>(bytes.size()) || closed != Z_OK) {
    throw std::runtime_error("fuzz harness: cannot write " + path);
  }
}

// What `lpsim graph` does once it has a network, a stage spec, a policy and a batch size.
void build_graph(const models::Network& network, const dataflow::StageSpec& spec,
                 const policies::Policy& policy, std::int64_t batch, const std::string& spec_file,
                 const std::string& spec_pointer) {
  const dataflow::UnitGraph units = dataflow::group_units(network);
  const dataflow::Partition partition =
      dataflow::partition_for_policy(units, policy, spec, spec_file, spec_pointer);
  const dataflow::TrainingGraph graph =
      dataflow::build_training_graph(network, units, partition, policy, batch);
  const core::Json j = dataflow::graph_to_json(graph, dataflow::node_ops(graph), "ops");
  const std::string dot = dataflow::graph_to_dot(graph, network.name);
  if (j.dump().empty() || dot.empty()) throw std::logic_error("fuzz: empty graph rendering");
}

}  // namespace

void config_file(const std::string& bytes, const std::string& scratch_dir) {
  const std::string path = in_dir(scratch_dir, "config.json");
  write_file(path, bytes);
  const config::Config c = config::load_config(path, {});
  if (c.network_file) return;  // the fuzzer must not choose files to read
  const models::Network network = run::network_of_config(c, path);
  build_graph(network, c.stages, *c.policy, c.batch_size, c.source, "/pipeline/stages");
}

void config_overrides(const std::string& bytes) {
  std::vector<std::string> overrides;
  std::istringstream lines(bytes);
  for (std::string line; std::getline(lines, line);) overrides.push_back(line);
  const config::Config c = config::load_config("", overrides);
  if (c.network_file) return;
  const models::Network network = run::network_of_config(c, "");
  build_graph(network, c.stages, *c.policy, c.batch_size, c.source, "/pipeline/stages");
}

void network_document(const std::string& bytes) {
  const core::Json doc = core::parse_json_text(bytes, "fuzz");
  const models::Network network = models::parse_network(doc, "fuzz");
  // The graph's edges differ only between a stashing policy and the others.
  for (const char* policy : {"ema_grad", "stash"}) {
    build_graph(network, dataflow::StageSpec{}, policies::get(policy), 32, "fuzz",
                "/pipeline/stages");
  }
  // A network that parsed must be written and read back unchanged.
  const core::Json written = models::network_to_json(network);
  try {
    const models::Network again = models::parse_network(written, "fuzz (written back)");
    if (models::network_to_json(again) != written) {
      throw std::logic_error("network_to_json -> parse_network changes the network: " +
                             written.dump());
    }
  } catch (const core::UserError& e) {
    throw std::logic_error(std::string("network_to_json wrote a document parse_network "
                                       "rejects: ") +
                           e.what() + "\n" + written.dump());
  }
}

void idx_images(const std::string& bytes, const std::string& scratch_dir, bool gzip) {
  const std::string path = in_dir(scratch_dir, gzip ? "images-idx3-ubyte.gz" : "images-idx3-ubyte");
  if (gzip) {
    write_gzip_file(path, bytes);
  } else {
    write_file(path, bytes);
  }
  const data::IdxImages images = data::read_idx_images(path);
  std::uint64_t pixels = 0;
  if (images.count < 0 || images.rows <= 0 || images.cols <= 0 ||
      __builtin_mul_overflow(static_cast<std::uint64_t>(images.count),
                             static_cast<std::uint64_t>(images.rows), &pixels) ||
      __builtin_mul_overflow(pixels, static_cast<std::uint64_t>(images.cols), &pixels) ||
      pixels != images.pixels.size()) {
    throw std::logic_error("read_idx_images: pixel count does not match the dimensions");
  }
}

void idx_labels(const std::string& bytes, const std::string& scratch_dir, bool gzip) {
  const std::string path = in_dir(scratch_dir, gzip ? "labels-idx1-ubyte.gz" : "labels-idx1-ubyte");
  if (gzip) {
    write_gzip_file(path, bytes);
  } else {
    write_file(path, bytes);
  }
  for (const std::int32_t label : data::read_idx_labels(path, 10)) {
    if (label < 0 || label >= 10) throw std::logic_error("read_idx_labels: label out of range");
  }
}

void npy_file(const std::string& bytes, const std::string& scratch_dir, NpyRead read) {
  const std::string path = in_dir(scratch_dir, "array.npy");
  write_file(path, bytes);
  const auto check = [](const std::vector<std::int64_t>& shape, std::size_t size) {
    if (static_cast<std::size_t>(data::shape_elements(shape)) != size) {
      throw std::logic_error("read_npy: element count does not match the shape");
    }
  };
  switch (read) {
    case NpyRead::kHeader:
      data::read_npy_header(path);
      break;
    case NpyRead::kFloat: {
      const data::NpyArray<float> a = data::read_npy<float>(path);
      check(a.shape, a.data.size());
      break;
    }
    case NpyRead::kDouble: {
      const data::NpyArray<double> a = data::read_npy<double>(path);
      check(a.shape, a.data.size());
      break;
    }
    case NpyRead::kInt32: {
      const data::NpyArray<std::int32_t> a = data::read_npy<std::int32_t>(path);
      check(a.shape, a.data.size());
      break;
    }
    case NpyRead::kInt64: {
      const data::NpyArray<std::int64_t> a = data::read_npy<std::int64_t>(path);
      check(a.shape, a.data.size());
      break;
    }
  }
}

void checkpoint_manifest(const std::string& bytes, const std::string& scratch_dir) {
  const std::string dir = in_dir(scratch_dir, "checkpoint");
  std::filesystem::create_directories(dir);
  const float w[6] = {0.5f, -1.0f, 2.0f, 0.0f, 1e-3f, 3.25f};
  const double b[3] = {1.0, -2.0, 0.125};
  const float s[1] = {7.0f};
  write_file(in_dir(dir, "w.npy"), data::encode_npy({2, 3}, w, data::DType::kFloat32));
  write_file(in_dir(dir, "b.npy"), data::encode_npy({3}, b, data::DType::kFloat64));
  write_file(in_dir(dir, "s.npy"), data::encode_npy({}, s, data::DType::kFloat32));
  write_file(in_dir(dir, data::kCheckpointManifest), bytes);
  const data::Checkpoint checkpoint = data::read_checkpoint(dir);
  for (const data::NamedTensor& t : checkpoint.tensors) {
    if (static_cast<std::size_t>(data::shape_elements(t.shape)) != t.data.size()) {
      throw std::logic_error("read_checkpoint: tensor size does not match its shape");
    }
  }
}

void onnx_model(const std::string& bytes) {
  const onnx_import::ImportedModel m = onnx_import::import_onnx_bytes(bytes, "fuzz.onnx");
  // write_imported and `lpsim import --json` dump these (a string that is not UTF-8 throws).
  (void)m.document.dump();
  (void)core::Json(m.renamed).dump();
  // The document it writes reads back as the network it imported.
  const models::Network again = models::parse_network(m.document, "fuzz.onnx");
  if (models::network_to_json(again) != models::network_to_json(m.network)) {
    throw std::logic_error("import_onnx: the network document does not read back the same");
  }
  build_graph(again, dataflow::StageSpec{}, policies::get("stash"), 8, "fuzz.onnx",
              "/pipeline/stages");
}

}  // namespace lpsim::fuzz
