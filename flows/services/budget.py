"""Budget plans, adjustments and the fund-rule status report (三(二) 加大资金投入)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlmodel import Session, col, select

from flows.services.context import acting, current_policy
from flows.services.text_input import limit, shown, text_problem
from models import audit, ledger
from models.tables import BudgetAdjustment, BudgetLine, Receipt
from rules.budget_plan import LOCAL_SOURCES, BudgetPlan, parse_plan, plan_figures
from rules.errors import NotFound, RuleViolation, ValidationFailed
from rules.funds import (
    BUCKETS,
    FundFigures,
    FundRuleThresholds,
    RuleResult,
    allocation_entries,
    evaluate_fund_rules,
    raise_if_violated,
    receipt_entries,
)
from rules.money import MoneyFormatError, parse_yuan
from rules.policy import Policy


def thresholds(policy: Policy, year: int) -> FundRuleThresholds:
    as_of = dt.date(year, 12, 31)
    return FundRuleThresholds(
        match_ratio=policy.ratio("funds.match_ratio", as_of),
        cluster_floor=policy.ratio("funds.cluster_floor", as_of),
        market_floor=policy.ratio("funds.market_floor", as_of),
        clause=policy.parameter("funds.match_ratio").clause,
    )


def read_plan_toml(content: bytes, source_name: str = "plan") -> dict[str, Any]:
    """The TOML of a plan file as a mapping, or ValidationFailed saying where it cannot be read: the
    first byte that is not UTF-8 (TOML files are always UTF-8), or the line and column of a TOML syntax
    error. Nothing has been written when this raises."""
    import re
    import tomllib

    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = content[:exc.start].count(b"\n") + 1
        raise ValidationFailed(source_name, [
            f"line {line} (byte {exc.start}): the file is not UTF-8 text (byte 0x{content[exc.start]:02X} is "
            "not valid UTF-8 there; it looks like GBK or a binary file); a budget plan is TOML, "
            "which is always UTF-8: save it as UTF-8 (e.g. `iconv -f GBK -t UTF-8`)"]) from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        message = str(exc)
        where = re.search(r"\s*\(at line (\d+), column (\d+)\)$", message)
        if where is not None:
            message = (f"line {where[1]}, column {where[2]}: not valid TOML: {message[:where.start()]}")
        else:
            message = f"not valid TOML: {message}"
        raise ValidationFailed(source_name, [message]) from None


def plan_text_problem(value: str, where: str) -> str | None:
    """What is wrong with a text of the plan at key path ``where`` (``line[2].name``) as stored: its
    column's length, control characters (rules.budget_plan.TextCheck)."""
    key = where.rsplit(".", 1)[-1].split("[", 1)[0]
    limits = {"reference": limit(Receipt, "reference"), "source": limit(Receipt, "source"),
              "code": limit(BudgetLine, "code"), "name": limit(BudgetLine, "name"),
              "scheme": limit(BudgetLine, "scheme"), "tags": limit(BudgetLine, "tags")}
    return text_problem(value, field=where, max_len=limits.get(key, _AMOUNT_TEXT_MAX))


_AMOUNT_TEXT_MAX = 32  # an amount in yuan ("50,000,000.00") is a short text; anything longer is a mistake


