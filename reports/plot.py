#!/usr/bin/python3
"""Plots an lpsim report (report.json, reports/schema/report.schema.json) as PNG files.

    plot.py REPORT.json --out DIR [--trace TRACE.json] [--max-trace-events N]
    plot.py --sweep SWEEP.json [MORE.json ...] --out DIR

One report gives:
  loss_accuracy.png    train/test loss and accuracy per epoch (runs with the math)
  utilization.png      busy / stall / idle share of the total cycles per PE (hardware modes)
  energy.png           energy per minibatch of each PE, stacked by component (MAC, vector,
                       SRAM, DRAM, link, stash/EMA units, static; hardware modes)
  memory_by_stage.png  measured memory by kind per processor, stacked, with the analytic
                       total of each processor marked (hardware modes)
  timeline.png         the pipeline timeline, with --trace: a Chrome trace-event file (`lpsim
                       run --trace FILE`, or any JSON array of events or object with
                       "traceEvents"); complete events (ph "X": ts, dur) and begin/end pairs
                       (ph "B"/"E") are drawn, one row per (pid, tid), named by "thread_name"
                       and "process_name" metadata events (ph "M") when present, coloured by
                       "cat" (lpsim's PE tasks, cat "task", by the first word of the name: F,
                       Ba, Bw, U, Loss); in cycles when "otherData" has "clock_period_ns"
                       (lpsim's traces), else in ts units (us)
A sweep gives:
  pareto.png           cycles per minibatch against total measured memory, one point per
                       design point, colour = final test accuracy, the Pareto front (fewer
                       cycles and less memory) joined and ringed in red
  pareto_energy.png    the same against energy per minibatch (summary.energy_per_minibatch_pj)
  seed_groups.png      from a sweep.json with "groups" (the points that differ only in
                       /run/seed): per group, the mean with sd error bars (n-1) and each seed
                       as a dot, one panel per figure the groups have (final test accuracy,
                       final train loss, cycles and energy per minibatch); each group's label
                       gives its n
  seed_curves_test_accuracy.png, seed_curves_train_loss.png, seed_curves_test_loss.png
                       from the same groups: the metric per epoch, a curve per group (its
                       mean across the seeds) with a band of ±1 sd (n-1) where it has 2 or
                       more seeds; read from each point's report.json beside the sweep.json
                       (DIR/points/<hash>/report.json)
  Each SWEEP file is `lpsim sweep`'s sweep.json ({"points": [{"values", "status",
  "summary", "final_test_accuracy"}, ...]}: failed points are skipped), a report, or a JSON
  array whose items are reports or objects {"point": {...}, "summary": {...},
  "training": {...}} (the summary and training blocks of a report; "point" or "values" names
  the design point: its keys and values label it).

A plot whose data the report lacks (a reference run has no hardware figures, a --no-math
run no training curve) is skipped with a message on stderr. Exit codes: 0 done (plots may
have been skipped), 1 an input could not be read, 2 bad usage or nothing to plot,
3 matplotlib missing. Needs Debian's python3-matplotlib: run it with /usr/bin/python3.
"""

import argparse
import json
import math
import os
import re
import sys

KINDS = ["weights", "optimizer", "gradients", "activations", "in_flight", "stash", "ema"]
KIND_COLOURS = {"weights": "#4c72b0", "optimizer": "#8da0cb", "gradients": "#dd8452",
                "activations": "#55a868", "in_flight": "#a6d854", "stash": "#c44e52",
                "ema": "#8172b3"}
DPI = 120


class InputError(Exception):
    pass


def load_json(path):
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except (OSError, ValueError) as e:
        raise InputError(f"{path}: cannot read: {e}") from e


def skip(what, why):
    print(f"plot: skipped {what}: {why}", file=sys.stderr)


def number(x):
    """A JSON number, or NaN for null (lpsim writes NaN and infinities as null)."""
    return float("nan") if x is None else float(x)


def byte_scale(largest):
    for factor, unit in ((1e9, "GB"), (1e6, "MB"), (1e3, "kB")):
        if largest >= factor:
            return factor, unit
    return 1.0, "B"


