#!/usr/bin/env python3
"""Recomputes the energy of every hardware report under REPORTS from its raw counters and the
energy table in the config.json beside it, independently of reports/energy.cpp, and checks the
report's figures (total, components, per minibatch, per sample, per-PE rows summing to the
total). Exits 1 on any difference beyond 1e-9 relative, 2 if no hardware report was found."""
import json
import math
import pathlib
import sys


def sram_pj_per_byte(points, capacity, key):
    """log-log interpolation over the table's points, extended with the nearest segment."""
    if len(points) == 1:
        return points[0][key]
    i = 1
    while i + 1 < len(points) and points[i]["capacity_bytes"] < capacity:
        i += 1
    a, b = points[i - 1], points[i]
    ea, eb = a[key], b[key]
    if ea <= 0 or eb <= 0:
        t = (capacity - a["capacity_bytes"]) / (b["capacity_bytes"] - a["capacity_bytes"])
        return max(0.0, ea + t * (eb - ea))
    t = math.log(capacity / a["capacity_bytes"]) / math.log(b["capacity_bytes"] / a["capacity_bytes"])
    return math.exp(math.log(ea) + t * (math.log(eb) - math.log(ea)))


def expected_energy(report, config):
    table = config["hw"]["energy"]
    rows = table["arithmetic"]
    accumulate = config["hw"]["numerics"]["accumulate"]
    capacity = config["hw"]["sram"]["capacity_bytes"]
    bank = min(capacity, config["hw"]["sram"]["bank_bytes"])
    read = sram_pj_per_byte(table["sram_pj_per_byte"], bank, "read")
    write = sram_pj_per_byte(table["sram_pj_per_byte"], bank, "write")
    units = report["units"]
    pes = [u for name, u in units.items() if name.startswith("top.pe")]
    e = dict(mac=0.0, vector=0.0, sram=0.0, dram=0.0, link=0.0, units=0.0, static=0.0)
    for pe in pes:
        if sum(pe["macs_by_format"].values()) != pe["macs"]:
            raise SystemExit(f"the MACs by format {pe['macs_by_format']} do not sum to {pe['macs']}")
        e["mac"] += sum(n * rows[f]["multiply_pj"] for f, n in pe["macs_by_format"].items())
        e["mac"] += (pe["macs"] + pe["accumulates"]) * rows[accumulate]["add_pj"]
        e["vector"] += pe["vector_ops"] * table["vector_op_pj"]
        e["sram"] += pe["sram_read_bytes"] * read + pe["sram_write_bytes"] * write
    for name, u in units.items():
        if name.startswith("top.stash_") or name.startswith("top.ema_"):
            e["units"] += u["bytes_read"] * read + u["bytes_written"] * write
            e["units"] += u.get("lane_ops", 0) * table["vector_op_pj"]
        elif name.startswith("top.link_"):
            e["link"] += u["bytes"] * table["link_pj_per_byte"]
        elif name == "top.dram":
            e["dram"] += u["bytes_transferred"] * table["dram_pj_per_byte"]
            dram_bytes = sum(pe["dram_read_bytes"] + pe["dram_write_bytes"] for pe in pes)
            if dram_bytes != u["bytes_transferred"]:
                raise SystemExit(f"DRAM moved {u['bytes_transferred']} bytes, the PEs count {dram_bytes}")
    time_ns = report["summary"]["total_cycles"] * report["hw"]["period_ns"]
    e["static"] = len(pes) * (table["pe_static_mw"] + 1e-6 * table["sram_static_nw_per_byte"] * capacity) * time_ns
    e["total"] = sum(e.values())
    return e


def close(a, b):
    return abs(a - b) <= 1e-9 * max(1.0, abs(a), abs(b))


def main():
    root = pathlib.Path(sys.argv[1])
    checked, failures = 0, []
    for path in sorted(root.rglob("report.json")):
        report = json.loads(path.read_text())
        if report.get("energy") is None:
            continue
        config = json.loads((path.parent / "config.json").read_text())
        want = expected_energy(report, config)
        got = report["energy"]
        for k, v in want.items():
            if not close(got["by_component_pj"][k], v):
                failures.append(f"{path}: {k} is {got['by_component_pj'][k]}, recomputed {v}")
        if not close(got["total_pj"], want["total"]):
            failures.append(f"{path}: total_pj {got['total_pj']}, recomputed {want['total']}")
        n = max(1, report["summary"]["minibatches"])
        if not close(got["per_minibatch_pj"], want["total"] / n):
            failures.append(f"{path}: per_minibatch_pj {got['per_minibatch_pj']}")
        batch = config["workload"]["batch_size"]
        if not close(got["per_sample_pj"], want["total"] / (n * batch)):
            failures.append(f"{path}: per_sample_pj {got['per_sample_pj']}")
        if not close(sum(got["dram_by_kind_pj"].values()), got["by_component_pj"]["dram"]):
            failures.append(f"{path}: dram_by_kind_pj does not sum to the DRAM energy")
        if not close(sum(p["total"] for p in got["per_pe"]), got["total_pj"]):
            failures.append(f"{path}: per-PE rows do not sum to the total")
        if want["mac"] <= 0 or want["sram"] <= 0:
            failures.append(f"{path}: no MAC or SRAM energy: the counters are not filled")
        checked += 1
    for f in failures:
        print(f)
    print(f"energy recomputed for {checked} reports, {len(failures)} differences")
    if checked == 0:
        return 2
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
