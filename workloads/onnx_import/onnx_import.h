#pragma once
// ONNX models -> lpsim network documents and lpsim-checkpoint-v1 tensors (`lpsim import`).
//
// Contract: import_onnx reads one ModelProto (onnx 1.12's protobuf, default domain) and maps
// the nodes that lead to its one output onto lpsim layers, in node order:
//   Conv                     -> conv2d      (group 1, dilation 1, equal pads and strides)
//   Gemm, MatMul [+ Add]     -> linear      (alpha = beta = 1, transA 0; the Add of a [O]
//                                            constant after a MatMul is its bias)
//   BatchNormalization       -> batchnorm2d (inference mode, epsilon 1e-5, momentum 0.9)
//   Relu, MaxPool, AveragePool, GlobalAveragePool, Add of two tensors, Flatten (axis 1),
//   Reshape to [N, -1]       -> relu, maxpool2d, avgpool2d, global_avgpool, add, flatten
//   Pad (zeros, H and W)     -> the padding of the Conv or AveragePool reading it (PyTorch
//                               writes AvgPool2d's padding as Pad + AveragePool)
// and appends a softmax_cross_entropy layer on the output (the logits [N, classes]). What is
// only an export artefact is folded and leaves no layer: Identity, Constant, the constant
// shape computations around a Reshape (Shape, Gather, Unsqueeze, Squeeze, Concat, Slice,
// Cast and integer arithmetic over constants, the batch size as a symbol), and a Flatten or
// Reshape of a tensor that is already [N, C] or [N, C, 1, 1]. Every other op, attribute,
// shape or layout lpsim would compute differently is refused: core::ConfigError naming the
// file, the node ("node \"NAME\" (OpType)") and the reason; nothing is ever approximated.
//
// Names: a parametrised layer is named after its weight tensor without ".weight" (PyTorch's
// state_dict names survive), else after the node's module scope ("/layer1/layer1.0/conv1/Conv"
// -> "layer1.0.conv1"); its tensors are <layer>.weight, .bias, .running_mean, .running_var in
// PyTorch layouts (a Gemm with transB 0 or a MatMul has its [I, O] weight transposed).
// Weights come from initialisers or Constant nodes. A model exported without them (its
// parameters are graph inputs) imports as a structure only: `tensors` is empty and lpsim
// initialises the weights itself. A model with some parameters but not all is refused.

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "core/json_reader.h"
#include "workloads/data/checkpoint.h"
#include "workloads/models/network.h"

namespace lpsim::onnx_import {

struct ImportedModel {
  core::Json document;                     // the network document (network_to_json's form)
  models::Network network;                 // `document` as parse_network read it
  std::vector<data::NamedTensor> tensors;  // empty: the model has no weights
  // ONNX tensor name (invalid UTF-8 shown as U+FFFD) -> checkpoint name, for every weight
  // whose name changed.
  std::map<std::string, std::string> renamed;
  std::map<std::string, std::int64_t> folded;  // op type -> nodes folded away
};

// Reads the model in `path`.
ImportedModel import_onnx(const std::string& path);
// The same from the bytes of a ModelProto; `origin` names it in errors.
ImportedModel import_onnx_bytes(const std::string& bytes, const std::string& origin);

// Writes DIR/network.json and, when the model has weights, DIR/checkpoint/. Everything goes
// to a sibling DIR.tmp-<pid> first, which replaces DIR by rename, so a kill leaves the old DIR
// or the new one. DIR may be absent, empty or an earlier import (network.json and checkpoint
// only); anything else is refused (core::UserError naming DIR) before a file is written.
void write_imported(const ImportedModel& model, const std::string& dir);

// The files write_imported writes inside DIR.
inline constexpr const char* kNetworkFileName = "network.json";
inline constexpr const char* kCheckpointDirName = "checkpoint";

}  // namespace lpsim::onnx_import