def run_title(report):
    net = report.get("network", {})
    parts = [str(net.get("name", "?")), str(report.get("policy", "?")), str(report.get("mode", "?"))]
    if report.get("hw"):
        parts.append(f"{report['hw'].get('processors', '?')} PEs")
    return ", ".join(parts)


def save(fig, out_dir, name):
    path = os.path.join(out_dir, name)
    fig.savefig(path, dpi=DPI)
    import matplotlib.pyplot as plt
    plt.close(fig)
    print(f"plot: wrote {path}")
    return path


def plot_loss_accuracy(plt, report, out_dir):
    epochs = (report.get("training") or {}).get("epochs") or []
    if not epochs:
        skip("loss_accuracy.png", f"no training curve (mode {report.get('mode')})")
        return None
    x = [e["epoch"] for e in epochs]  # 0-based, as in the report and lpsim's summary
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(9, 3.6))
    marker = "o" if len(x) <= 30 else None
    ax_loss.plot(x, [number(e.get("train_loss")) for e in epochs], marker=marker, label="train")
    ax_loss.plot(x, [number(e.get("test_loss")) for e in epochs], marker=marker, label="test")
    ax_loss.set_xlabel("epoch")
    ax_loss.set_ylabel("cross-entropy loss (nats)")
    ax_loss.set_title("loss")
    ax_loss.legend()
    ax_acc.plot(x, [100 * number(e.get("train_accuracy")) for e in epochs], marker=marker, label="train")
    ax_acc.plot(x, [100 * number(e.get("test_accuracy")) for e in epochs], marker=marker, label="test")
    ax_acc.set_xlabel("epoch")
    ax_acc.set_ylabel("accuracy (%)")
    ax_acc.set_title("accuracy")
    ax_acc.legend()
    for ax in (ax_loss, ax_acc):
        ax.grid(alpha=0.3)
        ax.set_xticks(x if len(x) <= 12 else ax.get_xticks())
    fig.suptitle(run_title(report))
    fig.tight_layout()
    return save(fig, out_dir, "loss_accuracy.png")


def plot_utilization(plt, report, out_dir):
    procs = report.get("processors")
    total = (report.get("summary") or {}).get("total_cycles")
    if not procs or not total:
        skip("utilization.png", f"no hardware figures (mode {report.get('mode')})")
        return None
    names = [p.get("name", str(i)).split(".")[-1] for i, p in enumerate(procs)]
    busy = [p["busy_cycles"] / total for p in procs]
    stall = [p["stall_cycles"] / total for p in procs]
    idle = [p["idle_cycles"] / total for p in procs]
    fig, ax = plt.subplots(figsize=(max(5.5, 0.7 * len(procs) + 3.5), 4))
    x = range(len(procs))
    ax.bar(x, busy, color="#4c72b0", label="busy")
    ax.bar(x, stall, bottom=busy, color="#dd8452", label="stalled")
    ax.bar(x, idle, bottom=[b + s for b, s in zip(busy, stall)], color="#d0d0d0", label="idle")
    for i, p in enumerate(procs):
        ax.text(i, min(busy[i], 0.92) + 0.02, f"{100 * p['utilization']:.1f}%", ha="center",
                va="bottom", fontsize=8, color="black")
    ax.set_xticks(list(x))
    ax.set_xticklabels(names, rotation=0 if len(procs) <= 8 else 90)
    ax.set_ylim(0, 1.0)
    ax.set_ylabel("share of total cycles")
    summary = report["summary"]
    ax.set_title(f"utilisation {100 * summary.get('utilization', 0):.1f}% "
                 f"(bubble fraction {100 * summary.get('bubble_fraction', 0):.1f}%)\n"
                 f"{total:,} cycles, {summary.get('cycles_per_minibatch', 0):,.0f} per minibatch",
                 fontsize=9)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8)
    fig.suptitle(run_title(report), fontsize=10)
    fig.tight_layout()
    return save(fig, out_dir, "utilization.png")


