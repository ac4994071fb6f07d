#include "reports/energy.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/errors.h"

namespace lpsim::reports {

namespace {

constexpr double kMaxPj = 1e12;

std::map<std::string, ArithmeticRow> arithmetic_rows(core::ObjectReader& reader,
                                                     const std::string& key) {
  core::ObjectReader table = reader.object(key);
  std::map<std::string, ArithmeticRow> rows;
  for (const auto& [name, v] : reader.at(key).items()) {
    core::ObjectReader row = table.object(name);
    ArithmeticRow r;
    r.multiply_pj = row.number("multiply_pj", 0.0, kMaxPj);
    r.add_pj = row.number("add_pj", 0.0, kMaxPj);
    r.source = row.string("source");
    row.finish();
    rows[name] = r;
  }
  table.finish();
  return rows;
}

const ArithmeticRow& row_of(const EnergyTable& table, const std::string& format) {
  const auto it = table.arithmetic.find(format);
  LPSIM_ASSERT(it != table.arithmetic.end(), "the energy table has no row for " + format);
  return it->second;
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

core::Json arithmetic_json(const EnergyTable& table) {
  core::Json rows = core::Json::object();
  for (const auto& [name, r] : table.arithmetic) {
    rows[name] = {{"multiply_pj", r.multiply_pj}, {"add_pj", r.add_pj}, {"source", r.source}};
  }
  return rows;
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
  // static power is 0 unless configured. Nor bf16 or fp8 arithmetic: their multiplies are
  // Horowitz's fp16 multiply scaled by the square of the significand width (a multiplier's
  // size grows with it; Wang and Kanwar, "BFloat16: the secret to high performance on Cloud
  // TPUs", Google Cloud blog, 2019, give a bf16 multiplier half an fp16 one), their adds
  // fp16's scaled by the total width. Each row carries its source into the report.
  using core::number_param;
  using core::Param;
  using core::string_param;
  static const core::ParamTable<EnergyTable> table({
      string_param<EnergyTable>("/source", "Horowitz, ISSCC 2014, 45 nm", "string",
                                "where the table's numbers come from (copied to the report)",
                                [](EnergyTable& t, const std::string& v) { t.source = v; }),
      Param<EnergyTable>{
          "/arithmetic", core::Json::parse(R"json({
            "fp32": {"multiply_pj": 3.7, "add_pj": 0.9,
                     "source": "Horowitz, ISSCC 2014, 45 nm"},
            "fp16": {"multiply_pj": 1.1, "add_pj": 0.4,
                     "source": "Horowitz, ISSCC 2014, 45 nm"},
            "bf16": {"multiply_pj": 0.582, "add_pj": 0.4,
                     "source": "derived: Horowitz's fp16 multiply x (8/11)^2, a multiplier's size growing with the square of the significand (Wang and Kanwar, Google Cloud blog, 2019: a bf16 multiplier half an fp16 one); add: fp16's (same width)"},
            "fp8_e4m3": {"multiply_pj": 0.145, "add_pj": 0.2,
                         "source": "derived: Horowitz's fp16 multiply x (4/11)^2 (significand squared, as bf16); add: fp16's x 8/16 (width)"},
            "fp8_e5m2": {"multiply_pj": 0.0818, "add_pj": 0.2,
                         "source": "derived: Horowitz's fp16 multiply x (3/11)^2 (significand squared, as bf16); add: fp16's x 8/16 (width)"}})json"),
          "an object: format → {multiply_pj, add_pj, source}", "pJ",
          "a row per number format (§2d): a MAC costs its product's multiply (the wider "
          "operand's format) plus an add in `hw.numerics.accumulate`; a spike-operand slot "
          "the add alone",
          false,
          [](core::ObjectReader& r, const std::string& key, EnergyTable& t) {
            t.arithmetic = arithmetic_rows(r, key);
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
  std::uint64_t counted = 0;
  for (const auto& [format, n] : a.macs_by_format) {
    e.mac += d(n) * row_of(table, format).multiply_pj;
    counted += n;
  }
  LPSIM_ASSERT(counted == a.macs, "pe_energy: the MACs by format do not add up to the MACs");
  e.mac += d(a.macs + a.accumulates) * row_of(table, a.accumulate_format).add_pj;
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
          {"arithmetic", arithmetic_json(table)},
          {"total_pj", total.total()},
          {"per_minibatch_pj", total.total() / n},
          {"per_sample_pj", total.total() / samples},
          {"by_component_pj", breakdown_json(total)},
          {"sram_by_kind_pj", sram_by_kind},
          {"dram_by_kind_pj", dram_by_kind},
          {"per_pe", per_pe}};
}

}  // namespace lpsim::reports
