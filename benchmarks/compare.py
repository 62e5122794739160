#!/usr/bin/env python3
"""Joins two BenchmarkDotNet CSV result folders case by case (benchmarks/compare.sh).

    python3 benchmarks/compare.py <base-results> <head-results> [base-label]

Prints one markdown row per case present in both: mean time each side, head/base, the error band of both, and
allocated bytes each side. A case is flagged 'slower' only when head's mean minus its error is above base's mean
plus its error, i.e. when the two 99.9% intervals BenchmarkDotNet prints do not overlap.
"""
import csv
import glob
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
from report import micros, size, fmt_time, fmt_size  # noqa: E402

def cases(folder):
    """(class, method, parameters) -> CSV row. BenchmarkDotNet writes the job's settings up to WarmupCount, then the
    case's own columns (categories, [Params]), then the statistics from Mean on."""
    found = {}
    for path in sorted(glob.glob(os.path.join(folder, "*-report.csv"))):
        cls = os.path.basename(path).split("-report")[0].replace("StateKit.Benchmarks.", "")
        with open(path, newline="", encoding="utf-8") as f:
            reader = csv.reader(f)
            header = next(reader)
            own = header[header.index("WarmupCount") + 1:header.index("Mean")]
            for values in reader:
                r = dict(zip(header, values))
                params = "/".join(r[k] for k in own if r[k])
                found[(cls, r["Method"], params)] = r
    return found


def main():
    base, head = cases(sys.argv[1]), cases(sys.argv[2])
    label = sys.argv[3] if len(sys.argv) > 3 else "base"
    print(f"| class | case | {label} | head | head/{label} | alloc {label} | alloc head | verdict |")
    print("|---|---|---:|---:|---:|---:|---:|---|")
    slower = 0
    for key in sorted(set(base) & set(head)):
        b, h = base[key], head[key]
        bm, hm = micros(b["Mean"]), micros(h["Mean"])
        be, he = micros(b["Error"]) or 0, micros(h["Error"]) or 0
        if bm is None or hm is None:
            continue
        verdict = "slower" if hm - he > bm + be else "faster" if hm + he < bm - be else "same (within error)"
        ab, ah = size(b.get("Allocated", "-")), size(h.get("Allocated", "-"))
        if ah > ab:
            verdict += ", allocates more"
        slower += verdict.startswith("slower") or ah > ab
        cls, method, params = key
        print(f"| {cls} | {method}{' ' + params if params else ''} | {fmt_time(bm)} | {fmt_time(hm)} | {hm / bm:.2f} | "
              f"{fmt_size(ab)} | {fmt_size(ah)} | {verdict} |")
    missing = sorted(set(base) ^ set(head))
    for key in missing:
        print(f"| {key[0]} | {key[1]} {key[2]} | {'-' if key not in base else 'run'} | {'-' if key not in head else 'run'} | | | | only one side |")
    print(f"\n{len(set(base) & set(head))} cases compared; {slower} flagged slower or allocating more.")


if __name__ == "__main__":
    main()