ENERGY_COMPONENTS = [("mac", "MAC", "#4c72b0"), ("vector", "vector", "#55a868"),
                     ("sram", "SRAM", "#dd8452"), ("dram", "DRAM", "#c44e52"),
                     ("link", "link", "#8172b3"), ("units", "stash/EMA units", "#937860"),
                     ("static", "static", "#8c8c8c")]


def plot_energy(plt, report, out_dir):
    energy = report.get("energy")
    if not energy or not energy.get("per_pe"):
        skip("energy.png", f"no energy figures (mode {report.get('mode')})")
        return None
    pes = energy["per_pe"]
    minibatches = max(1, (report.get("summary") or {}).get("minibatches") or 1)
    factor = 1e6 * minibatches  # pJ over the run -> uJ per minibatch
    names = [p.get("name", str(i)).split(".")[-1] for i, p in enumerate(pes)]
    fig, ax = plt.subplots(figsize=(max(5.5, 0.7 * len(pes) + 4), 4))
    x = list(range(len(pes)))
    bottom = [0.0] * len(pes)
    for key, label, colour in ENERGY_COMPONENTS:
        values = [p[key] / factor for p in pes]
        if not any(values):
            continue
        ax.bar(x, values, bottom=bottom, color=colour, label=label)
        bottom = [b + v for b, v in zip(bottom, values)]
    ax.set_xticks(x)
    ax.set_xticklabels(names, rotation=0 if len(pes) <= 8 else 90)
    ax.set_ylabel("energy per minibatch (uJ)")
    by = energy["by_component_pj"]
    total = by["total"] or 1.0
    shares = ", ".join(f"{label} {100 * by[key] / total:.1f}%" for key, label, _ in ENERGY_COMPONENTS
                       if by[key] > 0)
    ax.set_title(f"{energy['per_minibatch_pj'] / 1e6:,.4g} uJ per minibatch ({energy['source']})\n"
                 f"{shares}", fontsize=8)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8)
    fig.suptitle(run_title(report), fontsize=10)
    fig.tight_layout()
    return save(fig, out_dir, "energy.png")


def plot_memory_by_stage(plt, report, out_dir):
    stages = report.get("memory_by_stage")
    if not stages:
        skip("memory_by_stage.png", f"no hardware figures (mode {report.get('mode')})")
        return None
    largest = max(max(s["measured"]["total"], s["analytic"]["total"]) for s in stages)
    factor, unit = byte_scale(max(largest, 1))
    fig, ax = plt.subplots(figsize=(max(5, 0.8 * len(stages) + 3.5), 4))
    x = list(range(len(stages)))
    bottom = [0.0] * len(stages)
    for kind in KINDS:
        values = [s["measured"].get(kind, 0) / factor for s in stages]
        if not any(values):
            continue
        ax.bar(x, values, bottom=bottom, color=KIND_COLOURS[kind], label=kind, width=0.6)
        bottom = [b + v for b, v in zip(bottom, values)]
    ax.hlines([s["analytic"]["total"] / factor for s in stages], [i - 0.38 for i in x],
              [i + 0.38 for i in x], colors="black", linewidths=2.5, zorder=3,
              label="analytic total")
    ax.set_xticks(x)
    ax.set_xticklabels([str(s.get("stage", i)) for i, s in enumerate(stages)])
    ax.set_xlabel("processor (= pipeline stage with one PE per stage)")
    ax.set_ylabel(f"peak memory ({unit})")
    peak = report.get("summary", {}).get("memory_peak_bytes", {}).get("total")
    title = "measured memory by kind"
    if peak is not None:
        title += f", total {peak / factor:.3g} {unit}"
    ax.set_title(title, fontsize=10)
    ax.set_ylim(0, largest / factor * 1.12)
    ax.legend(loc="center left", bbox_to_anchor=(1.01, 0.5), fontsize=8)
    ax.grid(axis="y", alpha=0.3)
    fig.suptitle(run_title(report), fontsize=10)
    fig.tight_layout()
    return save(fig, out_dir, "memory_by_stage.png")


# --- the timeline (Chrome trace-event format) -------------------------------------------

