#!/usr/bin/python3
"""Runs reports/plot.py on the reports of tests/reports (every mode, lpsim's trace and a
synthetic one, lpsim's sweep.json and an array of reports) and checks the PNG files: the ones
each input should give exist (and the ones it cannot give do not), each is a well-formed
PNG (signature, chunk CRCs, IHDR first, IEND last, IDAT inflating to exactly the image's
scanlines) of a plausible size, and each shows something (decoded pixels: many colours,
a fair share of pixels not the background). Exits 77 (ctest SKIP_RETURN_CODE) when this
Python has no matplotlib.

    check_plots.py --plot reports/plot.py --reports DIR --out DIR
"""

import argparse
import json
import os
import shutil
import struct
import subprocess
import sys
import zlib

SKIP = 77
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}  # PNG colour type -> samples per pixel


class PngError(Exception):
    pass


def read_png(path):
    """Returns (width, height, channels, rows): rows are the unfiltered scanlines."""
    with open(path, "rb") as f:
        data = f.read()
    if not data.startswith(PNG_SIGNATURE):
        raise PngError("no PNG signature")
    pos, chunks = len(PNG_SIGNATURE), []
    while pos < len(data):
        if pos + 8 > len(data):
            raise PngError("truncated chunk header")
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        if len(body) != length or pos + 12 + length > len(data):
            raise PngError(f"truncated {kind!r} chunk")
        (crc,) = struct.unpack(">I", data[pos + 8 + length:pos + 12 + length])
        if zlib.crc32(kind + body) & 0xFFFFFFFF != crc:
            raise PngError(f"bad CRC in {kind!r}")
        chunks.append((kind, body))
        pos += 12 + length
    if not chunks or chunks[0][0] != b"IHDR" or chunks[-1][0] != b"IEND":
        raise PngError("IHDR must come first and IEND last")
    width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", chunks[0][1])
    if depth != 8 or colour not in CHANNELS or interlace != 0:
        raise PngError(f"unexpected format: depth {depth}, colour type {colour}, interlace {interlace}")
    raw = zlib.decompress(b"".join(body for kind, body in chunks if kind == b"IDAT"))
    bpp = CHANNELS[colour]
    stride = width * bpp
    if len(raw) != height * (stride + 1):
        raise PngError(f"IDAT holds {len(raw)} bytes, expected {height * (stride + 1)}")
    rows, previous = [], bytearray(stride)
    for y in range(height):
        kind = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        if kind == 1:
            for i in range(bpp, stride):
                line[i] = (line[i] + line[i - bpp]) & 0xFF
        elif kind == 2:
            line = bytearray((a + b) & 0xFF for a, b in zip(line, previous))
        elif kind == 3:
            for i in range(stride):
                left = line[i - bpp] if i >= bpp else 0
                line[i] = (line[i] + ((left + previous[i]) >> 1)) & 0xFF
        elif kind == 4:
            for i in range(stride):
                a = line[i - bpp] if i >= bpp else 0
                b = previous[i]
                c = previous[i - bpp] if i >= bpp else 0
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                predictor = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
                line[i] = (line[i] + predictor) & 0xFF
        elif kind != 0:
            raise PngError(f"row {y}: unknown filter {kind}")
        rows.append(bytes(line))
        previous = line
    return width, height, bpp, rows


def check_png(path):
    """Problems found with one plot (empty: fine)."""
    size = os.path.getsize(path)
    if size < 10_000:
        return [f"only {size} bytes"]
    try:
        width, height, bpp, rows = read_png(path)
    except (PngError, zlib.error, struct.error) as e:
        return [f"not a valid PNG: {e}"]
    problems = []
    if not (300 <= width <= 4000 and 200 <= height <= 4000):
        problems.append(f"implausible size {width}x{height}")
    counts = {}
    for row in rows:
        for x in range(0, len(row), bpp):
            pixel = row[x:x + bpp]
            counts[pixel] = counts.get(pixel, 0) + 1
    background = max(counts.values())
    drawn = 1 - background / (width * height)
    if len(counts) < 16:
        problems.append(f"only {len(counts)} distinct colours")
    if drawn < 0.03:
        problems.append(f"only {100 * drawn:.1f}% of the pixels differ from the background")
    print(f"  {os.path.basename(path)}: {width}x{height}, {size} bytes, {len(counts)} colours, "
          f"{100 * drawn:.0f}% drawn")
    return problems


