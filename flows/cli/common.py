"""CLI plumbing: the acting user, JSON output, and turning refusals into exit 1 without a traceback."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from functools import wraps
from typing import Any, ParamSpec, TypeVar

import typer
from rich.console import Console

from rules.errors import RuleViolation
from rules.money import format_yuan
from rules.policy import ParameterNotInForce, PolicyError

console = Console()
err_console = Console(stderr=True)

AS_OPTION: Any = typer.Option(None, "--as", envvar="IPFUND_USER", help="Acting user (or set IPFUND_USER).")
JSON_OPTION: Any = typer.Option(False, "--json", help="Print JSON instead of a table.")

P = ParamSpec("P")
R = TypeVar("R")


def fail(message: str, code: int = 1) -> None:
    err_console.print(f"[bold red]error:[/] {message}", highlight=False, markup=True, soft_wrap=True)
    raise typer.Exit(code)


def handled(fn: Callable[P, R]) -> Callable[P, R]:
    """Run a command; a refusal by a rule, permission or validation exits 1 with its message."""

    @wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return fn(*args, **kwargs)
        except (RuleViolation, PolicyError, ParameterNotInForce) as exc:
            err_console.print("[bold red]error:[/] ", end="")
            err_console.print(str(exc), markup=False, highlight=False, soft_wrap=True)
            raise typer.Exit(1) from None
        except LookupError as exc:
            err_console.print("[bold red]error:[/] ", end="")
            err_console.print(str(exc).strip("'\""), markup=False, highlight=False, soft_wrap=True)
            raise typer.Exit(1) from None
        except FileNotFoundError as exc:
            err_console.print(f"[bold red]error:[/] file not found: {exc.filename}", highlight=False)
            raise typer.Exit(1) from None
        except Exception as exc:  # database not initialised is the common one
            from sqlalchemy.exc import IntegrityError, OperationalError, ProgrammingError
            if isinstance(exc, OperationalError | ProgrammingError) and ("no such table" in str(exc)
                                                                          or "does not exist" in str(exc)):
                err_console.print("[bold red]error:[/] the database is not initialised; run "
                                  "`ipfund init --admin NAME` first", highlight=False)
                raise typer.Exit(1) from None
            if isinstance(exc, IntegrityError):
                err_console.print("[bold red]error:[/] the database refused the change (a constraint "
                                  f"protects this invariant): {exc.orig}", markup=False, highlight=False)
                raise typer.Exit(1) from None
            raise

    return wrapper


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2, default=str) + "\n")


def yuan(fen: int | None) -> str:
    return "" if fen is None else format_yuan(fen)
