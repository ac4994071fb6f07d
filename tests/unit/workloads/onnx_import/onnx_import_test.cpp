// The ONNX importer: does each supported form become the lpsim layer it means (PyTorch names,
// weights transposed into PyTorch layouts, export artefacts folded), and is everything else
// refused with the node's name, its op type and the reason, before anything is written?

#include "workloads/onnx_import/onnx_import.h"

#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <random>

#include "core/errors.h"
#include "core/json_reader.h"

namespace lpsim::onnx_import {
namespace {

namespace fs = std::filesystem;

// A graph under construction: input "input" [batch, dims...], output "y" [batch, classes].
class Graph {
 public:
  explicit Graph(std::vector<std::int64_t> input_dims, std::int64_t opset = 13) {
    model_.set_ir_version(8);
    auto* op = model_.add_opset_import();
    op->set_domain("");
    op->set_version(opset);
    g_ = model_.mutable_graph();
    g_->set_name("test");
    add_value(g_->add_input(), "input", input_dims, true);
  }
  onnx::NodeProto& node(const std::string& op, const std::vector<std::string>& in,
                        const std::vector<std::string>& out, const std::string& name) {
    onnx::NodeProto* n = g_->add_node();
    n->set_op_type(op);
    n->set_name(name);
    for (const auto& s : in) n->add_input(s);
    for (const auto& s : out) n->add_output(s);
    return *n;
  }
  void init(const std::string& name, const std::vector<std::int64_t>& dims,
            const std::vector<float>& values) {
    tensor(g_->add_initializer(), name, dims, values);
  }
  void init_ints(const std::string& name, const std::vector<std::int64_t>& values) {
    onnx::TensorProto* t = g_->add_initializer();
    t->set_name(name);
    t->set_data_type(onnx::TensorProto::INT64);
    t->add_dims(static_cast<std::int64_t>(values.size()));
    for (std::int64_t v : values) t->add_int64_data(v);
  }
  // A weight declared as a graph input without values (export_params=False).
  void placeholder(const std::string& name, const std::vector<std::int64_t>& dims) {
    add_value(g_->add_input(), name, dims, false);
  }
  void output(const std::string& name, std::int64_t classes) {
    add_value(g_->add_output(), name, {classes}, true);
  }
  std::string bytes() const { return model_.SerializeAsString(); }

  static void tensor(onnx::TensorProto* t, const std::string& name,
                     const std::vector<std::int64_t>& dims, const std::vector<float>& values) {
    t->set_name(name);
    t->set_data_type(onnx::TensorProto::FLOAT);
    for (std::int64_t d : dims) t->add_dims(d);
    for (float v : values) t->add_float_data(v);
  }

 private:
  static void add_value(onnx::ValueInfoProto* v, const std::string& name,
                        const std::vector<std::int64_t>& dims, bool batch) {
    v->set_name(name);
    auto* tt = v->mutable_type()->mutable_tensor_type();
    tt->set_elem_type(onnx::TensorProto::FLOAT);
    auto* shape = tt->mutable_shape();
    if (batch) shape->add_dim()->set_dim_param("batch");
    for (std::int64_t d : dims) {
      if (d < 0) {
        shape->add_dim()->set_dim_param("height");
      } else {
        shape->add_dim()->set_dim_value(d);
      }
    }
  }
  onnx::ModelProto model_;
  onnx::GraphProto* g_ = nullptr;
};

void set_ints(onnx::NodeProto& n, const std::string& name, const std::vector<std::int64_t>& v) {
  auto* a = n.add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::INTS);
  for (std::int64_t x : v) a->add_ints(x);
}
void set_int(onnx::NodeProto& n, const std::string& name, std::int64_t v) {
  auto* a = n.add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::INT);
  a->set_i(v);
}
void set_float(onnx::NodeProto& n, const std::string& name, float v) {
  auto* a = n.add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::FLOAT);
  a->set_f(v);
}
void set_string(onnx::NodeProto& n, const std::string& name, const std::string& v) {
  auto* a = n.add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::STRING);
  a->set_s(v);
}