def read_trace(path):
    """Returns (spans, row_names, other): spans are (row, start, duration, category, name)
    with row = (pid, tid), times in the trace's ts unit (us); other is the trace object's
    "otherData" ({} for an array of events)."""
    data = load_json(path)
    other = {}
    if isinstance(data, dict):
        other = data.get("otherData") or {}
        data = data.get("traceEvents")
    if not isinstance(data, list):
        raise InputError(f"{path}: not a trace: expected a JSON array of events or an object "
                         "with \"traceEvents\"")
    spans, names, open_spans = [], {}, {}
    process_names = {}
    for i, ev in enumerate(data):
        if not isinstance(ev, dict):
            raise InputError(f"{path}: event {i} is not an object")
        ph = ev.get("ph")
        row = (ev.get("pid", 0), ev.get("tid", 0))
        if ph == "M":
            arg = (ev.get("args") or {}).get("name")
            if ev.get("name") == "thread_name" and arg is not None:
                names[row] = str(arg)
            elif ev.get("name") == "process_name" and arg is not None:
                process_names[row[0]] = str(arg)
            continue
        try:
            if ph == "X":
                spans.append((row, float(ev["ts"]), float(ev.get("dur", 0)), category(ev), ev.get("name", "")))
            elif ph == "B":
                open_spans.setdefault(row, []).append(ev)
            elif ph == "E" and open_spans.get(row):
                begin = open_spans[row].pop()
                spans.append((row, float(begin["ts"]), float(ev["ts"]) - float(begin["ts"]),
                              category(begin), begin.get("name", "")))
        except (KeyError, TypeError, ValueError) as e:
            raise InputError(f"{path}: event {i} (ph {ph!r}) lacks a numeric ts/dur: {e}") from e
    def order(row):  # numeric ids in numeric order
        return tuple((0, v, "") if isinstance(v, (int, float)) else (1, 0, str(v)) for v in row)
    rows = sorted({s[0] for s in spans} | set(names), key=order)
    row_names = {}
    for row in rows:
        label = names.get(row)
        if label is None:
            label = f"{process_names.get(row[0], f'pid {row[0]}')} / tid {row[1]}"
        row_names[row] = label
    return spans, row_names, other


def category(ev):
    """The colour key: the category, except for lpsim's PE tasks (cat "task": F:fc1,
    Ba:fc2.product, Bw:fc2, U:fc2, Loss) and uncategorised events, which go by the first
    word of the name."""
    cat = ev.get("cat")
    if cat and cat != "task":
        return str(cat)
    match = re.match(r"[A-Za-z]+", str(ev.get("name", "")))
    return match.group(0) if match else str(cat or "other")


