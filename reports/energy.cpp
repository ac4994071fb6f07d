#include "reports/energy.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/errors.h"

namespace lpsim::reports {

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

std::vector<SramEnergyPoint> sram_points(core::ObjectReader& r, const std::string& key) {
  const core::Json& points = r.array(key);
  if (points.empty()) r.fail(key, "expected at least one {capacity_bytes, read, write} point");
  std::vector<SramEnergyPoint> out;
  for (std::size_t i = 0; i < points.size(); ++i) {
    core::ObjectReader p(points[i], r.file(), core::pointer_append(r.pointer(key), i));
    SramEnergyPoint point;
    point.capacity_bytes =
        static_cast<double>(p.integer("capacity_bytes", 1, std::int64_t{1} << 50));
    point.read_pj_per_byte = p.number("read", 0.0, kMaxPj);
    point.write_pj_per_byte = p.number("write", 0.0, kMaxPj);
    if (!out.empty() && point.capacity_bytes <= out.back().capacity_bytes) {
      p.fail("capacity_bytes",
             "expected capacities in ascending order, each larger than the one before");
    }
    p.finish();
    out.push_back(point);
  }
  return out;
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

const core::ParamTable<EnergyTable>& energy_parameters() {
  // Horowitz, "Computing's energy problem (and what we can do about it)", ISSCC 2014, 45 nm:
  // fp32 add 0.9 pJ, multiply 3.7 pJ; fp16 add 0.4, multiply 1.1; int8 add 0.03, multiply
  // 0.2; a 64-bit SRAM read 10 pJ at 8 KB, 20 pJ at 32 KB, 100 pJ at 1 MB (writes taken
  // equal); a 64-bit DRAM access 1.3-2.6 nJ (the lower end: 162.5 pJ per byte). The paper
  // gives no on-chip link or static figure: a link byte is costed as a 1 MB SRAM byte and
  // static power is 0 unless configured.
  using core::number_param;
  using core::Param;
  using core::string_param;
  static const core::ParamTable<EnergyTable> table({
      string_param<EnergyTable>("/source", "Horowitz, ISSCC 2014, 45 nm", "string",
                                "where the table's numbers come from (copied to the report)",
                                [](EnergyTable& t, const std::string& v) { t.source = v; }),
      string_param<EnergyTable>("/precision", "fp32", "a key of `mac_pj`",
                                "the arithmetic MACs are costed in (the math itself is fp32)",
                                [](EnergyTable& t, const std::string& v) { t.precision = v; }),
      Param<EnergyTable>{"/mac_pj", core::Json{{"fp32", 4.6}, {"fp16", 1.5}, {"int8", 0.23}},
                         "an object: precision → [0, 1e+12]", "pJ",
                         "one multiply-accumulate with two real operands, by precision", false,
                         [](core::ObjectReader& r, const std::string& key, EnergyTable& t) {
                           t.mac_pj = per_precision(r, key, t.precision);
                         }},
      Param<EnergyTable>{"/accumulate_pj", core::Json{{"fp32", 0.9}, {"fp16", 0.4}, {"int8", 0.03}},
                         "an object: precision → [0, 1e+12]", "pJ",
                         "one accumulate (a GEMM slot with a spike operand), by precision", false,
                         [](core::ObjectReader& r, const std::string& key, EnergyTable& t) {
                           t.accumulate_pj = per_precision(r, key, t.precision);
                         }},
      number_param<EnergyTable>("/vector_op_pj", 0.9, 0.0, kMaxPj, "pJ",
                                "one element operation (vector unit, EMA unit lanes)",
                                [](EnergyTable& t, double v) { t.vector_op_pj = v; }),
      Param<EnergyTable>{
          "/sram_pj_per_byte",
          core::Json::parse(R"([{"capacity_bytes": 8192, "read": 1.25, "write": 1.25},
                                {"capacity_bytes": 32768, "read": 2.5, "write": 2.5},
                                {"capacity_bytes": 1048576, "read": 12.5, "write": 12.5}])"),
          "`[{capacity_bytes, read, write}]`, capacities ascending", "pJ/B",
          "per byte at a bank capacity; interpolated log-log at min(`hw.sram.bank_bytes`, "
          "`hw.sram.capacity_bytes`), extended with the nearest segment's slope",
          false,
          [](core::ObjectReader& r, const std::string& key, EnergyTable& t) {
            t.sram = sram_points(r, key);
          }},
      number_param<EnergyTable>("/dram_pj_per_byte", 162.5, 0.0, kMaxPj, "pJ/B", "a DRAM byte",
                                [](EnergyTable& t, double v) { t.dram_pj_per_byte = v; }),
      number_param<EnergyTable>("/link_pj_per_byte", 12.5, 0.0, kMaxPj, "pJ/B",
                                "a byte sent on a link",
                                [](EnergyTable& t, double v) { t.link_pj_per_byte = v; }),
      number_param<EnergyTable>("/pe_static_mw", 0.0, 0.0, 1e9, "mW",
                                "static power per PE, times the run's time",
                                [](EnergyTable& t, double v) { t.pe_static_mw = v; }),
      number_param<EnergyTable>("/sram_static_nw_per_byte", 0.0, 0.0, 1e9, "nW/B",
                                "static power per byte of SRAM capacity, times the run's time",
                                [](EnergyTable& t, double v) { t.sram_static_nw_per_byte = v; }),
  });
  return table;
}

core::Json default_energy_document() { return energy_parameters().default_document(); }

EnergyTable read_energy_table(core::ObjectReader& r) {
  EnergyTable t;
  energy_parameters().read_fields(r, t);
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

double dram_pj(const EnergyTable& table, std::uint64_t bytes) {
  return static_cast<double>(bytes) * table.dram_pj_per_byte;
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
  e.dram = dram_pj(table, a.dram_bytes);
  e.link = d(a.link_bytes) * table.link_pj_per_byte;
  e.units = d(a.unit_sram_read_bytes) * read + d(a.unit_sram_write_bytes) * write +
            d(a.unit_lane_ops) * table.vector_op_pj;
  // mW · ns = pJ; nW · ns = 1e-3 pJ.
  e.statics = (table.pe_static_mw + 1e-6 * table.sram_static_nw_per_byte * capacity) * time_ns;
  return e;
}

core::Json energy_json(const EnergyTable& table, const std::vector<PeActivity>& pes,
                       const std::vector<std::string>& names, double time_ns,
                       std::int64_t minibatches, std::int64_t batch_size,
                       const std::map<std::string, std::uint64_t>& dram_bytes_by_kind) {
  LPSIM_ASSERT(pes.size() == names.size(), "energy_json: one name per PE");
  std::map<std::string, double> dram_by_kind;
  for (const auto& [kind, bytes] : dram_bytes_by_kind) dram_by_kind[kind] = dram_pj(table, bytes);
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
          {"dram_by_kind_pj", dram_by_kind},
          {"per_pe", per_pe}};
}

}  // namespace lpsim::reports
