"""A year's budget plan (TOML, see README): parsing and validation, pure.

Every problem is reported with its key path (``line[3].central_yuan``) and nothing is accepted until
the whole plan is clean. The fund rules are checked on the parsed plan by :func:`plan_figures`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from rules.errors import ValidationFailed
from rules.funds import SOURCES, FundFigures  # SOURCES: the one list of fund sources
from rules.money import MoneyFormatError, parse_yuan

LOCAL_SOURCES = ("municipal", "district")
KNOWN_TAGS = ("cluster_zone", "market_oriented")
CODE_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")

TextCheck = Callable[[str, str], str | None]
"""``check(value, key_path)``: what is wrong with ``value`` as text to store at ``key_path`` (too long
for its column, control characters), naming the key path, or None. The service passes one built on
the columns' lengths (flows.services.text_input); without it only the plan's own rules apply."""


def _no_check(value: str, where: str) -> str | None:
    return None


def _show(value: object, width: int = 40) -> str:
    """A value quoted for a message, cut to ``width`` characters."""
    text = repr(value)
    return text if len(text) <= width else text[: width - 1] + "…"


@dataclass(frozen=True)
class PlanReceipt:
    source: str
    amount_fen: int
    reference: str


@dataclass
class PlanLine:
    code: str
    name: str
    tags: tuple[str, ...]
    scheme: str | None
    amounts_fen: dict[str, int] = field(default_factory=dict)  # by source


@dataclass
class BudgetPlan:
    year: int
    receipts: list[PlanReceipt]
    lines: list[PlanLine]

    def received(self, source: str) -> int:
        return sum(r.amount_fen for r in self.receipts if r.source == source)

    def allocated(self, source: str) -> int:
        return sum(line.amounts_fen.get(source, 0) for line in self.lines)


def _money(problems: list[str], where: str, raw: Mapping[str, Any], key: str, positive: bool,
           check: TextCheck = _no_check) -> int | None:
    if key not in raw:
        return None
    value = raw[key]
    if not isinstance(value, str):
        problems.append(f"{where}.{key}: {_show(value)} must be a quoted yuan string such as \"1000000.00\" "
                        "(numbers are not accepted: floats never touch money)")
        return None
    bad = check(value, f"{where}.{key}")
    if bad is not None:
        problems.append(bad)
        return None
    try:
        return parse_yuan(value, field=f"{where}.{key}", allow_zero=not positive)
    except MoneyFormatError as exc:
        problems.append(str(exc))
        return None


def _text_ok(problems: list[str], check: TextCheck, value: object, where: str) -> bool:
    """False (with the problem listed) when ``value`` is text that cannot be stored at ``where``."""
    if not isinstance(value, str):
        return True  # the field's own rule says what it should be
    bad = check(value, where)
    if bad is not None:
        problems.append(bad)
    return bad is None


def parse_plan(raw: Mapping[str, Any], schemes: set[str] | None = None,
               check_text: TextCheck | None = None) -> BudgetPlan:
    """The plan, or ValidationFailed listing every problem by key path. ``check_text`` checks every
    text the plan stores (see :data:`TextCheck`)."""
    check = check_text or _no_check
    problems: list[str] = []
    year = raw.get("year")
    if not isinstance(year, int) or isinstance(year, bool) or not 2000 <= year <= 2100:
        problems.append(f"year: {_show(year)} must be a fiscal year such as 2021")
        year = 0
    for key in raw:
        if key not in ("year", "receipt", "line"):
            problems.append(f"{_show(key)}: unknown key (expected year, [[receipt]], [[line]])")

    receipts: list[PlanReceipt] = []
    raw_receipts = raw.get("receipt", [])
    if not isinstance(raw_receipts, list) or not raw_receipts:
        problems.append("receipt: a plan needs at least one [[receipt]] (central funds received)")
        raw_receipts = []
    for i, r in enumerate(raw_receipts, 1):
        where = f"receipt[{i}]"
        if not isinstance(r, Mapping):
            problems.append(f"{where}: must be a table")
            continue
        for key in r:
            if key not in ("source", "amount_yuan", "reference"):
                problems.append(f"{where}.{_show(key)}: unknown key (expected source, amount_yuan, reference)")
        source = r.get("source")
        if source not in SOURCES:
            problems.append(f"{where}.source: {_show(source)} is not a fund source ({' | '.join(SOURCES)})")
        amount = _money(problems, where, r, "amount_yuan", positive=True, check=check)
        if "amount_yuan" not in r:
            problems.append(f"{where}.amount_yuan: missing")
        reference = r.get("reference", "")
        text_ok = _text_ok(problems, check, reference.strip() if isinstance(reference, str) else reference,
                           f"{where}.reference")
        if not isinstance(reference, str) or not reference.strip():
            problems.append(f"{where}.reference: missing (name the document or transfer the money came with)")
        if source in SOURCES and amount is not None and isinstance(reference, str) and text_ok:
            receipts.append(PlanReceipt(str(source), amount, reference.strip()))

    lines: list[PlanLine] = []
    raw_lines = raw.get("line", [])
    if not isinstance(raw_lines, list) or not raw_lines:
        problems.append("line: a plan needs at least one [[line]]")
        raw_lines = []
    seen: set[str] = set()
    for i, ln in enumerate(raw_lines, 1):
        where = f"line[{i}]"
        if not isinstance(ln, Mapping):
            problems.append(f"{where}: must be a table")
            continue
        allowed = {"code", "name", "tags", "scheme", "central_yuan", "local_yuan", "municipal_yuan",
                   "district_yuan", "social_yuan"}
        for key in ln:
            if key not in allowed:
                problems.append(f"{where}.{_show(key)}: unknown key (expected one of {', '.join(sorted(allowed))})")
        code = ln.get("code")
        if not _text_ok(problems, check, code, f"{where}.code"):
            code = f"?{i}"
        elif not isinstance(code, str) or not CODE_RE.fullmatch(code):
            problems.append(f"{where}.code: {_show(code)} must be lower-case letters, digits and '-' "
                            "(e.g. cluster-zone-build)")
            code = f"?{i}"
        elif code in seen:
            problems.append(f"{where}.code: {code!r} appears twice; line codes are unique within a year")
        seen.add(code)
        name = ln.get("name")
        if not _text_ok(problems, check, name.strip() if isinstance(name, str) else name, f"{where}.name"):
            name = ""
        elif not isinstance(name, str) or not name.strip():
            problems.append(f"{where}.name: missing")
            name = ""
        tags = ln.get("tags", [])
        if isinstance(tags, list) and not all([_text_ok(problems, check, t, f"{where}.tags[{j}]")
                                               for j, t in enumerate(tags, 1)]):
            tags = []
        elif not isinstance(tags, list) or any(t not in KNOWN_TAGS for t in tags):
            problems.append(f"{where}.tags: {_show(tags)} — allowed tags are {', '.join(KNOWN_TAGS)}")
            tags = []
        scheme = ln.get("scheme")
        if not _text_ok(problems, check, scheme, f"{where}.scheme"):
            scheme = None
        elif scheme is not None and (not isinstance(scheme, str) or (schemes is not None and scheme not in schemes)):
            problems.append(f"{where}.scheme: {_show(scheme)} is not a scheme of the policy "
                            f"({', '.join(sorted(schemes or []))})")
            scheme = None
        amounts: dict[str, int] = {}
        for src in SOURCES:
            v = _money(problems, where, ln, f"{src}_yuan", positive=False, check=check)
            if v:
                amounts[src] = v
        local = _money(problems, where, ln, "local_yuan", positive=False, check=check)
        if local is not None and ("municipal_yuan" in ln or "district_yuan" in ln):
            problems.append(f"{where}.local_yuan: give either local_yuan or municipal_yuan/district_yuan, not both")
        elif local:
            amounts["local"] = local  # split across municipal/district below
        if not any(amounts.values()):
            problems.append(f"{where}: the line has no money (give central_yuan and/or local_yuan)")
        lines.append(PlanLine(code, str(name).strip(), tuple(dict.fromkeys(tags)), scheme, amounts))

    plan = BudgetPlan(int(year), receipts, lines)
    if not problems:
        _split_local(plan, problems)
        for src in SOURCES:
            over = plan.allocated(src) - plan.received(src)
            if over > 0:
                from rules.money import format_yuan
                problems.append(
                    f"{src}: lines allocate {format_yuan(plan.allocated(src))} but only "
                    f"{format_yuan(plan.received(src))} is received (over by {format_yuan(over)}); "
                    "add a [[receipt]] or lower the lines"
                )
    if problems:
        raise ValidationFailed("budget plan", problems)
    return plan


def _split_local(plan: BudgetPlan, problems: list[str]) -> None:
    """``local_yuan`` draws on municipal money first, then district, in plan order (deterministic)."""
    remaining = {s: plan.received(s) - plan.allocated(s) for s in LOCAL_SOURCES}
    for line in plan.lines:
        need = line.amounts_fen.pop("local", 0)
        for src in LOCAL_SOURCES:
            take = min(need, max(0, remaining[src]))
            if take:
                line.amounts_fen[src] = line.amounts_fen.get(src, 0) + take
                remaining[src] -= take
                need -= take
        if need:
            # Not enough local receipts: charge the rest to district so the over-allocation is reported.
            line.amounts_fen["district"] = line.amounts_fen.get("district", 0) + need
            remaining["district"] -= need


def plan_figures(plan: BudgetPlan) -> FundFigures:
    central = plan.received("central")
    return FundFigures(
        central_fen=central,
        local_fen=sum(plan.allocated(s) for s in LOCAL_SOURCES),
        central_cluster_fen=sum(ln.amounts_fen.get("central", 0) for ln in plan.lines if "cluster_zone" in ln.tags),
        central_market_fen=sum(ln.amounts_fen.get("central", 0) for ln in plan.lines if "market_oriented" in ln.tags),
    )
