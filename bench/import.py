"""Import timings: 100,000 join requests as CSV and as JSON Lines, and the same people as a
listmonk subscriber export (``migrate listmonk``), into a fresh store each.

Prints, per format, rows per second, seconds and the peak memory of the process that did the
import, against the targets (under 10 s and under 200 MB). Each import runs in its own child
process, so the peak is that import's alone. The peer, measured in the same run, is the ceiling
for "read a CSV into SQLite": the stdlib csv module plus one sqlite3 ``executemany`` into a bare
table, with no validation, no upsert and no consent log. The ratio shows what the checks cost.

The input is generated (deterministic, ``random.Random(42)``) before any timing starts; about
1% of the rows are invalid on purpose (a bad address, a line break in a name, an unknown
language) so the rejection path is part of the measurement.

Run: .venv/bin/python bench/import.py
"""

from __future__ import annotations

import csv
import json
import random
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
ROWS = 100_000
TARGET_SECONDS = 10.0
TARGET_MB = 200.0

FIRST = ["Anouk", "Bram", "Daan", "Emma", "Fatima", "Iris", "Jesse", "Lotte", "Mila", "Noor",
         "Ravi", "Sara", "Sem", "Thijs", "Yara", "Mohamed", "Sanne", "Pieter", "Ayşe", "Zoë"]
LAST = ["Bakker", "de Jong", "Visser", "Jansen", "Dekker", "Smit", "Mulder", "El Amrani",
        "van Dam", "Bos", "Peters", "de Wit", "Vos", "Kok", "Koster", "Yılmaz", "van den Berg"]
ORGS = ["Fietskoeriers Utrecht", "Bezorgplatform BV", "Ziekenhuis-IT", "Callcenter Noord",
        "Gemeente (ICT-afdeling)", "Design studio, Rotterdam", "Magazijn Zuid", "", ""]
GOALS = ["Betere afspraken over roosters.", "Organising the data team.",
         "Werkdruk bespreekbaar maken, samen met collega's.", "Learn how to start a union.", ""]
LANGUAGES = ["nl", "en", "Nederlands", "English", "nl-NL", ""]
HOSTS = ["mastodon.example", "www.linkedin.com/in", "github.com", "bsky.example"]


def generate(rng: random.Random) -> list[dict[str, str]]:
    rows = []
    for number in range(ROWS):
        first, last = rng.choice(FIRST), rng.choice(LAST)
        slug = f"{first}.{last}".lower().replace(" ", "")
        row = {
            "email": f"{slug}.{number}@example.org",
            "firstName": first,
            "lastName": last,
            "language": rng.choice(LANGUAGES),
            "socialLink1": f"https://{rng.choice(HOSTS)}/{slug}{number}",
            "socialLink2": rng.choice(["", f"https://{slug}.example.net"]),
            "organization": rng.choice(ORGS),
            "goals": rng.choice(GOALS),
        }
        spoil = rng.random()
        if spoil < 0.004:
            row["email"] = f"{slug}.{number}-at-example.org"
        elif spoil < 0.007:
            row["firstName"] = f"{first}\r\n{last}"
        elif spoil < 0.01:
            row["language"] = "Klingon"
        rows.append(row)
    return rows


def write_listmonk(rows: list[dict[str, str]], path: Path, rng: random.Random) -> None:
    """The same people as listmonk exports them: one name field (a tenth as "Last, First"),
    the language in ``attributes``, 2% disabled and 1% blocklisted."""
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["uuid", "email", "name", "attributes", "status", "created_at",
                         "updated_at"])
        for number, row in enumerate(rows):
            first, last = row["firstName"], row["lastName"]
            name = f"{last}, {first}" if number % 10 == 0 else f"{first} {last}"
            status = rng.choices(["enabled", "disabled", "blocklisted"], [97, 2, 1])[0]
            stamp = f"2024-{number % 12 + 1:02d}-01 10:00:00.{number % 999999:06d} +0000 UTC"
            writer.writerow([f"00000000-0000-4000-8000-{number:012d}", row["email"], name,
                             json.dumps({"lang": row["language"]}), status, stamp, stamp])


