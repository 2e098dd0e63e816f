"""Refresh the desk's gettext catalogs from the sources: extract every marked string of flows/desk and
templates/desk (Babel), keep the translations already in flows/desk/locale/<lang>/LC_MESSAGES/desk.po, add
new messages untranslated (tests/desk/test_desk_i18n.py fails until zh_CN has them all) and drop the ones
no source uses any more. Run: .venv/bin/python scripts/desk-catalogs.py"""

from __future__ import annotations

from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parents[1]
LOCALE = ROOT / "flows" / "desk" / "locale"
METHODS = [("flows/desk/**.py", "python"), ("templates/desk/**.html", "jinja2")]
OPTIONS = {"templates/desk/**.html": {"extensions": "jinja2.ext.i18n"}}
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "N_": None}


def extracted() -> list[str]:
    seen: dict[str, None] = {}
    for _file, _line, message, _comments, _ctx in extract_from_dir(str(ROOT), METHODS, OPTIONS, KEYWORDS):
        for m in message if isinstance(message, tuple) else (message,):
            if m:
                seen.setdefault(m, None)
    return list(seen)


def refresh(lang: str, seed: dict[str, str] | None = None) -> Path:
    path = LOCALE / lang / "LC_MESSAGES" / "desk.po"
    old: dict[str, str] = {}
    if path.exists():
        with path.open("rb") as f:
            old = {str(m.id): str(m.string) for m in read_po(f) if m.id}
    cat = Catalog(locale=lang, domain="desk", project="ipfund desk", version="0.1", charset="utf-8",
                  fuzzy=False)
    for msg in extracted():
        cat.add(msg, (seed or {}).get(msg) or old.get(msg, ""))
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as f:
        write_po(f, cat, omit_header=False, sort_output=True, width=0)
    return path


if __name__ == "__main__":
    for lang in ("zh_CN", "en"):
        print(refresh(lang))
