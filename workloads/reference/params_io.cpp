#include "workloads/reference/params_io.h"

#include <set>

#include "core/errors.h"

namespace lpsim::reference {
namespace {

using models::Layer;

data::NamedTensor tensor(const std::string& name, std::vector<std::int64_t> shape, const float* p,
                         std::int64_t n) {
  data::NamedTensor t;
  t.name = name;
  t.shape = std::move(shape);
  t.data.assign(p, p + n);
  return t;
}

}  // namespace

std::vector<data::NamedTensor> to_named_tensors(const models::Network& network,
                                                const models::UnitGraph& units,
                                                const std::vector<UnitParams>& params) {
  std::vector<data::NamedTensor> out;
  for (std::size_t u = 0; u < units.units.size(); ++u) {
    const Layer& l = network.layers[units.units[u].layer];
    const UnitParams& p = params[u];
    const models::ParamLayout layout = l.params();
    out.push_back(
        tensor(l.name + ".weight", layout.weight_shape, p.weight.data(), p.weight.size()));
    if (l.trains_bias()) {
      out.push_back(tensor(l.name + ".bias", {p.bias.size()}, p.bias.data(), p.bias.size()));
    }
    if (layout.running_stats) {
      out.push_back(tensor(l.name + ".running_mean", {p.running_mean.size()}, p.running_mean.data(),
                           p.running_mean.size()));
      out.push_back(tensor(l.name + ".running_var", {p.running_var.size()}, p.running_var.data(),
                           p.running_var.size()));
    }
  }
  return out;
}

std::vector<UnitParams> params_from_checkpoint(const models::Network& network,
                                               const models::UnitGraph& units,
                                               const data::Checkpoint& checkpoint) {
  const std::string manifest = checkpoint.dir + "/" + data::kCheckpointManifest;
  std::set<std::string> expected;
  std::vector<UnitParams> params(units.units.size());
  auto fetch = [&](const std::string& name, const std::vector<std::int64_t>& shape) {
    expected.insert(name);
    const data::NamedTensor* t = checkpoint.find(name);
    if (t == nullptr) {
      throw core::DataError(manifest, name,
                            "the network needs this tensor and the checkpoint lacks it");
    }
    if (t->shape != shape) {
      throw core::DataError(manifest, name,
                            "shape " + data::shape_text(t->shape) + " found, " +
                                data::shape_text(shape) + " expected by the network");
    }
    return t;
  };
  for (std::size_t u = 0; u < units.units.size(); ++u) {
    const Layer& l = network.layers[units.units[u].layer];
    UnitParams& p = params[u];
    const models::ParamLayout layout = l.params();
    const data::NamedTensor* w = fetch(l.name + ".weight", layout.weight_shape);
    p.weight = Eigen::Map<const ops::Matrix>(w->data.data(), layout.rows, layout.cols);
    const std::int64_t out_size = layout.bias;
    if (l.trains_bias()) {
      const data::NamedTensor* b = fetch(l.name + ".bias", {out_size});
      p.bias = Eigen::Map<const ops::Vector>(b->data.data(), out_size);
    } else {
      p.bias = ops::Vector::Zero(out_size);
    }
    if (layout.running_stats) {
      const data::NamedTensor* m = fetch(l.name + ".running_mean", {out_size});
      const data::NamedTensor* v = fetch(l.name + ".running_var", {out_size});
      p.running_mean = Eigen::Map<const ops::Vector>(m->data.data(), out_size);
      p.running_var = Eigen::Map<const ops::Vector>(v->data.data(), out_size);
    }
  }
  for (const auto& t : checkpoint.tensors) {
    if (expected.count(t.name) == 0) {
      throw core::DataError(manifest, t.name, "the network has no tensor of this name");
    }
  }
  return params;
}

}  // namespace lpsim::reference