std::vector<float> iota(std::int64_t n) {
  std::vector<float> v(n);
  for (std::int64_t k = 0; k < n; ++k) v[k] = static_cast<float>(k) * 0.5f - 1.0f;
  return v;
}

ImportedModel import(const Graph& g) { return import_onnx_bytes(g.bytes(), "m.onnx"); }

// The message of the ConfigError the import throws (a failure when it does not throw one).
std::string refusal(const Graph& g) {
  try {
    import(g);
  } catch (const core::ConfigError& e) {
    return e.what();
  }
  ADD_FAILURE() << "the import did not refuse the model";
  return "";
}

const data::NamedTensor& tensor(const ImportedModel& m, const std::string& name) {
  for (const auto& t : m.tensors) {
    if (t.name == name) return t;
  }
  throw std::runtime_error("no tensor " + name);
}

// A conv net: Conv(conv.weight [4, 1, 3, 3]) -> Flatten -> Gemm(fc.weight) on [1, 8, 8].
Graph conv_net(const std::function<void(onnx::NodeProto&)>& conv_attrs,
               std::int64_t fc_in = 4 * 8 * 8) {
  Graph g({1, 8, 8});
  g.init("conv.weight", {4, 1, 3, 3}, iota(36));
  g.init("fc.weight", {10, fc_in}, iota(10 * fc_in));
  onnx::NodeProto& c = g.node("Conv", {"input", "conv.weight"}, {"c"}, "conv");
  conv_attrs(c);
  g.node("Flatten", {"c"}, {"f"}, "flatten");
  set_int(g.node("Gemm", {"f", "fc.weight"}, {"y"}, "fc"), "transB", 1);
  g.output("y", 10);
  return g;
}

TEST(OnnxImport, GemmWithTransBKeepsPyTorchNamesAndValues) {
  Graph g({4});
  g.init("fc1.weight", {3, 4}, iota(12));
  g.init("fc1.bias", {3}, {1, 2, 3});
  g.init("fc2.weight", {2, 3}, iota(6));
  set_int(g.node("Gemm", {"input", "fc1.weight", "fc1.bias"}, {"h"}, "/fc1/Gemm"), "transB", 1);
  g.node("Relu", {"h"}, {"r"}, "/relu/Relu");
  set_int(g.node("Gemm", {"r", "fc2.weight"}, {"y"}, "/fc2/Gemm"), "transB", 1);
  g.output("y", 2);
  const ImportedModel m = import(g);
  ASSERT_EQ(m.network.layers.size(), 4u);
  EXPECT_EQ(m.network.layers[0].name, "fc1");
  EXPECT_EQ(m.network.layers[1].name, "relu");
  EXPECT_EQ(m.network.layers[2].name, "fc2");
  EXPECT_FALSE(m.network.layers[2].bias);
  EXPECT_EQ(m.network.num_params(), 12 + 3 + 6);
  EXPECT_EQ(tensor(m, "fc1.weight").data, iota(12));
  EXPECT_EQ(tensor(m, "fc1.bias").data, (std::vector<float>{1, 2, 3}));
  EXPECT_EQ(m.tensors.size(), 3u);
  EXPECT_TRUE(m.renamed.empty());
}

TEST(OnnxImport, MatMulAndGemmWithoutTransBAreTransposedAndTheBiasAddFused) {
  Graph g({2});
  g.init("fc1.weight", {2, 3}, {1, 2, 3, 4, 5, 6});  // [in, out]
  g.init("fc1.bias", {3}, {7, 8, 9});
  g.init("fc2.weight", {3, 2}, {1, 2, 3, 4, 5, 6});  // [in, out], Gemm transB 0
  g.node("MatMul", {"input", "fc1.weight"}, {"m"}, "/fc1/MatMul");
  g.node("Add", {"m", "fc1.bias"}, {"h"}, "/fc1/Add");
  g.node("Gemm", {"h", "fc2.weight"}, {"y"}, "/fc2/Gemm");
  g.output("y", 2);
  const ImportedModel m = import(g);
  ASSERT_EQ(m.network.layers.size(), 3u);  // fc1, fc2, loss
  EXPECT_TRUE(m.network.layers[0].bias);
  EXPECT_EQ(tensor(m, "fc1.weight").shape, (std::vector<std::int64_t>{3, 2}));
  EXPECT_EQ(tensor(m, "fc1.weight").data, (std::vector<float>{1, 4, 2, 5, 3, 6}));
  EXPECT_EQ(tensor(m, "fc1.bias").data, (std::vector<float>{7, 8, 9}));
  EXPECT_EQ(tensor(m, "fc2.weight").data, (std::vector<float>{1, 3, 5, 2, 4, 6}));
}

