"""The command line's own start-up, as whole processes, beside bare Python in the same run.

Every ``postduif`` command first pays for Python, Typer and whatever the package imports before
the command runs; this prints the median wall time of each (several runs, interleaved so that a
busy machine slows them all alike) and its ratio to ``python -c pass``:

- ``python -c pass`` and ``python -c "import typer"``: the floor, and what the CLI framework
  alone costs;
- ``postduif --version``, ``postduif --help`` and ``postduif send --help``: start-up only
  (target: under 0.15 s each);
- ``postduif build`` of the sample campaign in a temporary copy of the workspace: a real
  command, and the share of it that is start-up.

Run: .venv/bin/python bench/startup.py [--runs 7]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from build import CAMPAIGN  # bench/build.py
from sample import copy_workspace  # bench/sample.py: a copy of the sample workspace

TARGET_S = 0.15


@dataclass(frozen=True)
class Case:
    label: str
    command: tuple[str, ...]
    target: bool = False  # held to TARGET_S


def cases(workspace: Path) -> list[Case]:
    python = sys.executable
    postduif = str(Path(python).with_name("postduif"))
    return [
        Case("python -c pass", (python, "-c", "pass")),
        Case('python -c "import typer"', (python, "-c", "import typer")),
        Case("postduif --version", (postduif, "--version"), target=True),
        Case("postduif --help", (postduif, "--help"), target=True),
        Case("postduif send --help", (postduif, "send", "--help"), target=True),
        Case(f"postduif build {CAMPAIGN}", (postduif, "-w", str(workspace), "build", CAMPAIGN)),
    ]


def run_once(case: Case) -> float:
    started = time.perf_counter()
    done = subprocess.run(case.command, capture_output=True)
    seconds = time.perf_counter() - started
    if done.returncode:
        raise RuntimeError(f"{case.label} failed ({done.returncode}): "
                           f"{done.stderr[-2000:].decode('utf-8', 'replace')}")
    return seconds


def measure(all_cases: list[Case], runs: int) -> dict[str, list[float]]:
    """Wall seconds of each case, ``runs`` rounds of every case in turn (one warm-up round first,
    so the first case does not pay for a cold page cache alone)."""
    for case in all_cases:
        run_once(case)
    times: dict[str, list[float]] = {case.label: [] for case in all_cases}
    for _ in range(runs):
        for case in all_cases:
            times[case.label].append(run_once(case))
    return times


def report(all_cases: list[Case], times: dict[str, list[float]], runs: int) -> None:
    medians = {label: statistics.median(values) for label, values in times.items()}
    floor = medians[all_cases[0].label]
    print(f"\nwhole processes, median of {runs} runs (min in brackets), "
          f"ratio to {all_cases[0].label}:")
    for case in all_cases:
        median = medians[case.label]
        line = (f"{case.label:40s} {median:6.3f} s ({min(times[case.label]):.3f})  "
                f"{median / floor:5.1f}x")
        if case.target:
            line += f"  target < {TARGET_S:g} s: {'met' if median < TARGET_S else 'MISSED'}"
        print(line)
    build = medians[all_cases[-1].label]
    start_up = medians["postduif --version"]
    print(f"start-up (postduif --version) is {start_up / build:.0%} of the build")


def main() -> None:
    parser = argparse.ArgumentParser(description="postduif start-up benchmark")
    parser.add_argument("--runs", type=int, default=7, help="rounds per command (median)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as name:
        # The build writes its build/ directory into the copy, not into the repository.
        all_cases = cases(copy_workspace(Path(name)))
        print(f"{len(all_cases)} commands x {args.runs} runs ...", flush=True)
        report(all_cases, measure(all_cases, args.runs), args.runs)


if __name__ == "__main__":
    main()
