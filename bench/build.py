"""Build timings, against the official MJML compiler measured in the same run.

Prints, in milliseconds (median of several runs):
- a full build of the sample campaign (content, plan, Jinja + MJML + CSS inlining per language);
- a rebuild after one content file changed (what the preview does on each save; < 200 ms);
- loading and rendering every page of the real corpus (../shared/corpus/techwerkers);
- the peer: the npm ``mjml`` compiler (tests/mjml) compiling the same MJML, once per language.
Ratios are printed so noisy machines can still be compared within one run.

Run: .venv/bin/python bench/build.py
"""

from __future__ import annotations

import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from sample import copy_workspace  # bench/sample.py

from postduif.build import build_campaign
from postduif.content import load_site
from postduif.workspace import Workspace

REPO = Path(__file__).resolve().parents[1]
CORPUS = REPO.parent / "shared" / "corpus" / "techwerkers"
CAMPAIGN = "2026-12-community-update"
COMPILER = REPO / "tests" / "mjml" / "compile.js"


def median_ms(action: Callable[[], object], runs: int = 7) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        action()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def full_build(root: Path) -> None:
    build_campaign(Workspace.open(root), CAMPAIGN)


def rebuild_after_edit(ws: Workspace, page: Path) -> Callable[[], object]:
    def run() -> object:
        page.write_text(page.read_text(encoding="utf-8") + "\n", encoding="utf-8")
        ws.reload()
        plan = ws.plan(ws.campaign(CAMPAIGN))
        return ws.render(plan)
    return run


def corpus_build() -> None:
    site = load_site(CORPUS)
    for page in site.pages:
        site.render(page)


def mjml_sources(ws: Workspace) -> list[str]:
    plan = ws.plan(ws.campaign(CAMPAIGN))
    return [ws.renderer.mjml_source(v.context) for v in plan.variants.values()]


def npm_mjml(sources: list[str]) -> Callable[[], object]:
    def run() -> object:
        for source in sources:
            done = subprocess.run(["node", str(COMPILER)], input=source, capture_output=True,
                                  text=True, check=True)
            json.loads(done.stdout)
        return None
    return run


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = copy_workspace(Path(tmp))
        ws = Workspace.open(root)
        results = {
            "full build of the sample campaign": median_ms(lambda: full_build(root)),
            "rebuild after one content file changed": median_ms(
                rebuild_after_edit(ws, root / "content/posts/2026-12/index.nl.md")),
            "load + render the techwerkers corpus": median_ms(corpus_build, runs=5),
        }
        if COMPILER.is_file() and shutil.which("node"):
            results["peer: npm mjml compiling the same MJML"] = median_ms(
                npm_mjml(mjml_sources(ws)), runs=5)
    pages = len(load_site(CORPUS).pages)
    for name, ms in results.items():
        print(f"{name:45s} {ms:9.1f} ms")
    print(f"corpus pages: {pages}")
    peer = results.get("peer: npm mjml compiling the same MJML")
    if peer:
        full = results["full build of the sample campaign"]
        print(f"full build / npm mjml compile: {full / peer:.2f}x")
        print(f"rebuild / npm mjml compile:    "
              f"{results['rebuild after one content file changed'] / peer:.2f}x")
    rebuild = results["rebuild after one content file changed"]
    print(f"rebuild target < 200 ms: {'met' if rebuild < 200 else 'MISSED'}")
    sys.exit(0)


if __name__ == "__main__":
    main()