TEST(OnnxImport, FoldsIdentityAndTheShapeComputationOfAView) {
  // x.view(x.size(0), -1) with a dynamic batch, then Identity on the logits.
  Graph g({2, 3, 3});
  g.init("fc.weight", {5, 18}, iota(90));
  g.init_ints("zero", {0});
  g.init_ints("minus_one", {-1});
  g.node("Shape", {"input"}, {"s"}, "/Shape");
  g.node("Gather", {"s", "zero"}, {"n"}, "/Gather");
  set_int(g.node("Concat", {"n", "minus_one"}, {"t"}, "/Concat"), "axis", 0);
  g.node("Reshape", {"input", "t"}, {"r"}, "/Reshape");
  set_int(g.node("Gemm", {"r", "fc.weight"}, {"l"}, "/fc/Gemm"), "transB", 1);
  g.node("Identity", {"l"}, {"y"}, "Identity_0");
  g.output("y", 5);
  const ImportedModel m = import(g);
  ASSERT_EQ(m.network.layers.size(), 3u);  // flatten, fc, loss
  EXPECT_EQ(m.network.layers[0].type_name(), "flatten");
  EXPECT_EQ(m.folded.at("Shape"), 1);
  EXPECT_EQ(m.folded.at("Identity"), 1);
}

TEST(OnnxImport, ConvBatchNormAndPoolsMapWithTheirAttributes) {
  Graph g({1, 8, 8});
  g.init("conv.weight", {4, 1, 3, 3}, iota(36));
  for (const char* s : {"bn.weight", "bn.bias", "bn.running_mean", "bn.running_var"}) {
    g.init(s, {4}, {1, 1, 1, 1});
  }
  g.init("fc.weight", {10, 4}, iota(40));
  onnx::NodeProto& c = g.node("Conv", {"input", "conv.weight"}, {"c"}, "/conv/Conv");
  set_ints(c, "pads", {1, 1, 1, 1});
  set_ints(c, "strides", {2, 2});
  onnx::NodeProto& bn = g.node("BatchNormalization",
                               {"c", "bn.weight", "bn.bias", "bn.running_mean", "bn.running_var"},
                               {"b"}, "/bn/BatchNormalization");
  set_float(bn, "epsilon", 1e-5f);
  set_float(bn, "momentum", 0.9f);
  onnx::NodeProto& p = g.node("AveragePool", {"b"}, {"p"}, "/pool/AveragePool");
  set_ints(p, "kernel_shape", {2, 2});
  set_ints(p, "strides", {2, 2});
  g.node("GlobalAveragePool", {"p"}, {"gp"}, "/gap/GlobalAveragePool");
  g.node("Flatten", {"gp"}, {"f"}, "/Flatten");
  set_int(g.node("Gemm", {"f", "fc.weight"}, {"y"}, "/fc/Gemm"), "transB", 1);
  g.output("y", 10);
  const ImportedModel m = import(g);
  const auto& L = m.network.layers;
  ASSERT_EQ(L.size(), 6u);  // conv, bn, pool, gap, fc, loss: the Flatten of [N, 4, 1, 1] folds
  EXPECT_EQ(L[0].stride, 2);
  EXPECT_EQ(L[0].padding, 1);
  EXPECT_EQ(L[0].out_shape, (ops::Shape{4, 4, 4}));
  EXPECT_EQ(L[1].name, "bn");
  EXPECT_EQ(L[2].type_name(), "avgpool2d");
  EXPECT_EQ(L[2].name, "pool");
  EXPECT_EQ(L[3].type_name(), "global_avgpool");
  EXPECT_EQ(m.folded.at("Flatten"), 1);
  EXPECT_EQ(m.tensors.size(), 6u);  // conv.weight, bn x4, fc.weight
  EXPECT_EQ(tensor(m, "bn.running_var").data, (std::vector<float>{1, 1, 1, 1}));
}

