#include "workloads/models/layer_type.h"

#include <algorithm>
#include <map>

#include "workloads/models/network.h"

namespace lpsim::models {
namespace {

// Elements beyond this in one tensor are refused as absurd.
constexpr std::int64_t kMaxElements = std::int64_t{1} << 40;

std::map<std::string, const LayerType*>& registry() {
  static std::map<std::string, const LayerType*> r;
  return r;
}

}  // namespace

std::string shape_text(const ops::Shape& s) {
  return "[" + std::to_string(s.c) + ", " + std::to_string(s.h) + ", " + std::to_string(s.w) + "]";
}

void InferContext::fail(const std::string& key, const std::string& what) const {
  throw core::ConfigError(file_, core::pointer_append(pointer_, key), what);
}

void InferContext::mismatch(const std::string& key, const std::string& what) const {
  fail(key, "shape mismatch: " + what);
}

std::int64_t InferContext::checked_mul(std::int64_t a, std::int64_t b) const {
  std::int64_t r = 0;
  if (__builtin_mul_overflow(a, b, &r) || r > kMaxElements) {
    throw core::ConfigError(file_, pointer_,
                            "the layer is absurdly large (more than 2^40 elements)");
  }
  return r;
}

void InferContext::check_declared(const std::string& key, std::int64_t found,
                                  const std::string& unit) const {
  if (declared_in != 0 && declared_in != found) {
    mismatch(key, "declared " + std::to_string(declared_in) + " but \"" + in[0].name + "\" gives " +
                      std::to_string(found) + unit);
  }
}

ParamLayout LayerType::params(const Layer& /*layer*/) const {
  throw core::InternalError("params() of the parameter-free layer type " + name());
}

bool register_layer_type(LayerType* type, const char* name, const char* summary) {
  type->name_ = name;
  type->summary_ = summary;
  LPSIM_ASSERT(registry().emplace(name, type).second,
               std::string("layer type registered twice: ") + name);
  return true;
}

const LayerType* find_layer_type(const std::string& name) {
  auto it = registry().find(name);
  return it == registry().end() ? nullptr : it->second;
}

const std::vector<const LayerType*>& layer_types() {
  static const std::vector<const LayerType*> all = [] {
    std::vector<const LayerType*> v;
    for (const auto& [name, type] : registry()) v.push_back(type);
    return v;
  }();
  return all;
}

}  // namespace lpsim::models
