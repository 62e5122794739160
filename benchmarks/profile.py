#!/usr/bin/env python3
"""Where the time goes: a summary of BenchmarkDotNet's EventPipe profiles (speedscope JSON, from `--profiler EP`).

    python3 benchmarks/profile.py FILE.speedscope.json [FILE2 ...] [--top 15] [--focus TEXT]

The EventPipe sample profiler samples every managed thread about once a millisecond, blocked ones included, and
speedscope's evented format turns the samples into open/close events. This script walks them per thread, keeps the
samples taken while managed code ran (the CPU_TIME pseudo-frame, less spin-waits), and reports them three ways:

  * by component: the module of the leaf frame (StateKit, StackExchange.Redis, System.Text.Json, GC, ...);
  * top methods by exclusive time (the leaf of the stack);
  * top StateKit methods by inclusive time (on the stack anywhere), which is the StateKit-side cost of each step.

--focus keeps only the time of stacks that contain TEXT (e.g. the benchmark's class name) on the thread that runs the
benchmark, plus every thread-pool and I/O thread's time, which is where async continuations and socket reads run.
Plain Python, no packages.
"""
import json
import re
import sys
from collections import defaultdict

# Leaves where a thread is not running: waiting, sleeping, or parked in the OS.
IDLE = re.compile(
    r"WaitHandle|WaitOne|WaitAny|Monitor\.Wait|Thread\.Sleep|SleepEx|LowLevelLifoSemaphore|LowLevelMonitor|"
    r"WaitForSocketEvents|WaitForSignal|PortableThreadPool\+GateThread|ManualResetEventSlim\.Wait|SemaphoreSlim\.Wait|"
    r"Interop\+Sys\.(Read|Poll|WaitPid)|CLR_WAIT|UNMANAGED_CODE_TIME|Task\.SpinThenBlockingWait|Task\.InternalWaitCore|"
    r"Thread\.Join|EventPipe|Debugger"
)


def module(frame):
    name = frame.split("!", 1)
    if len(name) == 1:
        return name[0]
    mod, rest = name
    if mod.lower() in ("system.private.corelib", "system.runtime"):
        # CoreLib is too broad to be useful: split it by namespace.
        ns = rest.split("(", 1)[0].rsplit(".", 2)[0]
        for prefix in ("System.Collections", "System.Text", "System.Threading.Tasks", "System.Threading",
                       "System.Runtime.CompilerServices", "System.Buffers", "System.Security", "System.Diagnostics",
                       "System.Runtime"):
            if ns.startswith(prefix):
                return "CoreLib " + prefix
        return "CoreLib other"
    return mod


def short(frame):
    name = frame.split("!", 1)[-1]
    name = name.split("(", 1)[0]
    return name if len(name) < 110 else "..." + name[-107:]


def summarize(path, top, focus):
    data = json.load(open(path))
    frames = [f["name"] for f in data["shared"]["frames"]]
    exclusive = defaultdict(float)
    inclusive = defaultdict(float)
    components = defaultdict(float)
    busy = 0.0
    idle = 0.0
    for profile in data["profiles"]:
        if profile.get("type") != "evented":
            continue
        pool = "ThreadPool" in profile["name"]
        stack = []
        last = None
        for event in profile["events"]:
            at = event["at"]
            if stack and last is not None and at > last:
                span = at - last
                names = [frames[i] for i in stack]
                # The sampler ends each stack with a pseudo-frame: CPU_TIME (running managed code) or
                # UNMANAGED_CODE_TIME (native code: mostly a thread blocked in the OS).
                running = names[-1] == "CPU_TIME"
                if running:
                    names = names[:-1]
                leaf = names[-1] if names else "?"
                keep = focus is None or pool or any(focus in n for n in names) or any("Redis" in n and "Read" in n for n in names)
                if keep:
                    if not running or IDLE.search(leaf):
                        idle += span
                    else:
                        busy += span
                        exclusive[short(leaf)] += span
                        components[module(leaf)] += span
                        for n in set(names):
                            if "StateKit" in n.split("!", 1)[-1][:40] and "Benchmarks" not in n:
                                inclusive[short(n)] += span
            last = at
            if event["type"] == "O":
                stack.append(event["frame"])
            elif stack:
                stack.pop()

    print(f"### {path.rsplit('/', 1)[-1]}")
    print()
    print(f"running: {busy:.0f} ms of samples (blocked or idle, left out: {idle:.0f} ms)")
    print()
    print("| component (module of the running frame) | share |")
    print("|---|---:|")
    for name, t in sorted(components.items(), key=lambda kv: -kv[1])[:top]:
        print(f"| {name} | {100 * t / busy:.1f}% |")
    print()
    print("| method (exclusive) | share |")
    print("|---|---:|")
    for name, t in sorted(exclusive.items(), key=lambda kv: -kv[1])[:top]:
        print(f"| `{name}` | {100 * t / busy:.1f}% |")
    print()
    if inclusive:
        print("| StateKit method (inclusive) | share |")
        print("|---|---:|")
        for name, t in sorted(inclusive.items(), key=lambda kv: -kv[1])[:top]:
            print(f"| `{name}` | {100 * t / busy:.1f}% |")
        print()


def main(argv):
    top = 15
    focus = None
    paths = []
    i = 0
    while i < len(argv):
        if argv[i] == "--top":
            top = int(argv[i + 1])
            i += 2
        elif argv[i] == "--focus":
            focus = argv[i + 1]
            i += 2
        else:
            paths.append(argv[i])
            i += 1
    if not paths:
        print(__doc__)
        return 2
    for path in paths:
        summarize(path, top, focus)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