TEST(OnnxImport, AZeroPadBeforeAnAveragePoolIsItsPaddingAndBeforeAMaxPoolIsRefused) {
  // torch.onnx.export writes AvgPool2d(3, 1, padding=1) as Pad + AveragePool.
  for (bool max : {false, true}) {
    Graph g({1, 4, 4});
    g.init("fc.weight", {2, 16}, iota(32));
    g.init_ints("pads", {0, 0, 1, 1, 0, 0, 1, 1});
    g.node("Pad", {"input", "pads"}, {"padded"}, "/smooth/Pad");
    onnx::NodeProto& p =
        g.node(max ? "MaxPool" : "AveragePool", {"padded"}, {"p"}, "/smooth/AveragePool");
    set_ints(p, "kernel_shape", {3, 3});
    set_ints(p, "strides", {1, 1});
    g.node("Flatten", {"p"}, {"f"}, "/Flatten");
    set_int(g.node("Gemm", {"f", "fc.weight"}, {"y"}, "/fc/Gemm"), "transB", 1);
    g.output("y", 2);
    if (max) {
      EXPECT_NE(refusal(g).find("reads the output of a Pad"), std::string::npos);
      continue;
    }
    const ImportedModel m = import(g);
    ASSERT_EQ(m.network.layers.size(), 4u);  // pool, flatten, fc, loss
    EXPECT_EQ(m.network.layers[0].padding, 1);
    EXPECT_EQ(m.network.layers[0].out_shape, (ops::Shape{1, 4, 4}));
    EXPECT_EQ(m.folded.at("Pad"), 1);
  }
}

TEST(OnnxImport, ARenamedWeightIsNamedAfterItsModuleScope) {
  Graph g({3});
  g.init("onnx::Gemm_12", {2, 3}, iota(6));
  set_int(g.node("Gemm", {"input", "onnx::Gemm_12"}, {"y"}, "/head/fc/Gemm"), "transB", 1);
  g.output("y", 2);
  const ImportedModel m = import(g);
  EXPECT_EQ(m.network.layers[0].name, "head.fc");
  EXPECT_EQ(m.renamed.at("onnx::Gemm_12"), "head.fc.weight");
}

// ONNX strings are bytes; JSON strings are UTF-8, and dumping anything else throws (found by
// fuzzing: a node name with a stray byte reached the network document). A name that is not
// UTF-8 is replaced like any name that cannot be a layer's; text only shown is made lossy.
TEST(OnnxImport, NamesThatAreNotUtf8AreReplacedAndTheDocumentIsWritable) {
  Graph g({3});
  g.init("fc\xeb.weight", {2, 3}, iota(6));
  g.init("head.weight", {2, 2}, iota(4));
  set_int(g.node("Gemm", {"input", "fc\xeb.weight"}, {"h"}, "/fc/Gemm"), "transB", 1);
  g.node("Relu", {"h"}, {"r"}, "/a\xc3/Relu");
  set_int(g.node("Gemm", {"r", "head.weight"}, {"y"}, "/head/Gemm"), "transB", 1);
  g.output("y", 2);
  onnx::ModelProto model;
  ASSERT_TRUE(model.ParseFromString(g.bytes()));
  model.set_producer_name("exporter\xff");
  model.mutable_graph()->set_name("net\xfe");
  const ImportedModel m = import_onnx_bytes(model.SerializeAsString(), "m.onnx");
  ASSERT_EQ(m.network.layers.size(), 4u);
  EXPECT_EQ(m.network.layers[0].name, "fc");     // from the node's scope, not the weight
  EXPECT_EQ(m.network.layers[1].name, "layer");  // the scope is not UTF-8
  EXPECT_EQ(m.network.name, "m");                // the file's name, not the graph's
  EXPECT_EQ(m.renamed.at("fc\xef\xbf\xbd.weight"), "fc.weight");  // U+FFFD for 0xEB
  const std::string text = m.document.dump();  // throws on a string that is not UTF-8
  EXPECT_NE(text.find("exporter\xef\xbf\xbd"), std::string::npos) << text;
  EXPECT_EQ(core::Json(m.renamed).dump().find('\xeb'), std::string::npos);
}