def write_inputs(rows: list[dict[str, str]], folder: Path) -> dict[str, Path]:
    csv_path, jsonl_path = folder / "joins.csv", folder / "joins.jsonl"
    with csv_path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.DictWriter(out, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    with jsonl_path.open("w", encoding="utf-8") as out:
        for row in rows:
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
    listmonk_path = folder / "listmonk.csv"
    write_listmonk(rows, listmonk_path, random.Random(7))
    return {"CSV": csv_path, "JSON Lines": jsonl_path, "listmonk": listmonk_path}


def child_import(source: Path, store_path: Path) -> dict[str, float]:
    """Runs in the child: one import into a fresh store; returns its own measurements."""
    from postduif.audience.joins import import_joins
    from postduif.audience.listmonk import migrate_listmonk
    from postduif.lists import load_list
    from postduif.store import Store

    listmonk = source.stem == "listmonk"
    list_def = load_list(REPO / "lists", "nieuwsbrief" if listmonk else "leden")
    with Store.open(store_path) as store:
        start = time.perf_counter()
        report = (migrate_listmonk if listmonk else import_joins)(store, source, list_def)
        seconds = time.perf_counter() - start
    return {"seconds": seconds, "added": report.added, "rejected": len(report.rejected),
            "peak_mb": peak_mb()}


def child_peer(source: Path, store_path: Path) -> dict[str, float]:
    """Runs in the child: the ceiling, csv rows straight into a bare table."""
    start = time.perf_counter()
    conn = sqlite3.connect(store_path)
    conn.execute("CREATE TABLE joins (email TEXT, first_name TEXT, last_name TEXT, "
                 "language TEXT, link1 TEXT, link2 TEXT, organization TEXT, goals TEXT)")
    with source.open(encoding="utf-8", newline="") as stream, conn:
        reader = csv.reader(stream)
        next(reader)
        conn.executemany("INSERT INTO joins VALUES (?, ?, ?, ?, ?, ?, ?, ?)", reader)
    added = conn.execute("SELECT count(*) FROM joins").fetchone()[0]
    conn.close()
    return {"seconds": time.perf_counter() - start, "added": added, "rejected": 0,
            "peak_mb": peak_mb()}


def peak_mb() -> float:
    """This process's peak resident memory.

    VmHWM belongs to the process image, so it starts afresh at exec; ``ru_maxrss`` does not
    on Linux (a child inherits the parent's peak), which would charge the generated rows held
    by the parent to every import.
    """
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kB on Linux


def in_child(kind: str, source: Path, store_path: Path) -> dict[str, float]:
    done = subprocess.run([sys.executable, __file__, "--child", kind, str(source),
                           str(store_path)], check=True, capture_output=True, text=True)
    result: dict[str, float] = json.loads(done.stdout)
    return result


def verdict(value: float, target: float) -> str:
    return "met" if value < target else "MISSED"


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="postduif-bench-") as tmp:
        folder = Path(tmp)
        print(f"generating {ROWS:,} join requests ...", flush=True)
        inputs = write_inputs(generate(random.Random(42)), folder)
        peer = in_child("peer", inputs["CSV"], folder / "peer.sqlite3")
        peer_rate = ROWS / peer["seconds"]
        print(f"peer  csv + sqlite3 executemany: {peer_rate:>9,.0f} rows/s  "
              f"{peer['seconds']:6.2f} s  peak {peer['peak_mb']:6.1f} MB")
        for name, source in inputs.items():
            result = in_child("import", source, folder / f"{source.stem}{source.suffix}.sqlite3")
            rate = ROWS / result["seconds"]
            how = "migrate_listmonk:" if name == "listmonk" else "import_joins:    "
            print(f"{name:<10} {how}    {rate:>9,.0f} rows/s  "
                  f"{result['seconds']:6.2f} s  peak {result['peak_mb']:6.1f} MB  "
                  f"({result['added']:,.0f} added, {result['rejected']:,.0f} rejected; "
                  f"{peer_rate / rate:.1f}x slower than the peer)")
            print(f"           time < {TARGET_SECONDS:.0f} s: "
                  f"{verdict(result['seconds'], TARGET_SECONDS)}; "
                  f"memory < {TARGET_MB:.0f} MB: {verdict(result['peak_mb'], TARGET_MB)}")


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        kind, source, store_path = sys.argv[2], Path(sys.argv[3]), Path(sys.argv[4])
        run = child_import if kind == "import" else child_peer
        print(json.dumps(run(source, store_path)))
    else:
        main()
