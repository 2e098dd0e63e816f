"""CLI output without Typer: the consoles, JSON, yuan, and turning an exception into its message and
exit status. The reviewer's fast path (`review queue|next`) uses only this, so it never imports Typer."""

from __future__ import annotations

import json
import os
import re
import sys
from types import TracebackType
from typing import Any

from rich.console import Console

from rules.errors import InvariantsBroken, RuleViolation
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


# --- the database cannot be reached ------------------------------------------------------------------
# An unreachable server, a URL that is not one, an SQLite file in a missing folder: one line saying what
# and how to fix it, never a traceback, never a password. Matched by class and module name (as above),
# so neither SQLAlchemy nor a driver is imported here.

_URL_HINT = "give sqlite:////ABSOLUTE/PATH.db or postgresql+psycopg://USER@HOST:PORT/DATABASE"


def masked_url(url: str) -> str:
    """``url`` with any password replaced by ``***`` (in the user-info part or a ``password=`` parameter,
    also in a URL too malformed to parse)."""
    url = re.sub(r"([^/@:\s]*):([^@/\s]+)@", r"\1:***@", url)
    return re.sub(r"(?i)(password=)[^&\s]*", r"\1***", url)


def _password(url: str) -> str | None:
    m = re.search(r"//[^/@:\s]*:([^@/\s]+)@", url) or re.search(r"(?i)password=([^&\s]+)", url)
    return m.group(1) if m else None


def _from_module(exc: BaseException, *files: str) -> bool:
    """Whether ``exc`` was raised inside one of these source files (path fragments like
    ``sqlalchemy/engine/url.py``)."""
    tb: TracebackType | None = exc.__traceback__
    while tb is not None:
        name = tb.tb_frame.f_code.co_filename.replace(os.sep, "/")
        if any(name.endswith(f) for f in files):
            return True
        tb = tb.tb_next
    return False


def _named(exc: BaseException, module: str, *classes: str) -> bool:
    return type(exc).__module__.split(".")[0] == module and type(exc).__name__ in classes


def _url_problem(exc: BaseException) -> str | None:
    """Why the URL itself is unusable, or None."""
    if type(exc).__name__ == "DatabaseUrlError":  # flows.services.review_read (the reviewer's fast path)
        return str(exc)
    if _named(exc, "sqlalchemy", "ArgumentError") and "URL" in str(exc):
        return "it cannot be parsed as a URL"
    if _named(exc, "sqlalchemy", "NoSuchModuleError"):
        kind = str(exc).rsplit(":", 1)[-1]
        return f"ipfund does not know the database kind {kind!r}"
    if isinstance(exc, ValueError) and _from_module(exc, "sqlalchemy/engine/url.py"):
        return f"it cannot be parsed as a URL ({str(exc).strip()})"
    if isinstance(exc, ImportError) and _from_module(exc, "sqlalchemy/engine/create.py"):
        return f"its database driver is not installed ({str(exc).strip()})"
    if _named(exc, "psycopg", "ProgrammingError") and _from_module(exc, "psycopg/conninfo.py"):
        return f"its connection settings are not valid ({str(exc).strip()})"
    return None


def _postgres_reason(message: str) -> str | None:
    """The cause of a failed PostgreSQL connection in a few words and what to do, or None when the
    error is not about connecting."""
    first = message.strip().splitlines()[0] if message.strip() else ""
    if not first.startswith(("connection failed", "failed to resolve host", "connection is bad",
                             "connection timeout")):
        return None
    if "Connection refused" in first:
        return "connection refused; is PostgreSQL running on that host and port?"
    if m := re.search(r'database "([^"]+)" does not exist', first):
        return (f'the server has no database "{m[1]}"; create it (createdb {m[1]}), then run '
                "`ipfund init --admin NAME`")
    if m := re.search(r'role "([^"]+)" does not exist', first):
        return f'the server has no user (role) "{m[1]}"; check the user name in the URL'
    if "password authentication failed" in first:
        return "password authentication failed; check the user and password in the URL"
    if first.startswith("failed to resolve host"):
        host = re.search(r"host '([^']*)'", first)
        return f"the host {host[1] if host else ''} cannot be found (DNS); check the host name in the URL"
    if "timeout" in first:
        return "the connection timed out; is the host reachable (firewall, VPN)?"
    detail = first.split("failed:", 1)[-1] if "failed:" in first else first.split(":", 1)[-1]
    return detail.replace("FATAL:", "").strip()


def _sqlite_reason(url: str) -> str:
    from flows.services.review_read import sqlite_path

    path, _uri = sqlite_path(url) if "://" in url else (url, False)
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        return (f"the folder {folder} does not exist; create it (mkdir -p {folder}) or point "
                "IPFUND_DATABASE_URL / IPFUND_HOME elsewhere")
    return f"the file {os.path.abspath(path)} cannot be opened or created (check the folder's permissions)"


def database_problem(exc: BaseException) -> str | None:
    """One line saying why the database cannot be reached and how to fix it, or None when ``exc`` is
    something else. The URL is the one the command used (IPFUND_DATABASE_URL, else the default SQLite
    file), shown without its password."""
    from flows.services.review_read import database_url

    url = database_url()
    shown = masked_url(url)
    orig = getattr(exc, "orig", None) or exc  # SQLAlchemy wraps the driver's error
    if (why := _url_problem(exc)) is not None:
        return f"IPFUND_DATABASE_URL {shown!r} is not a database URL ipfund can use: {_scrub(why, url)}; {_URL_HINT}"
    if _named(orig, "psycopg", "OperationalError") and (why := _postgres_reason(str(orig))) is not None:
        why = _scrub(why, url)
        return f"cannot connect to the database at {shown}: {why}{'' if why.endswith('?') else ';'} check " \
               "IPFUND_DATABASE_URL"
    if _named(orig, "sqlite3", "OperationalError") and "unable to open database file" in str(orig):
        return f"cannot open the SQLite database at {shown}: {_sqlite_reason(url)}"
    return None


def _scrub(text: str, url: str) -> str:
    """A driver's message with the URL's password taken out (psycopg quotes a bad token verbatim)."""
    from urllib.parse import unquote

    password = _password(url)
    for secret in {password, unquote(password)} if password else ():
        text = text.replace(secret, "***")
    return text


def _refusal(message: str) -> int:
    err_console.print("[bold red]error:[/] ", end="")
    err_console.print(message, markup=False, highlight=False, soft_wrap=True)
    return 1


def exit_code_for(exc: Exception) -> int | None:
    """Print what went wrong and return the exit status, or None for an exception that is a bug (the
    caller re-raises it: a traceback is the right output for those)."""
    if isinstance(exc, RuleViolation):
        return _refusal(str(exc))
    if isinstance(exc, InvariantsBroken):
        _refusal(str(exc))
        return 3
    problem = database_problem(exc)
    if problem is not None:
        return _refusal(problem)
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