TEST(OnnxImport, WeightsWithoutValuesImportTheStructureOnly) {
  Graph g({3});
  g.placeholder("fc.weight", {2, 3});
  g.placeholder("fc.bias", {2});
  set_int(g.node("Gemm", {"input", "fc.weight", "fc.bias"}, {"y"}, "/fc/Gemm"), "transB", 1);
  g.output("y", 2);
  const ImportedModel m = import(g);
  EXPECT_EQ(m.network.num_params(), 8);
  EXPECT_TRUE(m.tensors.empty());
}

TEST(OnnxImport, RefusesSomeWeightsWithValuesAndSomeWithout) {
  Graph g({3});
  g.init("fc.weight", {2, 3}, iota(6));
  g.placeholder("fc.bias", {2});
  set_int(g.node("Gemm", {"input", "fc.weight", "fc.bias"}, {"y"}, "/fc/Gemm"), "transB", 1);
  g.output("y", 2);
  EXPECT_NE(refusal(g).find("all of a model's weights or none"), std::string::npos);
}

TEST(OnnxImport, RefusesAnOpLpsimLacksByNodeNameAndOpType) {
  Graph g({3});
  g.init("fc.weight", {2, 3}, iota(6));
  set_int(g.node("Gemm", {"input", "fc.weight"}, {"h"}, "/fc/Gemm"), "transB", 1);
  g.node("Tanh", {"h"}, {"y"}, "act1");
  g.output("y", 2);
  const std::string msg = refusal(g);
  EXPECT_NE(msg.find("m.onnx: node \"act1\" (Tanh): op type Tanh is not supported"),
            std::string::npos)
      << msg;
}

struct ConvCase {
  const char* label;
  std::function<void(onnx::NodeProto&)> attrs;
  const char* reason;
};

TEST(OnnxImport, RefusesConvAttributesItDoesNotModel) {
  const std::vector<ConvCase> cases = {
      {"dilation",
       [](onnx::NodeProto& n) {
         set_ints(n, "dilations", {2, 2});
         set_ints(n, "pads", {2, 2, 2, 2});
       },
       "dilations [2, 2] are not supported"},
      {"groups", [](onnx::NodeProto& n) { set_int(n, "group", 4); }, "group 4 is not supported"},
      {"auto_pad", [](onnx::NodeProto& n) { set_string(n, "auto_pad", "SAME_UPPER"); },
       "auto_pad SAME_UPPER is not supported"},
      {"auto_pad VALID", [](onnx::NodeProto& n) { set_string(n, "auto_pad", "VALID"); },
       "auto_pad VALID is not supported"},
      {"unequal pads",
       [](onnx::NodeProto& n) {
         set_ints(n, "pads", {1, 1, 0, 0});
       },
       "pads [1, 1, 0, 0] are not supported"},
      {"unequal strides",
       [](onnx::NodeProto& n) {
         set_ints(n, "strides", {1, 2});
       },
       "strides [1, 2] are not supported"},
      {"unknown attribute", [](onnx::NodeProto& n) { set_int(n, "frobnicate", 1); },
       "attribute frobnicate is not supported"},
  };
  for (const ConvCase& c : cases) {
    const std::string msg = refusal(conv_net(c.attrs));
    EXPECT_NE(msg.find("node \"conv\" (Conv)"), std::string::npos) << c.label << ": " << msg;
    EXPECT_NE(msg.find(c.reason), std::string::npos) << c.label << ": " << msg;
  }
}

