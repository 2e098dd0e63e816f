"""`ipfund agency ...` (the accredited service-agency registry, 二(四)10 and 13) and `ipfund notify ...`
(the notification outbox). No flow runs here: neither Prefect nor the ORM is imported until a command
runs."""

from __future__ import annotations

from typing import Any

import typer
from rich.table import Table

from flows.cli.common import AS_OPTION, JSON_OPTION, console, handled, money_table, print_json, yuan

agency_app = typer.Typer(help="Service agencies (服务机构库, 二(四)10、13): accreditation and dynamic management.",
                         no_args_is_help=True)
notify_app = typer.Typer(help="The notification outbox: list messages and mark them sent.", no_args_is_help=True)

REASON: Any = typer.Option(..., "--reason", help="Why (shown on the public list and kept in the audit log)")


@agency_app.command("apply")
@handled
def agency_apply(
    uscc: str = typer.Argument(..., help="The agency's 统一社会信用代码"),
    name: str = typer.Option(..., "--name", help="Registered name"),
    office: str = typer.Option("", "--office", help="Address of its fixed office (有固定的办公场所)"),
    staff: int = typer.Option(0, "--staff", help="Full-time IP staff"),
    liability: bool = typer.Option(False, "--independent-liability/--no-independent-liability",
                                   help="Whether it bears legal liability independently (能独立承担法律责任)"),
    actor: str = AS_OPTION,
) -> None:
    """Apply to the registry (an agency's staff for their own agency; reviewers and admins for any)."""
    from flows.services import agencies
    from models.uow import unit_of_work

    with unit_of_work() as s:
        a = agencies.apply(s, actor, uscc, name, office, staff, liability)
        shown = f"{a.name} ({a.uscc})"
    console.print(f"[green]applied[/] {shown}; a reviewer accredits it with `ipfund agency accredit`")


@agency_app.command("accredit")
@handled
def agency_accredit(
    uscc: str = typer.Argument(...),
    service: list[str] = typer.Option(..., "--service", help="SERVICE=YUAN or SERVICE=YUAN@YYYY-MM-DD: a service "
                                      "and its price from a date (today by default); repeat for each"),
    reason: str = typer.Option("", "--reason"),
    actor: str = AS_OPTION,
) -> None:
    """Accredit an agency for services with a price schedule, when every requirement passes."""
    from flows.services import agencies
    from models.uow import unit_of_work

    with unit_of_work() as s:
        a = agencies.accredit(s, actor, uscc, service, reason)
        shown = f"{a.name} ({a.uscc})"
    console.print(f"[green]accredited[/] {shown}")


def _change(action: str, done: str) -> Any:
    def command(uscc: str = typer.Argument(...), reason: str = REASON, actor: str = AS_OPTION) -> None:
        from flows.services import agencies
        from models.uow import unit_of_work

        with unit_of_work() as s:
            a = agencies.change(s, actor, uscc, action, reason)
            shown = f"{a.name} ({a.uscc})"
        console.print(f"[green]{done}[/] {shown}")

    command.__doc__ = {"warn": "Warn an accredited agency (警示, 二(四)13).",
                       "suspend": "Suspend an agency: it takes no new vouchers from now on (二(四)10).",
                       "expel": "Expel an agency (取消资格, 二(四)10); final.",
                       "reinstate": "Reinstate a warned or suspended agency after rectification (整改).",
                       "withdraw": "Withdraw an agency from the registry (its own staff or an admin)."}[action]
    return handled(command)


for _action, _done in (("warn", "warned"), ("suspend", "suspended"), ("expel", "expelled"),
                       ("reinstate", "reinstated"), ("withdraw", "withdrawn")):
    agency_app.command(_action)(_change(_action, _done))


@agency_app.command("bank")
@handled
def agency_bank(
    uscc: str = typer.Argument(...),
    bank_name: str = typer.Option(..., "--bank-name", help="开户银行"),
    account: str = typer.Option(..., "--account", help="账号 (digits, 8–32)"),
    reason: str = typer.Option("", "--reason"),
    actor: str = AS_OPTION,
) -> None:
    """Record an agency's bank details, where its voucher settlements (通兑) are paid (audited)."""
    from flows.services import payees
    from models.uow import unit_of_work

    with unit_of_work() as s:
        a = payees.set_agency_bank(s, actor, uscc, bank_name, account, reason)
        shown = f"{a.name} ({a.uscc}): {a.bank_name} {a.bank_account}"
    console.print(f"[green]recorded[/] {shown}")