def load_plan(session: Session, actor: str | None, raw: dict[str, Any], source_name: str = "plan") -> BudgetPlan:
    """Load a whole year's plan or nothing: every problem and every broken fund rule is listed."""
    user = acting(session, actor, "budget.plan")
    policy = current_policy(session)
    plan = parse_plan(raw, policy.scheme_ids(), check_text=plan_text_problem)
    if session.exec(select(BudgetLine).where(BudgetLine.year == plan.year)).first() is not None:
        raise RuleViolation(f"{source_name}: fiscal year {plan.year} already has a plan; change it with "
                            "`ipfund budget adjust` (every change is a new posting)")
    raise_if_violated(evaluate_fund_rules(plan_figures(plan), thresholds(policy, plan.year)),
                      f"budget plan {source_name} for {plan.year}")
    for r in plan.receipts:
        p = ledger.post(session, year=plan.year, kind="receipt", memo=r.reference, actor=user.name,
                        entries=receipt_entries(r.source, r.amount_fen), subject=f"year:{plan.year}")
        assert p.id is not None
        session.add(Receipt(year=plan.year, source=r.source, amount_fen=r.amount_fen, reference=r.reference,
                            posting_id=p.id))
    for line in plan.lines:
        session.add(BudgetLine(year=plan.year, code=line.code, name=line.name, tags=",".join(line.tags),
                               scheme=line.scheme))
        entries = []
        for src, amount in sorted(line.amounts_fen.items()):
            entries += allocation_entries(line.code, src, amount)
        ledger.post(session, year=plan.year, kind="allocation", memo=f"plan: {line.name}", actor=user.name,
                    entries=entries, subject=f"line:{plan.year}:{line.code}")
    session.flush()
    audit.append(session, actor=user.name, action="budget.plan", subject=f"year:{plan.year}", payload={
        "file": source_name,
        "receipts": [{"source": r.source, "amount_fen": r.amount_fen, "reference": r.reference} for r in plan.receipts],
        "lines": [{"code": ln.code, "name": ln.name, "tags": list(ln.tags), "scheme": ln.scheme,
                   "amounts_fen": dict(sorted(ln.amounts_fen.items()))} for ln in plan.lines],
    })
    return plan


def get_line(session: Session, year: int, code: str) -> BudgetLine:
    line = session.exec(select(BudgetLine).where(BudgetLine.year == year, BudgetLine.code == code)).first()
    if line is None:
        codes = ", ".join(ln.code for ln in session.exec(select(BudgetLine).where(BudgetLine.year == year)).all())
        raise NotFound(f"budget line {code!r} does not exist in {year} (lines: {codes or 'none — load a plan'})")
    return line


def planned_figures(session: Session, year: int) -> FundFigures:
    lines = {ln.code: ln for ln in session.exec(select(BudgetLine).where(BudgetLine.year == year)).all()}
    bal = ledger.line_balances(session, year)
    central = sum(r.amount_fen for r in session.exec(
        select(Receipt).where(Receipt.year == year, Receipt.source == "central")).all())

    def central_tagged(tag: str) -> int:
        return sum(b.allocated(("central",)) for c, b in bal.items() if c in lines and tag in lines[c].tag_set())

    return FundFigures(central, sum(b.allocated(LOCAL_SOURCES) for b in bal.values()),
                       central_tagged("cluster_zone"), central_tagged("market_oriented"))


def actual_figures(session: Session, year: int) -> FundFigures:
    lines = {ln.code: ln for ln in session.exec(select(BudgetLine).where(BudgetLine.year == year)).all()}
    bal = ledger.line_balances(session, year)
    central = sum(r.amount_fen for r in session.exec(
        select(Receipt).where(Receipt.year == year, Receipt.source == "central")).all())

    def paid(tag: str) -> int:
        return sum(b.total("paid", ("central",)) for c, b in bal.items() if c in lines and tag in lines[c].tag_set())

    return FundFigures(central, sum(b.total("paid", LOCAL_SOURCES) for b in bal.values()),
                       paid("cluster_zone"), paid("market_oriented"))


