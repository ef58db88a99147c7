"""What ``--json`` prints: plain dicts with the stable keys README documents.

Scripts and cron jobs read these instead of scraping the tables; a key is only ever added,
never renamed or dropped, so a script written today keeps working.
"""

from __future__ import annotations

from postduif.lists import ListDef
from postduif.problems import Problem, Severity
from postduif.send import LedgerStatus, VariantCounts

_STATES = ("queued", "sending", "sent", "failed", "unknown", "skipped")


def status_json(campaign: str, report: LedgerStatus) -> dict[str, object]:
    """``status --json``: one object; ``list`` is null when the campaign was never started."""
    return {
        "campaign": campaign,
        "list": report.list,
        "started_at": report.started_at,
        "paused": report.paused,
        "totals": _counts(report.totals),
        "languages": {v.variant: _counts(v) for v in report.variants},
        "failures": [{"email": f.email, "language": f.variant, "state": f.state,
                      "code": f.code, "reply": f.reply} for f in report.failures],
    }


def _counts(v: VariantCounts) -> dict[str, int]:
    return {**{state: getattr(v, state) for state in _STATES}, "total": v.total}


def check_json(problems: list[Problem]) -> dict[str, object]:
    """``check --json``: the totals and each problem with its file and line (null if unknown)."""
    errors = sum(p.severity is Severity.ERROR for p in problems)
    return {
        "errors": errors,
        "warnings": len(problems) - errors,
        "problems": [{"path": None if p.path is None else str(p.path), "line": p.line,
                      "severity": p.severity.value, "code": p.code, "message": p.message}
                     for p in problems],
    }


def lists_json(defs: list[ListDef], counts: list[tuple[str, str, str, int]]) -> dict[str, object]:
    """``lists show --json``: each list with its total and its counts by status and language;
    a list nobody is on has total 0 and no counts."""
    return {"lists": [{
        "name": d.name,
        "total": sum(n for name, _, _, n in counts if name == d.name),
        "counts": [{"status": status, "language": language, "count": n}
                   for name, status, language, n in counts if name == d.name],
    } for d in defs]}