def write_trace(path, report):
    """A small Chrome trace-event file shaped like a pipeline: one thread per PE."""
    events = [{"ph": "M", "name": "process_name", "pid": 1, "args": {"name": "lpsim"}}]
    for p, proc in enumerate(report["processors"]):
        events.append({"ph": "M", "name": "thread_name", "pid": 1, "tid": p,
                       "args": {"name": proc["name"]}})
        t = 40 * p
        for n in range(6):
            for task, dur in (("F", 300), ("Ba", 200), ("Bw", 250), ("U", 40)):
                events.append({"ph": "X", "name": f"{task} n={n}", "cat": task, "ts": t,
                               "dur": dur, "pid": 1, "tid": p, "args": {"minibatch": n}})
                t += dur + 10
    events.append({"ph": "B", "name": "stall", "ts": 0, "pid": 1, "tid": 1})
    events.append({"ph": "E", "ts": 40, "pid": 1, "tid": 1})
    with open(path, "w", encoding="utf-8") as f:
        json.dump(events, f)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--plot", required=True, help="reports/plot.py")
    parser.add_argument("--reports", required=True, help="directory with <mode>/report.json")
    parser.add_argument("--out", required=True, help="where the plots go (plots/ below it, emptied)")
    args = parser.parse_args()
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        print(f"matplotlib is missing in {sys.executable} (apt-get install python3-matplotlib): skipped")
        return SKIP

    out = os.path.join(args.out, "plots")
    shutil.rmtree(out, ignore_errors=True)
    os.makedirs(out)
    reports = {mode: os.path.join(args.reports, mode, "report.json")
               for mode in ("hardware", "hardware_timing_only", "reference", "hardware_scheduled")}
    with open(reports["hardware"], encoding="utf-8") as f:
        hardware = json.load(f)
    lpsim_trace = os.path.join(args.reports, "hardware", "trace.json")  # lpsim run --trace
    trace = os.path.join(out, "trace.json")  # a plain array of events, with B/E pairs
    write_trace(trace, hardware)

    hw_plots = ["utilization.png", "memory_by_stage.png", "energy.png"]
    curve = ["loss_accuracy.png"]
    # (name, plot.py arguments, files expected, files that must not appear)
    runs = [
        ("hardware", [reports["hardware"], "--trace", lpsim_trace],
         curve + hw_plots + ["timeline.png"], []),
        ("hardware_timing_only", [reports["hardware_timing_only"]], hw_plots, curve),
        ("reference", [reports["reference"]], curve, hw_plots),
        ("hardware_scheduled", [reports["hardware_scheduled"], "--trace", trace],
         curve + hw_plots + ["timeline.png"], []),
        ("no_trace", [reports["hardware_scheduled"]], curve + hw_plots, ["timeline.png"]),
        ("lpsim_sweep", ["--sweep", os.path.join(args.reports, "sweep", "sweep.json")],
         ["pareto.png", "pareto_energy.png", "seed_groups.png", "seed_curves_test_accuracy.png",
          "seed_curves_train_loss.png", "seed_curves_test_loss.png"], []),
    ]
    sweep = []
    for path in reports.values():
        with open(path, encoding="utf-8") as f:
            sweep.append(json.load(f))
    sweep.append({"point": {"/pipeline/policy": "none"}, "summary": hardware["summary"],
                  "training": hardware["training"]})
    sweep_path = os.path.join(out, "reports_array.json")
    with open(sweep_path, "w", encoding="utf-8") as f:
        json.dump(sweep, f)
    runs.append(("reports_array", ["--sweep", sweep_path], ["pareto.png", "pareto_energy.png"],
                 ["seed_groups.png", "seed_curves_test_accuracy.png"]))

    failures = 0
    for name, plot_args, expected, absent in runs:
        target = os.path.join(out, name)
        command = [sys.executable, args.plot, *plot_args, "--out", target]
        result = subprocess.run(command, capture_output=True, text=True)
        print(f"{name}: plot.py exit {result.returncode}")
        if result.returncode != 0:
            failures += 1
            print(f"FAIL {' '.join(command)}\n{result.stdout}{result.stderr}")
            continue
        for png in expected:
            path = os.path.join(target, png)
            problems = ["missing"] if not os.path.exists(path) else check_png(path)
            for problem in problems:
                failures += 1
                print(f"FAIL {path}: {problem}")
        for png in absent:
            if os.path.exists(os.path.join(target, png)):
                failures += 1
                print(f"FAIL {name}: {png} written, but the report has no data for it")
        if any(png != "timeline.png" for png in absent) and "skipped" not in result.stderr:
            failures += 1
            print(f"FAIL {name}: no message about the skipped plots\n{result.stderr}")

    # Bad input: exit 1 with the file named.
    bad = os.path.join(out, "not_a_report.json")
    with open(bad, "w", encoding="utf-8") as f:
        f.write("{")
    result = subprocess.run([sys.executable, args.plot, bad, "--out", os.path.join(out, "bad")],
                            capture_output=True, text=True)
    if result.returncode != 1 or bad not in result.stderr:
        failures += 1
        print(f"FAIL unreadable report: exit {result.returncode}\n{result.stderr}")

    print("all plots fine" if not failures else f"{failures} problems")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
