#include "reports/energy.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/errors.h"

namespace lpsim::reports {

core::Json default_energy_document() {
  // Horowitz, "Computing's energy problem (and what we can do about it)", ISSCC 2014, 45 nm:
  // fp32 add 0.9 pJ, multiply 3.7 pJ; fp16 add 0.4, multiply 1.1; int8 add 0.03, multiply
  // 0.2; a 64-bit SRAM read 10 pJ at 8 KB, 20 pJ at 32 KB, 100 pJ at 1 MB (writes taken
  // equal); a 64-bit DRAM access 1.3-2.6 nJ (the lower end: 162.5 pJ per byte). The paper
  // gives no on-chip link or static figure: a link byte is costed as a 1 MB SRAM byte and
  // static power is 0 unless configured.
  return core::Json::parse(R"({
    "source": "Horowitz, ISSCC 2014, 45 nm",
    "precision": "fp32",
    "mac_pj": {"fp32": 4.6, "fp16": 1.5, "int8": 0.23},
    "accumulate_pj": {"fp32": 0.9, "fp16": 0.4, "int8": 0.03},
    "vector_op_pj": 0.9,
    "sram_pj_per_byte": [
      {"capacity_bytes": 8192, "read": 1.25, "write": 1.25},
      {"capacity_bytes": 32768, "read": 2.5, "write": 2.5},
      {"capacity_bytes": 1048576, "read": 12.5, "write": 12.5}],
    "dram_pj_per_byte": 162.5,
    "link_pj_per_byte": 12.5,
    "pe_static_mw": 0.0,
    "sram_static_nw_per_byte": 0.0
  })");
}

namespace {

constexpr double kMaxPj = 1e12;

double per_precision(core::ObjectReader& reader, const std::string& key,
                     const std::string& precision) {
  core::ObjectReader table = reader.object(key);
  if (!table.has(precision)) {
    table.fail(precision, "no energy for precision \"" + precision + "\" (hw.energy.precision)");
  }
  double value = 0;
  for (const auto& [name, v] : reader.at(key).items()) {
    const double pj = table.number(name, 0.0, kMaxPj);
    if (name == precision) value = pj;
  }
  table.finish();
  return value;
}

// log-log interpolation over (capacity, energy) points; `pick` selects read or write.
template <typename Pick>
double interpolate(const std::vector<SramEnergyPoint>& points, double capacity, Pick pick) {
  LPSIM_ASSERT(!points.empty() && capacity > 0, "sram energy: no points or capacity 0");
  if (points.size() == 1) return pick(points[0]);
  std::size_t i = 1;
  while (i + 1 < points.size() && points[i].capacity_bytes < capacity) ++i;
  const SramEnergyPoint& a = points[i - 1];
  const SramEnergyPoint& b = points[i];
  const double ea = pick(a), eb = pick(b);
  if (ea <= 0 || eb <= 0) {  // a zero energy has no logarithm: interpolate linearly
    const double t = (capacity - a.capacity_bytes) / (b.capacity_bytes - a.capacity_bytes);
    return std::max(0.0, ea + t * (eb - ea));
  }
  const double t =
      std::log(capacity / a.capacity_bytes) / std::log(b.capacity_bytes / a.capacity_bytes);
  return std::exp(std::log(ea) + t * (std::log(eb) - std::log(ea)));
}

core::Json breakdown_json(const EnergyBreakdown& e) {
  return {{"mac", e.mac},   {"vector", e.vector}, {"sram", e.sram},      {"dram", e.dram},
          {"link", e.link}, {"units", e.units},   {"static", e.statics}, {"total", e.total()}};
}

}  // namespace

EnergyTable read_energy_table(core::ObjectReader& r) {
  EnergyTable t;
  t.source = r.string("source");
  t.precision = r.string("precision");
  t.mac_pj = per_precision(r, "mac_pj", t.precision);
  t.accumulate_pj = per_precision(r, "accumulate_pj", t.precision);
  t.vector_op_pj = r.number("vector_op_pj", 0.0, kMaxPj);
  const core::Json& points = r.array("sram_pj_per_byte");
  if (points.empty())
    r.fail("sram_pj_per_byte", "expected at least one {capacity_bytes, read, write} point");
  for (std::size_t i = 0; i < points.size(); ++i) {
    core::ObjectReader p(points[i], r.file(),
                         core::pointer_append(r.pointer("sram_pj_per_byte"), i));
    SramEnergyPoint point;
    point.capacity_bytes =
        static_cast<double>(p.integer("capacity_bytes", 1, std::int64_t{1} << 50));
    point.read_pj_per_byte = p.number("read", 0.0, kMaxPj);
    point.write_pj_per_byte = p.number("write", 0.0, kMaxPj);
    if (!t.sram.empty() && point.capacity_bytes <= t.sram.back().capacity_bytes) {
      p.fail("capacity_bytes",
             "expected capacities in ascending order, each larger than the one before");
    }
    p.finish();
    t.sram.push_back(point);
  }
  t.dram_pj_per_byte = r.number("dram_pj_per_byte", 0.0, kMaxPj);
  t.link_pj_per_byte = r.number("link_pj_per_byte", 0.0, kMaxPj);
  t.pe_static_mw = r.number("pe_static_mw", 0.0, 1e9);
  t.sram_static_nw_per_byte = r.number("sram_static_nw_per_byte", 0.0, 1e9);
  r.finish();
  return t;
}

