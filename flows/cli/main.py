"""The `ipfund` command. Commands that run no flow never import Prefect or WeasyPrint, and the
reviewer's `review queue|next` do not even import Typer (flows.cli.review_view)."""

from __future__ import annotations

import sys
from typing import Any


def main() -> None:
    from flows.cli.review_view import run_fast_review

    argv = sys.argv[1:]
    # `ipfund --as USER review next ...` is `ipfund review next --as USER ...` (a later --as still wins).
    if len(argv) >= 4 and argv[0] == "--as":
        argv = [*argv[2:4], "--as", argv[1], *argv[4:]]
    elif len(argv) >= 3 and argv[0].startswith("--as="):
        argv = [*argv[1:3], argv[0], *argv[3:]]
    from flows.cli.i18n import choose

    lang, argv = choose(argv)
    code = run_fast_review(argv)  # `review queue|next`, run all day: no Typer at all
    if code is not None:
        raise SystemExit(code)
    from flows.cli.app import app

    if lang == "en":
        sys.argv = [sys.argv[0], *choose(sys.argv[1:])[1]]
        app()
        return
    import typer

    from flows.cli.i18n import translate

    translate(typer.main.get_command(app), lang)(args=choose(sys.argv[1:])[1], prog_name="ipfund")


def __getattr__(name: str) -> Any:
    """`from flows.cli.main import app` (tests, tools) builds the Typer application on first use."""
    if name == "app":
        from flows.cli.app import app

        return app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


if __name__ == "__main__":
    main()
