"""The reviewer's commands without Typer: `review queue` and `review next`, run all day.

`main()` offers every command line to :func:`run_fast_review` first. It takes only a plain list of these
commands' own options, reads through the lean DB-API path (`flows.services.review_read`) and prints with
Rich, never importing Typer or the other command modules (about 65 ms of a CLI start on this kind of
machine). Anything else (--help, an unknown option, a value that is not a plain number or looks like an
option) returns None, and Typer parses the command line as usual, with its own usage messages. The Typer
commands `review queue|next` call the same functions.
"""

from __future__ import annotations

import os
import sys
from typing import Any

from rich.panel import Panel
from rich.table import Table

from flows.cli.output import console, exit_code_for, print_json, yuan


def render_case(c: dict[str, Any]) -> None:
    a = c["applicant"]
    console.print(Panel.fit(
        f"[bold]{c['ref']}[/] {c['scheme']} {c['year']} — [cyan]{c['status']}[/] ({c['state_name']})\n"
        f"{a['name']}  {a['uscc']}  {a['kind']}  district {a['district']}"
        f"{'  SME' if a['sme'] else ''}{'  whitelist' if a['whitelist'] else ''}\n"
        f"submitted {c['submitted_at']} by {c['submitted_by']}\n"
        + "  ".join(f"{k}: {v}" for k, v in c["data"].items())))
    if c["checks"]:
        t = Table("check", "result", "rule", "clause", "parameter", "detail", title="Automatic checks")
        for k in c["checks"]:
            t.add_row(k["check"], "[green]√[/]" if k["passed"] else "[red]×[/]", k["rule"], k["clause"],
                      k["parameter"] or "", k["detail"])
        console.print(t)
    for d in c["decisions"]:
        console.print(f"review {d['stage']}: [bold]{d['decision']}[/] by {d['reviewer']} at {d['at']} — {d['reason']}")
    if c["final_score"]:
        console.print(f"final score {c['final_score']}  rank {c['rank'] or '-'}  outcome {c['outcome'] or '-'}  "
                      f"award {yuan(c['award_fen'])}")
    elif c["outcome"]:
        console.print(f"outcome {c['outcome']}: {c['outcome_reason']}")
    for o in c["objections"]:
        console.print(f"objection by {o['raised_by']}: {o['reason']} → {o['resolution'] or 'open'}")
    for p in c["payments"]:
        console.print(f"payment {p['idempotency_key']} {yuan(p['amount_fen'])} {p['status']} {p['bank_ref'] or ''}")
    t = Table("#", "at (UTC)", "actor", "action", "from → to", title="History")
    for h in c["history"]:
        pl = h["payload"]
        t.add_row(str(h["seq"]), h["at"], h["actor"], h["action"],
                  f"{pl.get('from', '')} → {pl.get('to', '')}" if "to" in pl else "")
    console.print(t)


def show_queue(stage: str | None, scheme: str | None, limit: int, actor: str | None, as_json: bool) -> None:
    from flows.services import review_read

    rows = review_read.queue(review_read.database_url(), actor, stage, scheme, limit)
    if as_json:
        print_json(rows)
        return
    if not rows:
        console.print(f"Your queue ({stage or 'every review stage'}) is empty.")
        return
    t = Table("ref", "scheme", "stage", "applicant", "credit code", "waiting since",
              title=f"Review queue ({stage or 'every review stage'})")
    for r in rows:
        t.add_row(r["ref"], r["scheme"], r["stage"], r["applicant"], r["uscc"], r["waiting_since"])
    console.print(t)


def show_next(stage: str | None, actor: str | None, as_json: bool, scheme: str | None = None) -> None:
    from flows.services import review_read

    case = review_read.next_case(review_read.database_url(), actor, stage, scheme)
    if as_json:
        print_json(case)
        return
    if case is None:
        console.print("Your queue is empty.")
        return
    render_case(case)


# --- parsing the plain command lines --------------------------------------------------------------------
# Typer coerces every non-flag parameter through a pydantic TypeAdapter, which imports pydantic
# (~100 ms) on each run. Reviewers run `review queue` and `review next` all day, so main() offers
# them to fast_review() first: it accepts only a plain list of these commands' own options and then
# calls the very functions above. Anything else (--help, an unknown option, a value that is not a
# plain number or looks like an option) returns None and Typer parses the command line as usual,
# with its own usage messages.

_FAST_OPTIONS: dict[str, dict[str, str]] = {
    "queue": {"--stage": "stage", "--scheme": "scheme", "--limit": "limit", "--as": "actor"},
    "next": {"--stage": "stage", "--scheme": "scheme", "--as": "actor"},
}


def parse_fast_review(argv: list[str]) -> tuple[str, dict[str, Any]] | None:
    """(command, keyword arguments) for a plain `review queue|next` command line, else None."""
    if len(argv) < 2 or argv[0] != "review" or argv[1] not in _FAST_OPTIONS:
        return None
    names = _FAST_OPTIONS[argv[1]]
    values: dict[str, Any] = {}
    as_json = False
    rest = argv[2:]
    i = 0
    while i < len(rest):
        if rest[i] == "--json":
            as_json, i = True, i + 1
            continue
        name, eq, value = rest[i].partition("=")
        if name not in names:
            return None
        if not eq:
            if i + 1 == len(rest):
                return None
            value = rest[i + 1]
        i += 1 if eq else 2
        if not value or value.startswith("-"):
            return None
        values[names[name]] = value  # the last one wins, as on the Typer path
    if "limit" in values:
        if not (values["limit"].isascii() and values["limit"].isdigit()):
            return None
        values["limit"] = int(values["limit"])
    kwargs: dict[str, Any] = {"stage": values.get("stage"),
                              "actor": values.get("actor") or os.environ.get("IPFUND_USER") or None,
                              "as_json": as_json}
    kwargs["scheme"] = values.get("scheme")
    if argv[1] == "queue":
        kwargs["limit"] = values.get("limit", 50)
    return argv[1], kwargs


def run_fast_review(argv: list[str]) -> int | None:
    """Run a plain `review queue|next`; return the exit status, or None when Typer should handle this
    command line."""
    parsed = parse_fast_review(argv)
    if parsed is None:
        return None
    command, kwargs = parsed
    try:
        (show_queue if command == "queue" else show_next)(**kwargs)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `... | head`: quiet, as Typer is
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except Exception as exc:
        code = exit_code_for(exc)
        if code is None:
            raise
        return code
    return 0
