// reports/energy: the energy reference table read strictly, SRAM energy interpolated in
// log(capacity)-log(energy), and each component the product of a count and a table entry.
#include "reports/energy.h"

#include <gtest/gtest.h>

#include <cmath>
#include <string>

#include "core/errors.h"

namespace lpsim::reports {
namespace {

EnergyTable read(const core::Json& doc) {
  core::ObjectReader r(doc, "config.json", "/hw/energy");
  return read_energy_table(r);
}

std::string error_of(const core::Json& doc) {
  try {
    read(doc);
  } catch (const core::ConfigError& e) {
    return e.what();
  }
  return "";
}

TEST(EnergyTable, DefaultsAreHorowitz2014) {
  const EnergyTable t = read(default_energy_document());
  EXPECT_DOUBLE_EQ(t.arithmetic.at("fp32").multiply_pj, 3.7);
  EXPECT_DOUBLE_EQ(t.arithmetic.at("fp32").add_pj, 0.9);
  EXPECT_DOUBLE_EQ(t.arithmetic.at("fp16").multiply_pj, 1.1);
  EXPECT_DOUBLE_EQ(t.arithmetic.at("fp16").add_pj, 0.4);
  EXPECT_EQ(t.arithmetic.at("fp16").source, "Horowitz, ISSCC 2014, 45 nm");
  // The narrow formats: fp16's multiply times the square of the significand ratio (8, 4
  // and 3 bits against 11), each row saying so.
  EXPECT_NEAR(t.arithmetic.at("bf16").multiply_pj, 1.1 * 64 / 121, 1e-3);
  EXPECT_NEAR(t.arithmetic.at("fp8_e4m3").multiply_pj, 1.1 * 16 / 121, 1e-3);
  EXPECT_NEAR(t.arithmetic.at("fp8_e5m2").multiply_pj, 1.1 * 9 / 121, 1e-3);
  for (const char* f : {"bf16", "fp8_e4m3", "fp8_e5m2"}) {
    EXPECT_EQ(t.arithmetic.at(f).source.rfind("derived: ", 0), 0u) << f;
  }
  EXPECT_EQ(t.arithmetic.size(), 5u);
  EXPECT_DOUBLE_EQ(t.dram_pj_per_byte, 1300.0 / 8);  // 1.3 nJ per 64-bit access
  // 10, 20 and 100 pJ per 64-bit read at 8 KB, 32 KB, 1 MB.
  EXPECT_DOUBLE_EQ(sram_read_pj_per_byte(t, 8192), 10.0 / 8);
  EXPECT_DOUBLE_EQ(sram_read_pj_per_byte(t, 32768), 20.0 / 8);
  EXPECT_NEAR(sram_read_pj_per_byte(t, 1 << 20), 100.0 / 8, 1e-12);
}

TEST(EnergyTable, EveryKeyIsDeclaredOnceWithADefault) {
  // The default document is the table's, and each of its keys has one row.
  const core::Json doc = default_energy_document();
  const auto& params = energy_parameters().params();
  EXPECT_EQ(doc.size(), params.size());
  for (const auto& p : params) {
    EXPECT_EQ(doc.at(core::Json::json_pointer(p.pointer)), p.default_value) << p.pointer;
    EXPECT_FALSE(p.meaning.empty()) << p.pointer;
  }
  const std::string md = energy_parameters().markdown("hw.energy.");
  EXPECT_NE(md.find("| `hw.energy.dram_pj_per_byte` | [0, 1e+12] | pJ/B | `162.5` |"),
            std::string::npos)
      << md;
}

// A MAC costs its product's multiply plus an add in the accumulator's format; a spike slot
// the add alone (ARCHITECTURE.md §2d).
TEST(PeEnergy, AMacCostsItsProductsMultiplyAndTheAccumulatorsAdd) {
  const EnergyTable t = read(default_energy_document());
  PeActivity a;
  a.macs = 1000;
  a.macs_by_format = {{"fp32", 100}, {"bf16", 600}, {"fp8_e4m3", 300}};
  a.accumulates = 50;
  a.sram_capacity_bytes = a.sram_bank_bytes = 8192;
  EXPECT_DOUBLE_EQ(pe_energy(t, a, 0).mac,
                   100 * 3.7 + 600 * 0.582 + 300 * 0.145 + (1000 + 50) * 0.9);
  a.accumulate_format = "fp16";
  EXPECT_DOUBLE_EQ(pe_energy(t, a, 0).mac,
                   100 * 3.7 + 600 * 0.582 + 300 * 0.145 + (1000 + 50) * 0.4);
}

TEST(SramEnergy, InterpolatesLogLogAndExtendsTheNearestSegment) {
  core::Json doc = default_energy_document();
  doc["sram_pj_per_byte"] = core::Json::parse(
      R"([{"capacity_bytes": 1000, "read": 1.0, "write": 2.0},
          {"capacity_bytes": 100000, "read": 100.0, "write": 2.0}])");
  const EnergyTable t = read(doc);
  // Halfway in log capacity is halfway in log energy: sqrt(1 * 100).
  EXPECT_NEAR(sram_read_pj_per_byte(t, 10000), 10.0, 1e-12);
  EXPECT_NEAR(sram_write_pj_per_byte(t, 10000), 2.0, 1e-12);
  // Beyond the points: slope 1 in log-log both ways.
  EXPECT_NEAR(sram_read_pj_per_byte(t, 1e7), 1e4, 1e-6);
  EXPECT_NEAR(sram_read_pj_per_byte(t, 10), 0.01, 1e-15);
  // Monotone between the points.
  double last = 0;
  for (double c = 1000; c <= 100000; c *= 1.5) {
    const double e = sram_read_pj_per_byte(t, c);
    EXPECT_GT(e, last);
    last = e;
  }
}

TEST(PeEnergy, EachComponentIsCountTimesTableEntry) {
  core::Json doc = default_energy_document();
  doc["pe_static_mw"] = 2.0;
  doc["sram_static_nw_per_byte"] = 0.5;
  const EnergyTable t = read(doc);
  PeActivity a;
  a.macs = 1000;
  a.macs_by_format["fp32"] = 1000;
  a.accumulates = 10;
  a.vector_ops = 300;
  a.sram_read_bytes = 4096;
  a.sram_write_bytes = 1024;
  a.unit_sram_read_bytes = 512;
  a.unit_sram_write_bytes = 256;
  a.unit_lane_ops = 64;
  a.dram_bytes = 80;
  a.link_bytes = 40;
  a.sram_capacity_bytes = 1 << 20;
  a.sram_bank_bytes = 32768;  // 2.5 pJ per byte
  const EnergyBreakdown e = pe_energy(t, a, 100.0);
  EXPECT_DOUBLE_EQ(e.mac, 1000 * 4.6 + 10 * 0.9);
  EXPECT_DOUBLE_EQ(e.vector, 300 * 0.9);
  EXPECT_DOUBLE_EQ(e.sram, (4096 + 1024) * 2.5);
  EXPECT_DOUBLE_EQ(e.units, (512 + 256) * 2.5 + 64 * 0.9);
  EXPECT_DOUBLE_EQ(e.dram, 80 * 162.5);
  EXPECT_DOUBLE_EQ(e.link, 40 * 12.5);
  EXPECT_DOUBLE_EQ(e.statics, (2.0 + 1e-6 * 0.5 * (1 << 20)) * 100.0);  // the whole capacity
  EXPECT_DOUBLE_EQ(e.total(), e.mac + e.vector + e.sram + e.units + e.dram + e.link + e.statics);
  const core::Json j =
      energy_json(t, {a, a}, {"top.pe0", "top.pe1"}, 100.0, 4, 8, {{"weights", 10}, {"stash", 0}});
  EXPECT_DOUBLE_EQ(j.at("total_pj").get<double>(), 2 * e.total());
  EXPECT_DOUBLE_EQ(j.at("per_minibatch_pj").get<double>(), 2 * e.total() / 4);
  EXPECT_DOUBLE_EQ(j.at("per_sample_pj").get<double>(), 2 * e.total() / 32);
  EXPECT_EQ(j.at("per_pe").at(1).at("name"), "top.pe1");
  // DRAM energy by kind: the kinds given, their bytes at the table's energy per byte.
  EXPECT_DOUBLE_EQ(j.at("dram_by_kind_pj").at("weights").get<double>(), 10 * 162.5);
  EXPECT_DOUBLE_EQ(j.at("dram_by_kind_pj").at("stash").get<double>(), 0.0);
  EXPECT_EQ(j.at("dram_by_kind_pj").size(), 2u);
  EXPECT_DOUBLE_EQ(dram_pj(t, 80), e.dram);
  // A bank larger than the SRAM is the SRAM.
  a.sram_capacity_bytes = 8192;
  a.sram_bank_bytes = 1 << 20;
  EXPECT_DOUBLE_EQ(pe_energy(t, a, 0).sram, (4096 + 1024) * 1.25);
}

TEST(EnergyTableFaults, NameTheFieldAndTheExpectation) {
  core::Json doc = default_energy_document();
  doc["arithmetic"]["bf16"].erase("add_pj");
  EXPECT_NE(error_of(doc).find("/hw/energy/arithmetic/bf16"), std::string::npos) << error_of(doc);
  EXPECT_NE(error_of(doc).find("add_pj"), std::string::npos) << error_of(doc);
  doc = default_energy_document();
  doc["arithmetic"]["fp16"]["source"] = 3;
  EXPECT_NE(error_of(doc).find("/hw/energy/arithmetic/fp16/source"), std::string::npos)
      << error_of(doc);
  doc = default_energy_document();
  doc["arithmetic"]["fp16"]["cost"] = 3;
  EXPECT_NE(error_of(doc).find("/hw/energy/arithmetic/fp16/cost"), std::string::npos)
      << error_of(doc);
  doc = default_energy_document();
  doc["sram_pj_per_byte"][1]["capacity_bytes"] = 4096;
  EXPECT_NE(error_of(doc).find("/hw/energy/sram_pj_per_byte/1/capacity_bytes"), std::string::npos)
      << error_of(doc);
  EXPECT_NE(error_of(doc).find("ascending"), std::string::npos);
  doc = default_energy_document();
  doc["dram_pj_per_byte"] = -1;
  EXPECT_NE(error_of(doc).find("/hw/energy/dram_pj_per_byte"), std::string::npos);
  doc = default_energy_document();
  doc["sram_pj_per_byte"] = core::Json::array();
  EXPECT_NE(error_of(doc).find("at least one"), std::string::npos);
  doc = default_energy_document();
  doc["dram_pj_per_bit"] = 1;
  EXPECT_NE(error_of(doc).find("dram_pj_per_bit"), std::string::npos);
  doc = default_energy_document();
  doc["arithmetic"]["fp8_e4m3"]["multiply_pj"] = "cheap";
  EXPECT_NE(error_of(doc).find("/hw/energy/arithmetic/fp8_e4m3/multiply_pj"), std::string::npos);
}

}  // namespace
}  // namespace lpsim::reports
