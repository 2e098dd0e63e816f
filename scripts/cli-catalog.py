"""Refresh the CLI's gettext catalog from the command tree: every command's and option's help text (walked
from the Typer application, as `ipfund --help` shows them), keeping the translations already in
flows/cli/locale/zh_CN/LC_MESSAGES/cli.po, adding new texts untranslated (tests/unit/test_cli_i18n.py fails
until each has one) and dropping texts no command uses any more. Run: .venv/bin/python scripts/cli-catalog.py"""

from __future__ import annotations

from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parents[1]


def texts() -> list[str]:
    import typer

    from flows.cli.app import app
    from flows.cli.i18n import help_texts

    return help_texts(typer.main.get_command(app))


def refresh(lang: str = "zh_CN", seed: dict[str, str] | None = None) -> Path:
    from flows.cli.i18n import DOMAIN, LOCALE_DIR

    path = LOCALE_DIR / lang / "LC_MESSAGES" / f"{DOMAIN}.po"
    old: dict[str, str] = {}
    if path.exists():
        with path.open("rb") as f:
            old = {str(m.id): str(m.string) for m in read_po(f) if m.id}
    cat = Catalog(locale=lang, domain=DOMAIN, project="ipfund cli", version="0.1", charset="utf-8", fuzzy=False)
    for msg in texts():
        cat.add(msg, (seed or {}).get(msg) or old.get(msg, ""))
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as f:
        write_po(f, cat, omit_header=False, sort_output=True, width=0)
    return path


if __name__ == "__main__":
    print(refresh())
