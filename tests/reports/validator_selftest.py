#!/usr/bin/python3
"""Does reports/validate_reports.py catch broken reports? Copies the valid reports of
tests/reports (one per mode), breaks each in one way, and checks that the validator exits
1 and names the broken field's JSON pointer; the unbroken copies must pass.

    validator_selftest.py --validator validate_reports.py --reports DIR --work DIR
"""

import argparse
import contextlib
import copy
import importlib.util
import io
import json
import os
import shutil
import sys


def drop(path):
    def change(report):
        node = report
        for key in path[:-1]:
            node = node[key]
        del node[path[-1]]
    return change


def put(path, value):
    def change(report):
        node = report
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = value
    return change


# (mode of the report to break, what to do, the pointer the validator must print)
CASES = [
    ("hardware", drop(["summary", "total_cycles"]), "/summary"),
    ("hardware", put(["summary", "total_cycles"], None), "/summary/total_cycles"),
    ("hardware", put(["summary", "utilization"], 1.5), "/summary/utilization"),
    ("hardware", put(["summary", "memory_peak_bytes", "stash"], -1),
     "/summary/memory_peak_bytes/stash"),
    ("hardware", put(["summary", "memory_peak_bytes", "sram"], 0), "/summary/memory_peak_bytes"),
    ("hardware", put(["layers", 1, "delay"], "2"), "/layers/1/delay"),
    ("hardware", put(["layers", 0, "measured_staleness"], None), "/layers/0/measured_staleness"),
    ("hardware", put(["training", "epochs", 0, "extra"], 1), "/training/epochs/0"),
    ("hardware", drop(["training", "final_test_loss"]), "/training"),
    ("hardware", put(["training", "epochs"], []), "/training/epochs"),
    ("hardware", put(["summary", "throughput_samples_per_s"], None),
     "/summary/throughput_samples_per_s"),
    ("hardware", put(["memory_by_stage", 0, "measured", "total"], 1.5),
     "/memory_by_stage/0/measured/total"),
    ("hardware", put(["processors", 0, "busy_cycles"], None), "/processors/0/busy_cycles"),
    ("hardware", put(["units", "top.pe0", "busy_cycles"], 0.5), "/units/top.pe0/busy_cycles"),
    ("hardware", put(["hw", "pe", "dataflow"], "rs"), "/hw/pe/dataflow"),
    ("hardware", put(["mode"], "simulation"), "/mode"),
    ("hardware", put(["stability", "computed"], "yes"), "/stability/computed"),
    ("hardware", drop(["meta"]), "/"),
    ("hardware_timing_only", put(["summary", "final_test_accuracy"], 0.5),
     "/summary/final_test_accuracy"),
    ("hardware_timing_only", put(["training", "final_test_accuracy"], 0.5),
     "/training/final_test_accuracy"),
    ("reference", put(["summary", "total_cycles"], 1000), "/summary/total_cycles"),
    ("reference", put(["summary", "utilization"], 0.5), "/summary"),
    ("reference", put(["processors"], []), "/processors"),
    ("reference", put(["hw"], {"period_ns": 1.0}), "/hw"),
    ("reference", put(["units", "top.pe0"], {"busy_cycles": 1}), "/units"),
    ("reference", put(["layers", 0, "measured_staleness"], 4), "/layers/0/measured_staleness"),
]


def load_validator(path):
    """The validator's main(argv), loaded in this process (a subprocess per case is slow)."""
    spec = importlib.util.spec_from_file_location("validate_reports", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)

    def run(report_path):
        output = io.StringIO()
        with contextlib.redirect_stdout(output), contextlib.redirect_stderr(output):
            code = module.main([report_path])
        return code, output.getvalue()
    return run


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--validator", required=True)
    parser.add_argument("--reports", required=True, help="directory with <mode>/report.json")
    parser.add_argument("--work", required=True, help="scratch directory (emptied)")
    args = parser.parse_args()
    run_validator = load_validator(args.validator)

    shutil.rmtree(args.work, ignore_errors=True)
    os.makedirs(args.work)
    originals = {}
    for mode in sorted({c[0] for c in CASES}):
        with open(os.path.join(args.reports, mode, "report.json"), encoding="utf-8") as f:
            originals[mode] = json.load(f)

    failures = 0
    for i, (mode, change, pointer) in enumerate(CASES):
        report = copy.deepcopy(originals[mode])
        change(report)
        path = os.path.join(args.work, f"case{i:02d}_{mode}", "report.json")
        os.makedirs(os.path.dirname(path))
        with open(path, "w", encoding="utf-8") as f:
            json.dump(report, f)
        code, output = run_validator(path)
        expected = f"{path}: {pointer}: "
        if code != 1 or expected not in output:
            failures += 1
            print(f"FAIL case {i} ({mode}, expected exit 1 and '{pointer}'): exit {code}\n{output}")
        else:
            print(f"ok   case {i} ({mode}) {pointer}")

    # The untouched copies pass, so does an interrupted run that trained nothing, NaN is
    # refused, and an empty tree is an error.
    interrupted = copy.deepcopy(originals["hardware"])
    interrupted["status"] = "interrupted"
    interrupted["summary"].update(minibatches=0, cycles_per_minibatch=0.0,
                                  throughput_minibatches_per_s=None, throughput_samples_per_s=None)
    interrupted["training"].update(epochs=[], final_test_loss=0.0, final_train_loss=0.0)
    for mode, report in [*originals.items(), ("interrupted", interrupted)]:
        path = os.path.join(args.work, f"clean_{mode}", "report.json")
        os.makedirs(os.path.dirname(path))
        with open(path, "w", encoding="utf-8") as f:
            json.dump(report, f)
        code, output = run_validator(path)
        if code != 0:
            failures += 1
            print(f"FAIL unchanged {mode} report rejected: exit {code}\n{output}")
    nan_path = os.path.join(args.work, "nan", "report.json")
    os.makedirs(os.path.dirname(nan_path))
    with open(nan_path, "w", encoding="utf-8") as f:
        f.write(json.dumps(originals["hardware"]).replace('"utilization": ', '"utilization": NaN, "x": ', 1))
    code, output = run_validator(nan_path)
    if code != 1 or "NaN" not in output:
        failures += 1
        print(f"FAIL a NaN literal was not refused: exit {code}\n{output}")
    empty = os.path.join(args.work, "empty")
    os.makedirs(empty)
    code, output = run_validator(empty)
    if code != 2:
        failures += 1
        print(f"FAIL an empty tree gave exit {code}, expected 2\n{output}")

    checks = len(CASES) + len(originals) + 3
    print(f"{checks - failures} of {checks} checks passed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