def plot_timeline(plt, trace_path, out_dir, max_events, title):
    spans, row_names, other = read_trace(trace_path)
    if not spans:
        skip("timeline.png", f"{trace_path} has no complete (X) or begin/end (B/E) events")
        return None
    spans.sort(key=lambda s: s[1])
    note = ""
    if len(spans) > max_events:
        note = f" (first {max_events:,} of {len(spans):,} events)"
        spans = spans[:max_events]
    rows = [r for r in row_names if any(s[0] == r for s in spans)] or list(row_names)
    index = {r: i for i, r in enumerate(rows)}
    cats = sorted({s[3] for s in spans})
    palette = plt.get_cmap("tab10").colors + plt.get_cmap("Dark2").colors
    colour = {c: palette[i % len(palette)] for i, c in enumerate(cats)}
    # lpsim's traces carry the clock period: draw in cycles. Otherwise in ts units (us).
    period_ns = other.get("clock_period_ns") if isinstance(other, dict) else None
    scale = 1000.0 / period_ns if isinstance(period_ns, (int, float)) and period_ns > 0 else 1.0
    fig, ax = plt.subplots(figsize=(11, max(2.5, 0.45 * len(rows) + 1.6)))
    for cat in cats:
        by_row = {}
        for row, start, dur, c, _ in spans:
            if c == cat:
                by_row.setdefault(row, []).append((start * scale, dur * scale))
        for row, bars in by_row.items():
            ax.broken_barh(bars, (index[row] - 0.4, 0.8), facecolors=colour[cat],
                           edgecolor="none")
    handles = [plt.Rectangle((0, 0), 1, 1, color=colour[c]) for c in cats]
    ax.legend(handles, cats, loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8,
              title="task", title_fontsize=8)
    ax.set_yticks(range(len(rows)))
    ax.set_yticklabels([row_names[r] for r in rows], fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("cycle" if scale != 1.0 else "time (us)")
    window = other.get("minibatches") if isinstance(other, dict) else None
    if isinstance(window, list) and len(window) == 2:
        note = f", minibatches {window[0]} to {window[1] - 1}" + note
    ax.set_title(f"pipeline timeline{note}", fontsize=10)
    ax.grid(axis="x", alpha=0.3)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return save(fig, out_dir, "timeline.png")


# --- sweeps -------------------------------------------------------------------------------

def sweep_items(paths):
    """(where, entry, fallback label) for every design point in the files."""
    items = []
    for path in paths:
        data = load_json(path)
        if isinstance(data, dict) and isinstance(data.get("points"), list):
            data = data["points"]  # `lpsim sweep`'s sweep.json
        if isinstance(data, list):
            for i, entry in enumerate(data):
                if not isinstance(entry, dict):
                    raise InputError(f"{path}: item {i} is not an object")
                items.append((f"{path}[{i}]", entry, None))
        elif isinstance(data, dict):  # one report: its directory names it (out/<run.name>)
            items.append((path, data, os.path.basename(os.path.dirname(os.path.abspath(path)))))
        else:
            raise InputError(f"{path}: expected a report, a JSON array or a sweep.json")
    return items


def point_label(entry, fallback):
    point = entry.get("point", entry.get("values"))
    if isinstance(point, dict) and point:
        return ", ".join(f"{str(k).rsplit('/', 1)[-1]}={v if isinstance(v, str) else json.dumps(v)}"
                         for k, v in point.items())
    if point is not None:
        return str(point)
    if fallback:
        return fallback
    run = entry.get("run") or {}
    bits = [str(x) for x in (run.get("name"), entry.get("policy")) if x]
    return " ".join(bits) or "?"


def pareto_front(points):
    """Indices of the points no other point beats on both cycles and memory."""
    front = []
    for i, (c, m) in enumerate(points):
        if not any((c2 <= c and m2 <= m) and (c2 < c or m2 < m) for c2, m2 in points):
            front.append(i)
    return sorted(front, key=lambda i: points[i])


def plot_sweep(plt, paths, out_dir):
    rows = []
    energy_rows = []
    for where, entry, fallback in sweep_items(paths):
        if entry.get("status", "ok") not in ("ok", "complete"):
            skip(f"point {where}", f"status {entry.get('status')}")
            continue
        summary = entry.get("summary") or {}
        cycles = summary.get("cycles_per_minibatch")
        memory = (summary.get("memory_peak_bytes") or {}).get("total")
        if cycles is None or memory is None:
            skip(f"point {where}", "no cycles or memory (a reference run?)")
            continue
        accuracy = summary.get("final_test_accuracy")
        if accuracy is None:
            accuracy = (entry.get("training") or {}).get("final_test_accuracy")
        if accuracy is None:
            accuracy = entry.get("final_test_accuracy")
        rows.append((float(cycles), float(memory), accuracy, point_label(entry, fallback)))
        if summary.get("energy_per_minibatch_pj") is not None:
            energy_rows.append((float(cycles), float(summary["energy_per_minibatch_pj"]) / 1e6,
                                accuracy, point_label(entry, fallback)))
    if not rows:
        skip("pareto.png", "no point has cycles and memory")
        return None
    factor, unit = byte_scale(max(r[1] for r in rows))
    fig, ax = plt.subplots(figsize=(7.5, 5))
    with_acc = [r for r in rows if r[2] is not None]
    without = [r for r in rows if r[2] is None]
    if with_acc:
        sc = ax.scatter([r[0] for r in with_acc], [r[1] / factor for r in with_acc],
                        c=[100 * r[2] for r in with_acc], cmap="viridis", s=60,
                        edgecolors="black", linewidths=0.5, zorder=3)
        fig.colorbar(sc, ax=ax, label="final test accuracy (%)")
    if without:
        ax.scatter([r[0] for r in without], [r[1] / factor for r in without], facecolors="none",
                   edgecolors="grey", s=60, zorder=3, label="no accuracy (timing only)")
        ax.legend(fontsize=8)
    points = [(r[0], r[1]) for r in rows]
    front = pareto_front(points)
    ax.step([points[i][0] for i in front], [points[i][1] / factor for i in front], where="post",
            color="#c44e52", linewidth=1, zorder=2)
    ax.scatter([points[i][0] for i in front], [points[i][1] / factor for i in front], s=150,
               facecolors="none", edgecolors="#c44e52", linewidths=1.2, zorder=4)
    label_all = len(rows) <= 20
    labels = {}  # points at the same place share one annotation
    for i, r in enumerate(rows):
        if label_all or i in front:
            labels.setdefault((r[0], r[1]), []).append(r[3])
    for (c, m), names in labels.items():
        ax.annotate(", ".join(names), (c, m / factor), textcoords="offset points", xytext=(5, 4),
                    fontsize=7)
    cyc = [r[0] for r in rows]
    mem = [r[1] for r in rows]
    if min(cyc) > 0 and max(cyc) / min(cyc) > 20:
        ax.set_xscale("log")
    if min(mem) > 0 and max(mem) / min(mem) > 20:
        ax.set_yscale("log")
    ax.set_xlabel("cycles per minibatch (steady state)")
    ax.set_ylabel(f"total measured memory ({unit})")
    ax.set_title(f"{len(rows)} design points; Pareto front (fewer cycles, less memory) in red",
                 fontsize=10)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    written = save(fig, out_dir, "pareto.png")
    if energy_rows:
        plot_energy_front(plt, energy_rows, out_dir)
    else:
        skip("pareto_energy.png", "no point has an energy figure")
    return written


SEED_GROUP_FIGURES = [  # (figure in sweep.json's groups, axis label, scale)
    ("final_test_accuracy", "final test accuracy (%)", 100.0),
    ("final_train_loss", "final train loss (nats)", 1.0),
    ("cycles_per_minibatch", "cycles per minibatch", 1.0),
    ("energy_per_minibatch_pj", "energy per minibatch (uJ)", 1e-6),
]


def plot_seed_groups(plt, paths, out_dir):
    """Mean +- sd across seeds per group of the sweep.json files that have "groups"."""
    groups = []  # (label, group, [point entries])
    for path in paths:
        data = load_json(path)
        if not isinstance(data, dict) or not isinstance(data.get("groups"), list):
            continue
        points = data.get("points") or []
        for group in data["groups"]:
            members = [points[i] for i in group.get("points", []) if 0 <= i < len(points)]
            label = point_label({"values": group.get("values")}, None)
            left = f", {group.get('left_out')} left out" if group.get("left_out") else ""
            groups.append((f"{label}\nn={group.get('n')}{left}", group, members))
    if not groups:
        skip("seed_groups.png", "no sweep.json with \"groups\"")
        return None
    panels = [f for f in SEED_GROUP_FIGURES
              if any(((g.get("figures") or {}).get(f[0]) or {}).get("count") for _, g, _ in groups)]
    if not panels:
        skip("seed_groups.png", "no group has a figure to draw")
        return None
    # Two panels a row: a row of four is too wide to read once the groups are many.
    cols = min(2, len(panels))
    rows = (len(panels) + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(max(4.5, 0.75 * len(groups) + 2) * cols,
                                                  4.8 * rows), squeeze=False)
    for ax in axes.flat[len(panels):]:
        ax.set_visible(False)
    xs = list(range(len(groups)))
    for ax, (name, ylabel, scale) in zip(axes.flat, panels):
        for x, (_, group, members) in zip(xs, groups):
            stats = (group.get("figures") or {}).get(name) or {}
            seeds = []
            for entry in members:
                if entry.get("status") != "ok":
                    continue
                value = entry.get(name)
                if value is None:
                    summary = entry.get("summary") or {}
                    value = summary.get(name)
                if value is not None:
                    seeds.append(float(value) * scale)
            ax.scatter([x] * len(seeds), seeds, s=14, color="grey", zorder=2)
            if stats.get("mean") is not None:
                sd = stats.get("sd")
                ax.errorbar([x], [stats["mean"] * scale],
                            yerr=None if sd is None else [sd * scale], fmt="o",
                            color="#4c72b0", capsize=5, markersize=7, zorder=3)
        ax.set_xticks(xs)
        ax.set_xlim(-0.6, len(groups) - 0.4)
        ax.set_xticklabels([g[0] for g in groups], rotation=30, ha="right", fontsize=7)
        ax.set_ylabel(ylabel)
        ax.grid(alpha=0.3, axis="y")
    fig.suptitle(f"{len(groups)} seed groups: mean with sd error bars (n-1), grey dots the seeds",
                 fontsize=10)
    fig.tight_layout()
    return save(fig, out_dir, "seed_groups.png")


SEED_CURVE_METRICS = [  # (epoch field, axis label, scale)
    ("test_accuracy", "test accuracy (%)", 100.0),
    ("train_loss", "train loss (nats)", 1.0),
    ("test_loss", "test loss (nats)", 1.0),
]


def mean_sd(values):
    """Mean and sample sd (n-1; None below 2 values)."""
    n = len(values)
    mean = sum(values) / n
    if n < 2:
        return mean, None
    return mean, math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1))


