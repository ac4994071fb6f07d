#pragma once
// What the fuzz harnesses feed their bytes to, one reader per function (issue 7: bad input
// never crashes).
//
// Contract: each function writes `bytes` where the reader expects a file (inside
// `scratch_dir`, which must exist and is reused from call to call) and runs the reader the
// way lpsim does. On bad input the only exception that may leave is lpsim::core::UserError
// (core::ConfigError, core::DataError); anything else (core::InternalError, another std::exception,
// a crash, a sanitizer report, a hang, an unbounded allocation) is a finding. The same functions
// replay the regression files in tests/unit/fuzz_regressions. Outputs are deterministic in
// `bytes`: no state is kept between calls.

#include <string>

namespace lpsim::fuzz {

// The bytes as a run config file: config::load_config(path, {}) and then, when it loads and
// names a built-in model, what `lpsim graph --config` does with it (network, partition,
// retimed training graph, its JSON and dot renderings). network_file is not followed.
void config_file(const std::string& bytes, const std::string& scratch_dir);

// The bytes as `--set` arguments, one per line: config::load_config("", lines), then the
// same graph building as config_file.
void config_overrides(const std::string& bytes);

// The bytes as a network document: models::parse_network, then unit grouping, a per_layer
// partition and the retimed training graph under ema_grad and stash. A network that parses
// must survive network_to_json -> parse_network unchanged (else std::logic_error).
void network_document(const std::string& bytes);

// The bytes as an IDX images / labels (10 classes) file, written as they are (`gzip`
// false) or gzip-compressed first.
void idx_images(const std::string& bytes, const std::string& scratch_dir, bool gzip);
void idx_labels(const std::string& bytes, const std::string& scratch_dir, bool gzip);

// The bytes as a .npy file read as `T` (float, double, int32, int64) or its header only.
enum class NpyRead { kHeader, kFloat, kDouble, kInt32, kInt64 };
void npy_file(const std::string& bytes, const std::string& scratch_dir, NpyRead read);

// The bytes as manifest.json of a checkpoint directory that also holds valid .npy files:
// w.npy (float32, shape [2, 3]), b.npy (float64, [3]) and s.npy (float32, []).
void checkpoint_manifest(const std::string& bytes, const std::string& scratch_dir);

// The bytes as an ONNX model (`lpsim import`); a model that imports must write a network
// document that reads back as the network imported, and retime.
void onnx_model(const std::string& bytes);

}  // namespace lpsim::fuzz
