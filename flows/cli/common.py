"""CLI plumbing: the acting user, JSON output, and turning refusals into exit 1 without a traceback."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from functools import wraps
from typing import Any, NoReturn, ParamSpec, TypeVar

import typer
from rich.console import Console

from rules.errors import RuleViolation
from rules.money import format_yuan

console = Console()
err_console = Console(stderr=True)

AS_OPTION: Any = typer.Option(None, "--as", envvar="IPFUND_USER", help="Acting user (or set IPFUND_USER).")
JSON_OPTION: Any = typer.Option(False, "--json", help="Print JSON instead of a table.")

P = ParamSpec("P")
R = TypeVar("R")


def fail(message: str, code: int = 1) -> None:
    err_console.print(f"[bold red]error:[/] {message}", highlight=False, markup=True, soft_wrap=True)
    raise typer.Exit(code)


def _refused(message: str) -> NoReturn:
    err_console.print("[bold red]error:[/] ", end="")
    err_console.print(message, markup=False, highlight=False, soft_wrap=True)
    raise typer.Exit(1) from None


def _not_initialised(exc: BaseException) -> bool:
    """A missing table or database, raised through SQLAlchemy or straight from the DB-API driver
    (sqlite3, psycopg) on the lean read paths; matched by class name so no driver is imported here."""
    text = str(exc)
    if "no such table" not in text and "does not exist" not in text:
        return False
    names = {c.__name__ for c in type(exc).__mro__}
    return bool(names & {"OperationalError", "ProgrammingError"})


def handled(fn: Callable[P, R]) -> Callable[P, R]:
    """Run a command; a refusal by a rule, permission or validation exits 1 with its message."""

    @wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return fn(*args, **kwargs)
        except RuleViolation as exc:
            _refused(str(exc))
        except (ValueError, LookupError) as exc:
            # Policy errors come from rules.policy (pydantic + YAML): only looked at once one is raised,
            # so starting the CLI never imports them. A module that raised one has already loaded it.
            policy = sys.modules.get("rules.policy")
            if policy is not None and isinstance(exc, policy.PolicyError | policy.ParameterNotInForce):
                _refused(str(exc))
            if not isinstance(exc, LookupError):
                raise
            err_console.print("[bold red]error:[/] ", end="")
            err_console.print(str(exc).strip("'\""), markup=False, highlight=False, soft_wrap=True)
            raise typer.Exit(1) from None
        except FileNotFoundError as exc:
            err_console.print(f"[bold red]error:[/] file not found: {exc.filename}", highlight=False)
            raise typer.Exit(1) from None
        except Exception as exc:  # database not initialised is the common one
            if _not_initialised(exc):
                err_console.print("[bold red]error:[/] the database is not initialised; run "
                                  "`ipfund init --admin NAME` first", highlight=False)
                raise typer.Exit(1) from None
            sa_exc = sys.modules.get("sqlalchemy.exc")  # loaded by whatever raised a SQLAlchemy error
            if sa_exc is not None and isinstance(exc, sa_exc.IntegrityError):
                err_console.print("[bold red]error:[/] the database refused the change (a constraint "
                                  f"protects this invariant): {exc.orig}", markup=False, highlight=False)
                raise typer.Exit(1) from None
            raise

    return wrapper


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2, default=str) + "\n")


def yuan(fen: int | None) -> str:
    return "" if fen is None else format_yuan(fen)
