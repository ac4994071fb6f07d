// The registry of layer kinds (workloads/models/layer_type.h) and the lists derived from it:
// every list of type names a user or a tool sees is checked against the registry, so a new
// kind cannot be left out of one (the fuzz dictionary had already drifted).

#include <gtest/gtest.h>

#include <fstream>
#include <set>
#include <sstream>
#include <string>

#include "workloads/models/layer_type.h"
#include "workloads/models/network.h"

namespace lpsim::models {
namespace {

std::string read_source(const std::string& relative) {
  std::ifstream in(std::string(LPSIM_SOURCE_DIR) + "/" + relative);
  EXPECT_TRUE(in.good()) << relative;
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

TEST(LayerRegistry, NamesEveryKindOnce) {
  std::set<std::string> names;
  for (const LayerType* t : layer_types()) {
    EXPECT_TRUE(names.insert(t->name()).second) << t->name();
    EXPECT_EQ(find_layer_type(t->name()), t);
    EXPECT_FALSE(t->summary().empty()) << t->name();
  }
  for (const char* n :
       {"linear", "conv2d", "batchnorm2d", "relu", "maxpool2d", "avgpool2d", "global_avgpool",
        "flatten", "add", "softmax_cross_entropy", "spike_encode", "lif", "leaky_readout"}) {
    EXPECT_EQ(names.count(n), 1u) << n;
  }
  EXPECT_EQ(find_layer_type("no_such_kind"), nullptr);
  EXPECT_EQ(layer_type_names().size(), layer_types().size());
}

TEST(LayerRegistry, FuzzDictionaryHasEveryKind) {
  const std::string dict = read_source("fuzz/config.dict");
  for (const LayerType* t : layer_types()) {
    EXPECT_NE(dict.find("\"\\\"" + t->name() + "\\\"\""), std::string::npos) << t->name();
  }
}

TEST(LayerRegistry, ReportSchemaEnumsTheParametrisedKinds) {
  const core::Json schema = core::Json::parse(read_source("reports/schema/report.schema.json"));
  // Every "enum" under a property "type" described as a layer kind.
  std::set<std::string> in_schema;
  bool found = false;
  std::function<void(const core::Json&)> walk = [&](const core::Json& j) {
    if (j.is_object()) {
      auto t = j.find("type");
      if (t != j.end() && t->is_object() && t->contains("enum") &&
          t->value("description", "").find("Layer kind") != std::string::npos) {
        found = true;
        for (const auto& e : t->at("enum")) in_schema.insert(e.get<std::string>());
      }
      for (const auto& [k, v] : j.items()) walk(v);
    } else if (j.is_array()) {
      for (const auto& v : j) walk(v);
    }
  };
  walk(schema);
  ASSERT_TRUE(found);
  std::set<std::string> parametrised;
  for (const LayerType* t : layer_types()) {
    if (t->has_params()) parametrised.insert(t->name());
  }
  EXPECT_EQ(in_schema, parametrised);
}

TEST(LayerRegistry, ReadmeDocumentsEveryKind) {
  const std::string readme = read_source("README.md");
  const std::size_t begin = readme.find("\n## Networks\n");
  ASSERT_NE(begin, std::string::npos);
  const std::size_t end = readme.find("\n## ", begin + 1);
  const std::string section = readme.substr(begin, end - begin);
  for (const LayerType* t : layer_types()) {
    EXPECT_NE(section.find("`" + t->name() + "`"), std::string::npos) << t->name();
  }
}

TEST(LayerRegistry, AnUnknownTypeListsTheRegisteredOnes) {
  const core::Json doc =
      core::Json::parse(R"({"input": {"shape": [4]}, "layers": [{"name": "a", "type": "nope"}]})");
  try {
    parse_network(doc, "n.json");
    FAIL() << "accepted an unknown type";
  } catch (const core::ConfigError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("/layers/0/type"), std::string::npos) << what;
    for (const LayerType* t : layer_types()) {
      EXPECT_NE(what.find(t->name()), std::string::npos) << t->name();
    }
  }
}

}  // namespace
}  // namespace lpsim::models
