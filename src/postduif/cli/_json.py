"""What ``--json`` prints: plain dicts with the stable keys README documents.

Scripts and cron jobs read these instead of scraping the tables; a key is only ever added,
never renamed or dropped, so a script written today keeps working.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # only the commands that print them load these
    from postduif.bounces.effects import BounceReport
    from postduif.config import SmtpSettings
    from postduif.lists import ListDef
    from postduif.problems import Problem
    from postduif.published import PublishedReport
    from postduif.renditions import ImageWeight
    from postduif.send import LedgerStatus, VariantCounts

_STATES = ("queued", "sending", "sent", "failed", "unknown", "skipped")


def status_json(campaign: str, report: LedgerStatus, bounces: list[tuple[str, str, int]],
                smtp: SmtpSettings) -> dict[str, object]:
    """``status --json``: one object; ``list`` is null when the campaign was never started.
    ``bounces`` are the store's ``(variant, kind, number)`` for the campaign."""
    return {
        "campaign": campaign,
        "list": report.list,
        "started_at": report.started_at,
        "paused": report.paused,
        "unknown_bound": {"messages": smtp.unknown_bound, "batch": smtp.batch,
                          "connections": smtp.connections},
        "totals": _counts(report.totals),
        "languages": {v.variant: _counts(v) for v in report.variants},
        "failures": [{"email": f.email, "language": f.variant, "state": f.state,
                      "code": f.code, "reply": f.reply} for f in report.failures],
        "bounces": {
            "totals": _bounce_counts(bounces, None),
            "languages": {v: _bounce_counts(bounces, v)
                          for v in sorted({v for v, _, _ in bounces})},
        },
    }


def _bounce_counts(bounces: list[tuple[str, str, int]], variant: str | None) -> dict[str, int]:
    from postduif.store import BOUNCE_KINDS

    return {kind: sum(n for v, k, n in bounces if k == kind and variant in (None, v))
            for kind in BOUNCE_KINDS}


def _counts(v: VariantCounts) -> dict[str, int]:
    return {**{state: getattr(v, state) for state in _STATES}, "total": v.total}


def check_json(problems: list[Problem],
               weights: list[tuple[str, str, ImageWeight]],
               published: PublishedReport | None = None) -> dict[str, object]:
    """``check --json``: the totals and each problem with its file and line (null if unknown),
    the weight of each email's images; with ``--published``/``--online`` also what was and
    was not looked up."""
    from postduif.problems import Severity

    errors = sum(p.severity is Severity.ERROR for p in problems)
    found: dict[str, object] = {
        "errors": errors,
        "warnings": len(problems) - errors,
        "problems": [{"path": None if p.path is None else str(p.path), "line": p.line,
                      "severity": p.severity.value, "code": p.code, "message": p.message}
                     for p in problems],
        "images": [{"campaign": name, "language": key, "bytes": weight.total,
                    "images": len(weight.local), "remote": weight.remote,
                    "renditions": [{"url": r.url, "file": str(r.file), "source": str(r.source),
                                    "bytes": r.size, "made": r.made,
                                    "reasons": list(r.reasons)}
                                   for r in weight.renditions]}
                   for name, key, weight in weights],
    }
    if published is not None:
        found["published"] = {
            "checked_against": published.where, "site_urls": published.site_urls,
            "external_urls": published.external_urls,
            "external_checked": published.external_checked,
            "personal_links_skipped": published.personal_links,
            "unchecked": published.unchecked}
    return found


def lists_json(defs: list[ListDef], counts: list[tuple[str, str, str, int]]) -> dict[str, object]:
    """``lists show --json``: each list with its total and its counts by status and language;
    a list nobody is on has total 0 and no counts."""
    return {"lists": [{
        "name": d.name,
        "total": sum(n for name, _, _, n in counts if name == d.name),
        "counts": [{"status": status, "language": language, "count": n}
                   for name, status, language, n in counts if name == d.name],
    } for d in defs]}


def bounces_json(report: BounceReport) -> dict[str, object]:
    """``bounces --json``: the counts of one run, each report that was not understood and
    each address a report named alone that was not applied."""
    return {
        "mailbox": report.mailbox, "dry_run": report.dry_run, "messages": report.messages,
        "hard": report.hard, "soft": report.soft, "soft_to_hard": report.soft_to_hard,
        "complaints": report.complaints, "by_address": report.by_address,
        "before_lift": report.before_lift,
        "auto_replies": report.auto_replies, "unsubscribes": report.unsubscribes,
        "not_ours": report.not_ours, "already_handled": report.already_handled,
        "not_understood": [{"handle": u.handle, "subject": u.subject, "from": u.sender,
                            "why": u.why} for u in report.not_understood],
        "listed": [{"handle": x.handle, "address": x.address, "kind": x.kind,
                    "subject": x.subject, "from": x.sender, "why": x.why}
                   for x in report.listed],
    }