@agency_app.command("complaint")
@handled
def agency_complaint(
    uscc: str = typer.Argument(...),
    summary: str = typer.Option(..., "--summary", help="What the complaint says"),
    complainant: str = typer.Option(..., "--complainant", help="Who complained (an enterprise, a person)"),
    received_on: str = typer.Option(None, "--received-on", help="YYYY-MM-DD (today by default)"),
    actor: str = AS_OPTION,
) -> None:
    """Record a complaint against an agency (it counts towards its year's warning threshold)."""
    from flows.services import agencies
    from models.uow import unit_of_work

    with unit_of_work() as s:
        c = agencies.record_complaint(s, actor, uscc, summary, complainant, received_on)
        on = c.received_on
    console.print(f"[green]recorded[/] complaint of {on} against {uscc.strip()}")


@agency_app.command("fraud")
@handled
def agency_fraud(
    uscc: str = typer.Argument(..., help="The agency's 统一社会信用代码"),
    finding: str = typer.Option(..., "--finding", help="What was found (恶意串通、弄虚作假) and the evidence for it"),
    clause: str = typer.Option("二(四)13", "--clause", help="The clause the finding rests on"),
    voucher: list[str] = typer.Option([], "--voucher", help="REF or REF=YUAN: a settled voucher of the agency to "
                                      "claw back, in full or the amount named; repeat for each"),
    actor: str = AS_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Record a fraud finding (二(四)13): the agency is expelled, its open vouchers void (holders told), and each
    settled voucher named is clawed back as a receivable on its budget line — one act, nothing or all."""
    from flows.services import fraud
    from models.uow import unit_of_work

    with unit_of_work() as s:
        r = fraud.record_finding(s, actor, uscc, finding, clause, voucher)
        report: dict[str, Any] = {"finding_id": r.finding.id, "agency": uscc.strip().upper(), "expelled": r.expelled,
                  "voided": r.voided, "in_payment": r.in_payment,
                  "clawbacks": [{"ref": ref, "amount_fen": c.amount_fen, "debtor": c.debtor_name,
                                 "debtor_uscc": c.debtor_uscc} for ref, c in r.clawbacks]}
    if as_json:
        print_json(report)
        return
    console.print(f"[green]recorded[/] fraud finding {report['finding_id']} against {report['agency']}"
                  + ("; expelled" if report["expelled"] else "; already expelled")
                  + f"; {len(report['voided'])} open voucher(s) void", highlight=False)
    for ref in report["in_payment"]:
        console.print(f"  {ref} is in a payment batch: name it in a finding once it is settled", highlight=False)
    for c in report["clawbacks"]:
        console.print(f"  clawed back {c['ref']}: {yuan(c['amount_fen'])} owed by {c['debtor']} ({c['debtor_uscc']})",
                      highlight=False)


@agency_app.command("spot-check")
@handled
def agency_spot_check(
    uscc: str = typer.Argument(...),
    result: str = typer.Option(..., "--result", help="pass, fail or fraud"),
    finding: str = typer.Option(..., "--finding", help="What the check found"),
    grade: str = typer.Option(None, "--grade", help="Evaluation grade 0–100 (one decimal)"),
    checked_on: str = typer.Option(None, "--checked-on", help="YYYY-MM-DD (today by default)"),
    actor: str = AS_OPTION,
) -> None:
    """Record a spot check (抽查) of an agency's service."""
    from flows.services import agencies
    from models.uow import unit_of_work

    with unit_of_work() as s:
        c = agencies.record_spot_check(s, actor, uscc, result, finding, grade, checked_on)
        shown = f"{c.result} on {c.checked_on}"
    console.print(f"[green]recorded[/] spot check of {uscc.strip()}: {shown}")


@agency_app.command("monitor")
@handled
def agency_monitor(year: int = typer.Option(..., "--year"), actor: str = AS_OPTION,
                   as_json: bool = JSON_OPTION) -> None:
    """Apply the policy's thresholds to every agency's record for a year (a system act, admins)."""
    from flows.services import agencies
    from models.uow import unit_of_work

    with unit_of_work() as s:
        report = agencies.monitor(s, actor, year)
    if as_json:
        print_json(report)
        return
    t = Table("credit code", "agency", "before", "after", "why")
    for r in report["agencies"]:
        t.add_row(r["uscc"], r["name"], r["state_before"], r["state"], "; ".join(r["reasons"]) or "—")
    console.print(t)
    console.print(f"{report['acts']} act(s) taken for {year}")


@agency_app.command("reward")
@handled
def agency_reward(year: int = typer.Option(..., "--year"), actor: str = AS_OPTION,
                  as_json: bool = JSON_OPTION) -> None:
    """Decide the yearly reward to the best agency (二(四)10), once the year is over."""
    from flows.services import agencies
    from models.uow import unit_of_work

    with unit_of_work() as s:
        report = agencies.reward(s, actor, year)
    if as_json:
        print_json(report)
        return
    t = Table("rank", "credit code", "agency", "mean grade")
    for r in report["ranked"]:
        t.add_row(str(r["rank"]), r["uscc"], r["name"], r["mean_grade"])
    console.print(t)
    console.print(f"[green]rewarded[/] {report['winner']} {yuan(report['amount_fen'])} for {year}")


@agency_app.command("list")
@handled
def agency_list(
    on: str = typer.Option(None, "--on", help="The public list as of YYYY-MM-DD (today by default)"),
    service: str = typer.Option(None, "--service", help="Only agencies accredited for this service"),
    state: str = typer.Option(None, "--state", help="Every agency in this state instead of the public list"),
    actor: str = AS_OPTION, as_json: bool = JSON_OPTION,
) -> None:
    """The public list of accredited agencies as of a date (信息公示), or every agency in a state."""
    import datetime as dt

    from flows.services import agencies
    from models.uow import read_only

    try:
        day = dt.date.fromisoformat(on) if on else None
    except ValueError:
        raise typer.BadParameter(f"--on {on!r}: write YYYY-MM-DD") from None
    with read_only() as s:
        if state is not None:
            rows = agencies.list_agencies(s, state)
        else:
            rows = agencies.accredited_on(s, day or agencies.today(), service)
    if as_json:
        print_json(rows)
        return
    if state is not None:
        t = Table("credit code", "agency", "state", "since")
        for r in rows:
            t.add_row(r["uscc"], r["name"], r["state"], r["since"][:10])
        console.print(t)
        return
    t = Table("credit code", "agency", "state", "service", "price")
    for r in rows:
        for svc, fen in r["services"].items():
            t.add_row(r["uscc"], r["name"], r["state"], svc, yuan(fen))
    console.print(money_table(t, "price"))


@agency_app.command("show")
@handled
def agency_show(uscc: str = typer.Argument(...), actor: str = AS_OPTION, as_json: bool = JSON_OPTION) -> None:
    """One agency: its facts, price schedule, every event, complaints and spot checks."""
    from flows.services import agencies
    from models.uow import read_only

    with read_only() as s:
        a = agencies.show(s, uscc)
    if as_json:
        print_json(a)
        return
    console.print(f"{a['name']} ({a['uscc']}): [bold]{a['state']}[/] since {a['since'][:10]}", highlight=False)
    prices = Table("service", "from", "price")
    for p in a["prices"]:
        prices.add_row(p["service"], p["from"], yuan(p["price_fen"]))
    console.print(money_table(prices, "price"))
    events = Table("at", "act", "from", "to", "by", "clause", "reason")
    for e in a["events"]:
        events.add_row(e["at"][:10], e["action"], e["from"] or "", e["to"], e["actor"], e["clause"], e["reason"])
    console.print(events)
    console.print(f"{len(a['complaints'])} complaint(s), {len(a['spot_checks'])} spot check(s)")
    for f in a["fraud_findings"]:
        clawed = ", ".join(x["ref"] for x in f["detail"].get("vouchers_named", [])) or "none"
        console.print(f"fraud finding {f['id']} ({f['clause']}, {f['found_on']}, {f['found_by']}): {f['finding']} — "
                      f"clawed back: {clawed}; void: {', '.join(f['detail'].get('voided', [])) or 'none'}",
                      highlight=False, soft_wrap=True)


@notify_app.command("list")
@handled
def notify_list(unsent: bool = typer.Option(False, "--unsent", help="Only messages not yet sent"),
                recipient: str = typer.Option(None, "--to", help="Only messages to this user or credit code"),
                actor: str = AS_OPTION, as_json: bool = JSON_OPTION) -> None:
    """The outbox, oldest first (yours, or every message for the bureau's staff)."""
    from flows.services import notifications
    from models.uow import read_only

    with read_only() as s:
        rows = notifications.list_notifications(s, actor, unsent, recipient)
    if as_json:
        print_json(rows)
        return
    t = Table("id", "to", "subject", "created", "sent")
    for r in rows:
        t.add_row(str(r["id"]), r["recipient"], r["subject"], r["created_at"][:16], (r["sent_at"] or "")[:16])
    console.print(t)


@notify_app.command("mark-sent")
@handled
def notify_mark_sent(ids: list[int] = typer.Argument(..., help="Notification ids"), actor: str = AS_OPTION) -> None:
    """Mark messages sent (the sending adapter's act): all of them, or none when one is unknown or sent."""
    from flows.services import notifications
    from models.uow import unit_of_work

    with unit_of_work() as s:
        n = notifications.mark_sent(s, actor, ids)
    console.print(f"[green]marked sent[/] {n} notification(s)")
