"""CLI output without Typer: the consoles, JSON, yuan, and turning an exception into its message and
exit status. The reviewer's fast path (`review queue|next`) uses only this, so it never imports Typer."""

from __future__ import annotations

import json
import sys
from typing import Any

from rich.console import Console

from rules.errors import RuleViolation
from rules.money import format_yuan

console = Console()
err_console = Console(stderr=True)


def _not_initialised(exc: BaseException) -> bool:
    """A missing table or database, raised through SQLAlchemy or straight from the DB-API driver
    (sqlite3, psycopg) on the lean read paths; matched by class name so no driver is imported here."""
    text = str(exc)
    if "no such table" not in text and "does not exist" not in text:
        return False
    names = {c.__name__ for c in type(exc).__mro__}
    return bool(names & {"OperationalError", "ProgrammingError"})


def _refusal(message: str) -> int:
    err_console.print("[bold red]error:[/] ", end="")
    err_console.print(message, markup=False, highlight=False, soft_wrap=True)
    return 1


def exit_code_for(exc: Exception) -> int | None:
    """Print what went wrong and return the exit status, or None for an exception that is a bug (the
    caller re-raises it: a traceback is the right output for those)."""
    if isinstance(exc, RuleViolation):
        return _refusal(str(exc))
    if isinstance(exc, ValueError | LookupError):
        # Policy errors come from rules.policy (pydantic + YAML): only looked at once one is raised,
        # so starting the CLI never imports them. A module that raised one has already loaded it.
        policy = sys.modules.get("rules.policy")
        if policy is not None and isinstance(exc, policy.PolicyError | policy.ParameterNotInForce):
            return _refusal(str(exc))
        if not isinstance(exc, LookupError):
            return None
        err_console.print("[bold red]error:[/] ", end="")
        err_console.print(str(exc).strip("'\""), markup=False, highlight=False, soft_wrap=True)
        return 1
    if isinstance(exc, FileNotFoundError):
        err_console.print(f"[bold red]error:[/] file not found: {exc.filename}", highlight=False)
        return 1
    if _not_initialised(exc):  # database not initialised is the common one
        err_console.print("[bold red]error:[/] the database is not initialised; run "
                          "`ipfund init --admin NAME` first", highlight=False)
        return 1
    sa_exc = sys.modules.get("sqlalchemy.exc")  # loaded by whatever raised a SQLAlchemy error
    if sa_exc is not None and isinstance(exc, sa_exc.IntegrityError):
        err_console.print("[bold red]error:[/] the database refused the change (a constraint "
                          f"protects this invariant): {exc.orig}", markup=False, highlight=False)
        return 1
    return None


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2, default=str) + "\n")


def yuan(fen: int | None) -> str:
    return "" if fen is None else format_yuan(fen)


def money_table(table: Any, *money: str) -> Any:
    """Money is never cut off: the named columns keep the full width of their widest amount and never
    wrap; the other columns wrap their text instead of truncating it. When the table cannot fit the
    terminal that way (80 columns), it is printed as one block per row (field, value) instead. Call
    after the rows are added; print what it returns."""
    from rich.cells import cell_len
    from rich.table import Table

    for col in table.columns:
        widest = max(cell_len(str(c)) for c in [col.header, *col._cells])
        if str(col.header) in money:
            col.no_wrap = True
            col.min_width = widest
        else:
            col.overflow = "fold"
            col.min_width = min(widest, 10)
    # Each column: its minimum, one space of padding either side and one border; plus the last border.
    needed = sum((c.min_width or 1) + 3 for c in table.columns) + 1
    if needed <= console.width:
        return table
    blocks = Table(title=table.title, show_header=False, show_lines=False)
    blocks.add_column("field")
    blocks.add_column("value", overflow="fold")
    for i in range(table.row_count):
        for j, col in enumerate(table.columns):
            blocks.add_row(str(col.header), col._cells[i], end_section=j == len(table.columns) - 1)
    return blocks