TEST(OnnxImport, RefusesCeilModeAndAveragePoolPaddingThatExcludesThePad) {
  for (bool max : {true, false}) {
    Graph g({1, 8, 8});
    g.init("fc.weight", {10, 16}, iota(160));
    onnx::NodeProto& p = g.node(max ? "MaxPool" : "AveragePool", {"input"}, {"p"}, "pool");
    set_ints(p, "kernel_shape", {2, 2});
    set_ints(p, "strides", {2, 2});
    if (max) {
      set_int(p, "ceil_mode", 1);
    } else {
      set_ints(p, "pads", {1, 1, 1, 1});
    }
    g.node("Flatten", {"p"}, {"f"}, "flatten");
    set_int(g.node("Gemm", {"f", "fc.weight"}, {"y"}, "fc"), "transB", 1);
    g.output("y", 10);
    const std::string msg = refusal(g);
    EXPECT_NE(msg.find(max ? "node \"pool\" (MaxPool): ceil_mode 1 is not supported"
                           : "node \"pool\" (AveragePool): count_include_pad 0"),
              std::string::npos)
        << msg;
  }
}

TEST(OnnxImport, RefusesDynamicShapesItCannotResolve) {
  Graph spatial({1, -1, 8});  // dimension 2 is "height"
  spatial.init("fc.weight", {2, 8}, iota(16));
  spatial.node("Flatten", {"input"}, {"f"}, "flatten");
  set_int(spatial.node("Gemm", {"f", "fc.weight"}, {"y"}, "fc"), "transB", 1);
  spatial.output("y", 2);
  EXPECT_NE(refusal(spatial).find("input \"input\": dimension 2 is \"height\": a dynamic shape"),
            std::string::npos);

  // A reshape whose target needs the batch size in arithmetic.
  Graph arith({4});
  arith.init("fc.weight", {2, 4}, iota(8));
  arith.init_ints("two", {2});
  arith.node("Shape", {"input"}, {"s"}, "/Shape");
  arith.node("Mul", {"s", "two"}, {"t"}, "/Mul");
  arith.node("Reshape", {"input", "t"}, {"r"}, "/Reshape");
  set_int(arith.node("Gemm", {"r", "fc.weight"}, {"y"}, "fc"), "transB", 1);
  arith.output("y", 2);
  const std::string msg = refusal(arith);
  EXPECT_NE(msg.find("node \"/Mul\" (Mul): computes with the batch size"), std::string::npos)
      << msg;
}

TEST(OnnxImport, RefusesAnAddOfAConstantThatIsNotABias) {
  Graph g({3});
  g.init("fc.weight", {2, 3}, iota(6));
  g.init("shift", {3}, {1, 2, 3});
  g.node("Add", {"input", "shift"}, {"a"}, "shift_add");
  set_int(g.node("Gemm", {"a", "fc.weight"}, {"y"}, "fc"), "transB", 1);
  g.output("y", 2);
  EXPECT_NE(refusal(g).find("node \"shift_add\" (Add): adds the constant \"shift\""),
            std::string::npos);
}

TEST(OnnxImport, RefusesBatchNormEpsilonLpsimDoesNotUse) {
  Graph g({2});
  for (const char* s : {"bn.weight", "bn.bias", "bn.running_mean", "bn.running_var"}) {
    g.init(s, {2}, {1, 1});
  }
  set_float(
      g.node("BatchNormalization",
             {"input", "bn.weight", "bn.bias", "bn.running_mean", "bn.running_var"}, {"y"}, "bn"),
      "epsilon", 1e-3f);
  g.output("y", 2);
  EXPECT_NE(refusal(g).find("node \"bn\" (BatchNormalization): epsilon 0.001"), std::string::npos);
}

TEST(OnnxImport, RefusesWhatIsNotAModel) {
  try {
    import_onnx_bytes("not a protobuf \xff\xff\xff", "junk.onnx");
    ADD_FAILURE() << "junk imported";
  } catch (const core::ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("junk.onnx: not an ONNX model"), std::string::npos);
  }
}