def plot_seed_curves(plt, paths, out_dir):
    """Per metric, the per-epoch curve of every seed group: mean across seeds, +-1 sd band."""
    curves = []  # (label, {epoch: [values per seed]} per metric)
    for path in paths:
        data = load_json(path)
        if not isinstance(data, dict) or not isinstance(data.get("groups"), list):
            continue
        points = data.get("points") or []
        base = os.path.dirname(os.path.abspath(path))
        for group in data["groups"]:
            by_metric = {m[0]: {} for m in SEED_CURVE_METRICS}
            seeds = 0
            for i in group.get("points", []):
                if not 0 <= i < len(points) or points[i].get("status") != "ok":
                    continue
                report = os.path.join(base, "points", str(points[i].get("hash")), "report.json")
                if not os.path.exists(report):
                    continue
                epochs = ((load_json(report).get("training") or {}).get("epochs")) or []
                seeds += 1 if epochs else 0
                for e in epochs:
                    for name, _, scale in SEED_CURVE_METRICS:
                        if e.get(name) is not None:
                            by_metric[name].setdefault(e["epoch"], []).append(e[name] * scale)
            if seeds:
                label = point_label({"values": group.get("values")}, None)
                curves.append((f"{label} (n={seeds})", by_metric))
    if not curves:
        for name, _, _ in SEED_CURVE_METRICS:
            skip(f"seed_curves_{name}.png", "no seed group with a training curve")
        return None
    written = None
    for name, ylabel, _ in SEED_CURVE_METRICS:
        fig, ax = plt.subplots(figsize=(10.5, 4.8))
        drawn = 0
        for label, by_metric in curves:
            epochs = sorted(by_metric[name])
            if not epochs:
                continue
            stats = [mean_sd(by_metric[name][e]) for e in epochs]
            means = [m for m, _ in stats]
            sds = [0.0 if sd is None else sd for _, sd in stats]
            line = ax.errorbar(epochs, means, yerr=sds, marker="o", capsize=4, label=label)[0]
            banded = [(e, m, sd) for e, (m, sd) in zip(epochs, stats) if sd is not None]
            if len(banded) > 1:
                ax.fill_between([b[0] for b in banded], [b[1] - b[2] for b in banded],
                                [b[1] + b[2] for b in banded], color=line.get_color(), alpha=0.2)
            drawn += 1
        if not drawn:
            plt.close(fig)
            skip(f"seed_curves_{name}.png", f"no epoch has {name}")
            continue
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(plt.MaxNLocator(integer=True))
        ax.set_ylabel(ylabel)
        ax.set_title(f"{drawn} seed groups: mean across seeds, bars and band ±1 sd (n-1)",
                     fontsize=10)
        ax.grid(alpha=0.3)
        # Beside the axes, not over the curves: a grid's labels are long and many.
        ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
        fig.tight_layout()
        written = save(fig, out_dir, f"seed_curves_{name}.png")
    return written


