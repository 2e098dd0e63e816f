"""The reconciliation of a year's awards with the fund ledger (三(三) 资金使用管理, 二(四)12 资金审计).

Pure: it reads the ledger postings of the year's cases as moves between the buckets of one budget line
and fund source (``line:L:S:available`` −X and ``line:L:S:committed`` +X is "award X") and, per case, per
line and source, per line and per source, checks to the fen

    awarded = paid + withdrawn + released + clawed back + outstanding

where awarded is every commitment ever posted (an award withdrawn later still counts), paid what is still
paid (payments less failed transfers reversed less what was clawed back), withdrawn what an upheld
objection released, released what was released otherwise (a voucher lapsed or settled below its face),
clawed back what was moved to the receivable (recovered or not), and outstanding what is still committed —
for a line and source the ledger's own committed balance, read independently of the moves, so a posting
the moves missed shows up as a residual instead of vanishing. Every move that makes a case's paid differ
from its award is one difference line (withdrawal, release, failed transfer, clawback, recovery), plus one
for what a case still holds committed; the caller names the audit event that explains each.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

# (from bucket, to bucket) -> the kind of move (rules.funds.move_entries documents each pair).
KINDS: dict[tuple[str, str], str] = {
    ("available", "committed"): "award", ("committed", "paid"): "pay", ("paid", "committed"): "fail",
    ("committed", "available"): "release", ("paid", "receivable"): "clawback", ("receivable", "available"): "recover",
}
# The moves that make a case's paid differ from its award: one difference line each.
DIFFERENCE_KINDS = ("withdraw", "release", "fail", "clawback", "recover")
# How each kind changes what a case holds committed.
_COMMITTED_SIGN = {"award": 1, "pay": -1, "fail": 1, "withdraw": -1, "release": -1}


@dataclass(frozen=True)
class Move:
    """One move of one posting on one line and source. ``kind`` is a value of :data:`KINDS`, or
    ``withdraw`` (a release the caller knows was an award withdrawn), or ``other`` (entries that are no
    move between two buckets: they count nowhere, so the identity shows them as a residual)."""

    case: str
    posting_id: int
    kind: str
    line: str
    source: str
    amount_fen: int


def bucket_moves(entries: Iterable[tuple[str, int]]) -> list[tuple[str | None, str | None, str | None, str, int]]:
    """A posting's entries as ``(line, source, from bucket, to bucket, amount)``: the two entries of one
    line and source that cancel are one move; anything else is one row per entry with no ``from`` (and,
    off the lines, no line or source: ``to`` is then the account)."""
    by_pair: dict[tuple[str, str], list[tuple[str, int]]] = defaultdict(list)
    other: list[tuple[str, int]] = []
    for account, amount in entries:
        parts = account.split(":")
        if len(parts) == 4 and parts[0] == "line":
            by_pair[(parts[1], parts[2])].append((parts[3], amount))
        else:
            other.append((account, amount))
    out: list[tuple[str | None, str | None, str | None, str, int]] = []
    for (line, source), items in by_pair.items():
        neg = [b for b, a in items if a < 0]
        pos = [(b, a) for b, a in items if a > 0]
        if len(items) == 2 and len(neg) == 1 and len(pos) == 1 and sum(a for _b, a in items) == 0:
            out.append((line, source, neg[0], pos[0][0], pos[0][1]))
        else:
            out += [(line, source, None, b, a) for b, a in items]
    out += [(None, None, None, acc, a) for acc, a in other]
    return out


def moves_of(case: str, posting_id: int, entries: Iterable[tuple[str, int]], withdrawal: bool = False) -> list[Move]:
    """The line moves of one posting of a case; a release is a ``withdraw`` when ``withdrawal``."""
    out = []
    for line, source, src, dst, amount in bucket_moves(entries):
        if line is None or source is None:
            continue
        kind = KINDS.get((src, dst), "other") if src is not None else "other"
        if kind == "release" and withdrawal:
            kind = "withdraw"
        out.append(Move(case, posting_id, kind, line, source, amount))
    return out


@dataclass
class Figures:
    """In fen. ``failed`` (transfers reversed) and ``recovered`` are shown beside the identity: a failed
    transfer re-queued leaves paid unchanged once re-paid; a recovery does not undo the clawback."""

    awarded: int = 0
    paid: int = 0
    withdrawn: int = 0
    released: int = 0
    clawed_back: int = 0
    outstanding: int = 0
    failed: int = 0
    recovered: int = 0
    unexplained: int = 0  # |amount| of moves of no known kind
    ledger_gap: int = 0  # per line and source: |paid − the ledger's paid| + |receivable − the ledger's receivable|

    def add(self, m: Move) -> None:
        a = m.amount_fen
        if m.kind == "award":
            self.awarded += a
            self.outstanding += a
        elif m.kind == "pay":
            self.paid += a
            self.outstanding -= a
        elif m.kind == "fail":
            self.paid -= a
            self.failed += a
            self.outstanding += a
        elif m.kind == "withdraw":
            self.withdrawn += a
            self.outstanding -= a
        elif m.kind == "release":
            self.released += a
            self.outstanding -= a
        elif m.kind == "clawback":
            self.paid -= a
            self.clawed_back += a
        elif m.kind == "recover":
            self.recovered += a
        else:
            self.unexplained += abs(a)

    @property
    def receivable(self) -> int:
        return self.clawed_back - self.recovered

    @property
    def residual(self) -> int:
        """awarded − (paid + withdrawn + released + clawed back + outstanding): 0 when it reconciles."""
        return self.awarded - (self.paid + self.withdrawn + self.released + self.clawed_back + self.outstanding)

    @property
    def holds(self) -> bool:
        return self.residual == 0 and self.unexplained == 0 and self.ledger_gap == 0

    def plus(self, other: Figures) -> None:
        for k in FIELDS:
            setattr(self, k, getattr(self, k) + getattr(other, k))

    def as_dict(self) -> dict[str, int | bool]:
        return {**{f"{k}_fen": getattr(self, k) for k in FIELDS}, "receivable_fen": self.receivable,
                "residual_fen": self.residual, "holds": self.holds}


FIELDS = ("awarded", "paid", "withdrawn", "released", "clawed_back", "outstanding", "failed", "recovered",
          "unexplained", "ledger_gap")


@dataclass(frozen=True)
class Difference:
    """One reason a case's paid differs from its award: a move (``posting_id`` set) or what the case
    still holds committed (``kind`` ``outstanding``, no posting)."""

    case: str
    kind: str
    line: str
    amount_fen: int
    posting_id: int | None


@dataclass
class Reconciliation:
    by_case: dict[str, Figures] = field(default_factory=dict)
    by_key: dict[tuple[str, str], Figures] = field(default_factory=dict)  # (line, source)
    differences: list[Difference] = field(default_factory=list)

    def by_line(self) -> dict[str, Figures]:
        return _group(self.by_key, 0)

    def by_source(self) -> dict[str, Figures]:
        return _group(self.by_key, 1)

    def total(self) -> Figures:
        t = Figures()
        for f in self.by_key.values():
            t.plus(f)
        return t


def _group(by_key: Mapping[tuple[str, str], Figures], part: int) -> dict[str, Figures]:
    out: dict[str, Figures] = {}
    for key in sorted(by_key):
        out.setdefault(key[part], Figures()).plus(by_key[key])
    return dict(sorted(out.items()))


def reconcile(moves: Iterable[Move], balances: Mapping[tuple[str, str], Mapping[str, int]]) -> Reconciliation:
    """Reconcile the moves (in posting order) per case and per (line, source). Per (line, source) the
    outstanding is the ledger's committed balance (``balances[(line, source)]["committed"]``), not the
    running sum of the moves, and the moves' paid and receivable are compared with the ledger's paid and
    receivable balances: a posting the moves missed (or one too many) breaks the identity by its amount."""
    r = Reconciliation()
    per_case_line: dict[tuple[str, str], int] = defaultdict(int)
    for m in moves:
        r.by_case.setdefault(m.case, Figures()).add(m)
        r.by_key.setdefault((m.line, m.source), Figures()).add(m)
        per_case_line[(m.case, m.line)] += _COMMITTED_SIGN.get(m.kind, 0) * m.amount_fen
        if m.kind in DIFFERENCE_KINDS or m.kind == "other":
            r.differences.append(Difference(m.case, m.kind, m.line, m.amount_fen, m.posting_id))
    for key in set(r.by_key) | {k for k, v in balances.items() if any(v.values())}:
        f = r.by_key.setdefault(key, Figures())
        held = balances.get(key, {})
        f.outstanding = held.get("committed", 0)
        f.ledger_gap = abs(f.paid - held.get("paid", 0)) + abs(f.receivable - held.get("receivable", 0))
    r.by_key = dict(sorted(r.by_key.items()))
    r.by_case = dict(sorted(r.by_case.items()))
    r.differences = _merge(r.differences) + [
        Difference(case, "outstanding", line, left, None) for (case, line), left in sorted(per_case_line.items()) if left]
    return r


def _merge(diffs: list[Difference]) -> list[Difference]:
    """One line per posting and kind (its sources summed), in posting order."""
    merged: dict[tuple[int | None, str, str, str], int] = {}
    for d in diffs:
        k = (d.posting_id, d.kind, d.case, d.line)
        merged[k] = merged.get(k, 0) + d.amount_fen
    return [Difference(case, kind, line, amount, pid) for (pid, kind, case, line), amount in merged.items()]