// Every mutation of a valid model's bytes either imports or is refused with a UserError: no
// crash, no other exception, no undefined behaviour (run under ASan + UBSan by the asan preset).
TEST(OnnxImport, MutatedModelsImportOrAreRefusedNeverCrash) {
  Graph g({1, 6, 6});
  g.init("conv.weight", {2, 1, 3, 3}, iota(18));
  for (const char* s : {"bn.weight", "bn.bias", "bn.running_mean", "bn.running_var"}) {
    g.init(s, {2}, {1, 1});
  }
  g.init("fc.weight", {3, 32}, iota(96));
  g.init_ints("pads", {0, 0, 1, 1, 0, 0, 1, 1});
  g.init_ints("zero", {0});
  g.init_ints("minus_one", {-1});
  set_ints(g.node("Conv", {"input", "conv.weight"}, {"c"}, "/conv/Conv"), "pads", {1, 1, 1, 1});
  g.node("BatchNormalization", {"c", "bn.weight", "bn.bias", "bn.running_mean", "bn.running_var"},
         {"b"}, "/bn/BatchNormalization");
  g.node("Relu", {"b"}, {"r"}, "/Relu");
  g.node("Pad", {"r", "pads"}, {"pd"}, "/avg/Pad");
  onnx::NodeProto& p = g.node("AveragePool", {"pd"}, {"p"}, "/avg/AveragePool");
  set_ints(p, "kernel_shape", {2, 2});
  set_ints(p, "strides", {2, 2});
  g.node("Shape", {"p"}, {"s"}, "/Shape");
  g.node("Gather", {"s", "zero"}, {"n"}, "/Gather");
  set_int(g.node("Concat", {"n", "minus_one"}, {"t"}, "/Concat"), "axis", 0);
  g.node("Reshape", {"p", "t"}, {"f"}, "/Reshape");
  set_int(g.node("Gemm", {"f", "fc.weight"}, {"y"}, "/fc/Gemm"), "transB", 1);
  g.output("y", 3);
  const std::string valid = g.bytes();
  ASSERT_EQ(import_onnx_bytes(valid, "m.onnx").network.layers.size(), 7u);
  const std::uint32_t seed = 20240611;
  std::mt19937 rng(seed);
  int imported = 0, refused = 0;
  for (int trial = 0; trial < 3000; ++trial) {
    std::string bytes = valid;
    const int edits = 1 + static_cast<int>(rng() % 4);
    for (int e = 0; e < edits; ++e) {
      const std::size_t at = rng() % bytes.size();
      if (rng() % 8 == 0) {
        bytes.resize(at);  // truncated
        if (bytes.empty()) break;
      } else {
        bytes[at] = static_cast<char>(rng() % 256);
      }
    }
    try {
      import_onnx_bytes(bytes, "m.onnx");
      ++imported;
    } catch (const core::UserError&) {
      ++refused;
    } catch (const std::exception& ex) {
      FAIL() << "seed " << seed << " trial " << trial << ": " << ex.what();
    }
  }
  EXPECT_GT(imported, 0);
  EXPECT_GT(refused, 0);
}

TEST(OnnxImport, WriteReplacesAnEarlierImportAndNeverADirectoryWithOtherFiles) {
  const fs::path root = fs::path(::testing::TempDir()) /
                        ("lpsim-onnx-" + std::to_string(static_cast<long>(::getpid())));
  fs::remove_all(root);
  Graph g({3});
  g.init("fc.weight", {2, 3}, iota(6));
  set_int(g.node("Gemm", {"input", "fc.weight"}, {"y"}, "/fc/Gemm"), "transB", 1);
  g.output("y", 2);
  const ImportedModel m = import(g);
  const std::string dir = (root / "out").string();
  write_imported(m, dir);
  write_imported(m, dir + "/");  // an earlier import: replaced
  std::vector<std::string> entries;
  for (const auto& e : fs::directory_iterator(root)) entries.push_back(e.path().filename());
  EXPECT_EQ(entries, std::vector<std::string>{"out"});  // no .tmp or .old left behind
  EXPECT_TRUE(fs::exists(root / "out" / "network.json"));
  EXPECT_TRUE(fs::exists(root / "out" / "checkpoint" / "manifest.json"));
  EXPECT_EQ(models::load_network_file((root / "out" / "network.json").string()).num_params(), 6);

  const fs::path busy = root / "busy";
  fs::create_directories(busy);
  std::ofstream(busy / "notes.txt") << "mine\n";
  EXPECT_THROW(write_imported(m, busy.string()), core::UserError);
  EXPECT_FALSE(fs::exists(busy / "network.json"));
  EXPECT_TRUE(fs::exists(busy / "notes.txt"));
  fs::remove_all(root);
}

}  // namespace
}  // namespace lpsim::onnx_import