def plot_energy_front(plt, rows, out_dir):
    """Cycles per minibatch against energy per minibatch, the Pareto front ringed."""
    fig, ax = plt.subplots(figsize=(7.5, 5))
    with_acc = [r for r in rows if r[2] is not None]
    without = [r for r in rows if r[2] is None]
    if with_acc:
        sc = ax.scatter([r[0] for r in with_acc], [r[1] for r in with_acc],
                        c=[100 * r[2] for r in with_acc], cmap="viridis", s=60,
                        edgecolors="black", linewidths=0.5, zorder=3)
        fig.colorbar(sc, ax=ax, label="final test accuracy (%)")
    if without:
        ax.scatter([r[0] for r in without], [r[1] for r in without], facecolors="none",
                   edgecolors="grey", s=60, zorder=3, label="no accuracy (timing only)")
        ax.legend(fontsize=8)
    points = [(r[0], r[1]) for r in rows]
    front = pareto_front(points)
    ax.step([points[i][0] for i in front], [points[i][1] for i in front], where="post",
            color="#c44e52", linewidth=1, zorder=2)
    ax.scatter([points[i][0] for i in front], [points[i][1] for i in front], s=150,
               facecolors="none", edgecolors="#c44e52", linewidths=1.2, zorder=4)
    if len(rows) <= 20:
        for r in rows:
            ax.annotate(r[3], (r[0], r[1]), textcoords="offset points", xytext=(5, 4), fontsize=7)
    ax.set_xlabel("cycles per minibatch (steady state)")
    ax.set_ylabel("energy per minibatch (uJ)")
    ax.set_title(f"{len(rows)} design points; Pareto front (fewer cycles, less energy) in red",
                 fontsize=10)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return save(fig, out_dir, "pareto_energy.png")


