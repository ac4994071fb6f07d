#pragma once
// Checkpoint directories in the lpsim-checkpoint-v1 format (ARCHITECTURE.md section 6):
//   <dir>/manifest.json  {"format": "lpsim-checkpoint-v1",
//                         "tensors": [{"name": "fc1.weight", "file": "fc1.weight.npy",
//                                      "shape": [256, 784], "dtype": "float32"}, ...],
//                         "extra": {...}}            ("extra" optional: training state)
//   <dir>/<file>         one NumPy .npy per tensor, PyTorch names and layouts.
//
// Contract: writing creates the directory, writes every .npy to a temporary name and
// renames it, and writes the manifest last the same way, so a kill leaves no truncated
// file and a manifest only ever names complete tensors. float32 tensors round-trip bit for
// bit. Reading is strict: a manifest that is not JSON or breaks the schema (unknown key,
// wrong type, unsupported format or dtype, a file name that leaves the directory) throws
// core::ConfigError with the JSON pointer; a duplicate tensor name or file, a missing or
// malformed .npy, or a .npy whose shape or dtype disagrees with the manifest throws
// core::DataError naming the file. Matching tensors to a network's parameters is the caller's.

#include <cstdint>
#include <string>
#include <vector>

#include "core/json_reader.h"
#include "workloads/data/npy.h"

namespace lpsim::data {

inline constexpr const char* kCheckpointFormat = "lpsim-checkpoint-v1";
inline constexpr const char* kCheckpointManifest = "manifest.json";

struct NamedTensor {
  std::string name;                 // PyTorch name, e.g. "fc1.weight"
  std::vector<std::int64_t> shape;  // PyTorch layout: linear [out, in], conv [out, in, kh, kw]
  std::vector<float> data;          // C order, product(shape) values
  DType dtype = DType::kFloat32;    // as stored: kFloat32 (exact) or kFloat64
};

struct Checkpoint {
  std::string dir;
  std::vector<NamedTensor> tensors;  // in manifest order
  core::Json extra;                  // the manifest's "extra" object; null when absent

  // The tensor called `name`, or nullptr.
  const NamedTensor* find(const std::string& name) const;
  // The tensor called `name`; core::DataError naming the manifest (and listing the names it
  // holds) when there is none.
  const NamedTensor& at(const std::string& name) const;
};

// The .npy file name write_checkpoint uses for a tensor: name + ".npy".
std::string checkpoint_file_name(const std::string& tensor_name);

// Writes `tensors` (unique names without '/', data sizes matching shapes) and the manifest;
// `extra`, when not null, must be a JSON object and is stored under "extra".
void write_checkpoint(const std::string& dir, const std::vector<NamedTensor>& tensors,
                      const core::Json& extra = core::Json());

Checkpoint read_checkpoint(const std::string& dir);

}  // namespace lpsim::data