double sram_read_pj_per_byte(const EnergyTable& table, double capacity_bytes) {
  return interpolate(table.sram, capacity_bytes,
                     [](const SramEnergyPoint& p) { return p.read_pj_per_byte; });
}

double sram_write_pj_per_byte(const EnergyTable& table, double capacity_bytes) {
  return interpolate(table.sram, capacity_bytes,
                     [](const SramEnergyPoint& p) { return p.write_pj_per_byte; });
}

EnergyBreakdown& EnergyBreakdown::operator+=(const EnergyBreakdown& o) {
  mac += o.mac;
  vector += o.vector;
  sram += o.sram;
  dram += o.dram;
  link += o.link;
  units += o.units;
  statics += o.statics;
  return *this;
}

EnergyBreakdown pe_energy(const EnergyTable& table, const PeActivity& a, double time_ns) {
  const auto d = [](std::uint64_t n) { return static_cast<double>(n); };
  const double capacity = d(a.sram_capacity_bytes);
  const double bank = d(std::min(a.sram_bank_bytes, a.sram_capacity_bytes));
  const double read = sram_read_pj_per_byte(table, bank);
  const double write = sram_write_pj_per_byte(table, bank);
  EnergyBreakdown e;
  e.mac = d(a.macs) * table.mac_pj + d(a.accumulates) * table.accumulate_pj;
  e.vector = d(a.vector_ops) * table.vector_op_pj;
  e.sram = d(a.sram_read_bytes) * read + d(a.sram_write_bytes) * write;
  e.dram = d(a.dram_bytes) * table.dram_pj_per_byte;
  e.link = d(a.link_bytes) * table.link_pj_per_byte;
  e.units = d(a.unit_sram_read_bytes) * read + d(a.unit_sram_write_bytes) * write +
            d(a.unit_lane_ops) * table.vector_op_pj;
  // mW · ns = pJ; nW · ns = 1e-3 pJ.
  e.statics = (table.pe_static_mw + 1e-6 * table.sram_static_nw_per_byte * capacity) * time_ns;
  return e;
}

core::Json energy_json(const EnergyTable& table, const std::vector<PeActivity>& pes,
                       const std::vector<std::string>& names, double time_ns,
                       std::int64_t minibatches, std::int64_t batch_size) {
  LPSIM_ASSERT(pes.size() == names.size(), "energy_json: one name per PE");
  EnergyBreakdown total;
  core::Json per_pe = core::Json::array();
  std::map<std::string, double> sram_by_kind;
  for (std::size_t p = 0; p < pes.size(); ++p) {
    const EnergyBreakdown e = pe_energy(table, pes[p], time_ns);
    const double bank_bytes =
        static_cast<double>(std::min(pes[p].sram_bank_bytes, pes[p].sram_capacity_bytes));
    for (const auto& [kind, bytes] : pes[p].sram_by_kind) {
      sram_by_kind[kind] +=
          static_cast<double>(bytes.first) * sram_read_pj_per_byte(table, bank_bytes) +
          static_cast<double>(bytes.second) * sram_write_pj_per_byte(table, bank_bytes);
    }
    total += e;
    core::Json j = breakdown_json(e);
    j["name"] = names[p];
    const auto bank =
        static_cast<double>(std::min(pes[p].sram_bank_bytes, pes[p].sram_capacity_bytes));
    j["sram_read_pj_per_byte"] = sram_read_pj_per_byte(table, bank);
    j["sram_write_pj_per_byte"] = sram_write_pj_per_byte(table, bank);
    per_pe.push_back(j);
  }
  const double n = static_cast<double>(std::max<std::int64_t>(1, minibatches));
  const double samples = n * static_cast<double>(std::max<std::int64_t>(1, batch_size));
  return {{"source", table.source},
          {"precision", table.precision},
          {"total_pj", total.total()},
          {"per_minibatch_pj", total.total() / n},
          {"per_sample_pj", total.total() / samples},
          {"by_component_pj", breakdown_json(total)},
          {"sram_by_kind_pj", sram_by_kind},
          {"per_pe", per_pe}};
}

}  // namespace lpsim::reports