def main(argv):
    parser = argparse.ArgumentParser(
        description="Plots an lpsim report (or a sweep of them) as PNG files.",
        epilog="See the module docstring (head of this file) for the files written.")
    parser.add_argument("report", nargs="?", help="report.json")
    parser.add_argument("--out", required=True, help="output directory (created)")
    parser.add_argument("--trace", help="Chrome trace-event JSON of the run: draws timeline.png")
    parser.add_argument("--max-trace-events", type=int, default=20000,
                        help="draw at most this many (the earliest) trace events (default %(default)s)")
    parser.add_argument("--sweep", nargs="+", metavar="SWEEP.json",
                        help="reports, or JSON arrays of reports or {point, summary, training}")
    args = parser.parse_args(argv)
    if (args.report is None) == (args.sweep is None):
        parser.error("give either REPORT.json or --sweep FILE...")

    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("plot: python3-matplotlib is missing (apt-get install python3-matplotlib; "
              f"this is {sys.executable})", file=sys.stderr)
        return 3

    os.makedirs(args.out, exist_ok=True)
    written = []
    try:
        if args.sweep:
            written.append(plot_sweep(plt, args.sweep, args.out))
            written.append(plot_seed_groups(plt, args.sweep, args.out))
            written.append(plot_seed_curves(plt, args.sweep, args.out))
        else:
            report = load_json(args.report)
            if not isinstance(report, dict) or "mode" not in report:
                raise InputError(f"{args.report}: not an lpsim report (no \"mode\")")
            written.append(plot_loss_accuracy(plt, report, args.out))
            written.append(plot_utilization(plt, report, args.out))
            written.append(plot_memory_by_stage(plt, report, args.out))
            written.append(plot_energy(plt, report, args.out))
            if args.trace:
                written.append(plot_timeline(plt, args.trace, args.out, args.max_trace_events,
                                             run_title(report)))
    except InputError as e:
        print(f"plot: {e}", file=sys.stderr)
        return 1
    if not any(written):
        print("plot: nothing to plot", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
