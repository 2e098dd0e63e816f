"""CLI plumbing: the acting user, JSON output, and turning refusals into exit 1 without a traceback."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, ParamSpec, TypeVar

import typer

from flows.cli.output import console, err_console, exit_code_for, money_table, print_json, yuan

__all__ = ["AS_OPTION", "JSON_OPTION", "console", "err_console", "fail", "handled", "money_table", "print_json", "yuan"]


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
        except typer.Exit:
            raise
        except Exception as exc:
            code = exit_code_for(exc)
            if code is None:
                raise
            raise typer.Exit(code) from None

    return wrapper


def done(as_json: bool, data: dict[str, Any], line: str) -> None:
    """What an act did: its data as JSON with --json, else one line for a person."""
    if as_json:
        print_json(data)
    else:
        console.print(line, highlight=False, soft_wrap=True)