def adjust_line(session: Session, actor: str | None, year: int, code: str, source: str, delta_yuan: str,
                reason: str) -> BudgetAdjustment:
    """Move money between a fund source and a line (+ allocates more, - gives back unspent money).

    Refused, with every broken rule listed, if the plan after the change breaks a 三(二) fund rule."""
    user = acting(session, actor, "budget.adjust")
    policy = current_policy(session)
    if not reason or not reason.strip():
        raise ValidationFailed("budget adjust", ["--reason: say why the line changes (it is kept in the audit log)"])
    reason = reason.replace("\r\n", "\n").strip()
    problems = [p for p in (
        text_problem(reason, field="--reason", max_len=limit(BudgetAdjustment, "reason"), multiline=True),
        text_problem(code, field="--line", max_len=limit(BudgetLine, "code")),
        text_problem(delta_yuan.strip(), field="--delta-yuan", max_len=_AMOUNT_TEXT_MAX)) if p is not None]
    if source not in policy.fund_sources:
        problems.append(f"--source {shown(source)}: one of {', '.join(policy.fund_sources)}")
    if problems:
        raise ValidationFailed("budget adjust", problems)
    text = delta_yuan.strip()
    negative = text.startswith("-")
    try:
        amount = parse_yuan(text.lstrip("+-"), field="--delta-yuan", allow_zero=False)
    except MoneyFormatError as exc:
        raise ValidationFailed("budget adjust", [str(exc)]) from None
    delta = -amount if negative else amount
    line = get_line(session, year, code)
    before = planned_figures(session, year)
    is_central = source == "central"
    after = FundFigures(
        central_fen=before.central_fen,
        local_fen=before.local_fen + (delta if source in LOCAL_SOURCES else 0),
        central_cluster_fen=before.central_cluster_fen + (delta if is_central and "cluster_zone" in line.tag_set() else 0),
        central_market_fen=before.central_market_fen + (delta if is_central and "market_oriented" in line.tag_set() else 0),
    )
    raise_if_violated(evaluate_fund_rules(after, thresholds(policy, year)),
                      f"adjustment of {code} by {delta_yuan} {source}")
    p = ledger.post(session, year=year, kind="adjustment", memo=reason, actor=user.name,
                    entries=allocation_entries(code, source, delta), subject=f"line:{year}:{code}")
    assert p.id is not None
    adj = BudgetAdjustment(year=year, line_code=code, source=source, delta_fen=delta, reason=reason,
                           approved_by=user.name, at=p.at, posting_id=p.id)
    session.add(adj)
    session.flush()
    audit.append(session, actor=user.name, action="budget.adjust", subject=f"line:{year}:{code}",
                 payload={"source": source, "delta_fen": delta, "reason": adj.reason, "posting_id": p.id})
    return adj


def years(session: Session) -> list[int]:
    return sorted({ln.year for ln in session.exec(select(BudgetLine)).all()})


def _rule_rows(planned: list[RuleResult], actual: list[RuleResult]) -> list[dict[str, Any]]:
    return [{"rule": p.rule, "title": p.title, "clause": p.clause, "planned": p.as_dict(), "actual": a.as_dict()}
            for p, a in zip(planned, actual, strict=True)]


def status(session: Session, year: int | None = None) -> dict[str, Any]:
    """Per rule: planned and actual (paid) figures, ratio, threshold, pass/fail, shortfall; lines and sources."""
    policy = current_policy(session)
    if year is None:
        ys = years(session)
        if not ys:
            raise NotFound("no budget plan is loaded; load one with `ipfund budget plan FILE`")
        year = ys[-1]
    lines = list(session.exec(select(BudgetLine).where(BudgetLine.year == year).order_by(col(BudgetLine.id))).all())
    if not lines:
        raise NotFound(f"no budget plan for {year}; load one with `ipfund budget plan FILE`")
    t = thresholds(policy, year)
    planned = evaluate_fund_rules(planned_figures(session, year), t)
    actual = evaluate_fund_rules(actual_figures(session, year), t)
    bal = ledger.line_balances(session, year)
    line_rows = []
    for ln in lines:
        b = bal.get(ln.code, ledger.LineBalance(ln.code))
        line_rows.append({
            "code": ln.code, "name": ln.name, "tags": sorted(ln.tag_set()), "scheme": ln.scheme,
            "allocated_fen": b.allocated(), "committed_fen": b.total("committed"), "paid_fen": b.total("paid"),
            "available_fen": b.total("available"),
            # clawed back after a fraud finding and not yet recovered: allocated, no longer paid (三(二), 三(三))
            "receivable_fen": b.total("receivable"),
            "by_source": {s: {k: b.get(s, k) for k in BUCKETS} | {"allocated": sum(
                b.get(s, k) for k in BUCKETS)} for s in sorted(b.by_source)},
        })
    adjustments = session.exec(select(BudgetAdjustment).where(BudgetAdjustment.year == year)
                               .order_by(col(BudgetAdjustment.id))).all()
    return {
        "year": year,
        "policy": policy.id,
        "rules": _rule_rows(planned, actual),
        "all_planned_pass": all(r.passed for r in planned),
        "all_actual_pass": all(r.passed for r in actual),
        "sources": ledger.source_balances(session, year),
        "lines": line_rows,
        "adjustments": [{"line": a.line_code, "source": a.source, "delta_fen": a.delta_fen, "reason": a.reason,
                         "approved_by": a.approved_by, "at": a.at} for a in adjustments],
    }
