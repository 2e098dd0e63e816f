"""The CLI's languages: English and Chinese (zh_CN) for every command's and option's help, from the gettext
catalog ``flows/cli/locale/zh_CN/LC_MESSAGES/cli.po`` (read with Babel, no build step). The language is
``--lang zh_CN|en`` anywhere on the command line, else ``IPFUND_LANG``, else the system locale (``LC_ALL``,
``LC_MESSAGES``, ``LANG``: a ``zh`` locale gives Chinese), else English. Help is what is translated;
messages a command prints stay English (scripts parse them), with the policy's own Chinese names in them."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

LANGS = ("en", "zh_CN")
LOCALE_DIR = Path(__file__).resolve().parent / "locale"
DOMAIN = "cli"


def choose(argv: list[str], env: dict[str, str] | None = None) -> tuple[str, list[str]]:
    """(the language, the arguments without ``--lang``); an unknown language is English."""
    env = dict(os.environ) if env is None else env
    rest: list[str] = []
    chosen: str | None = None
    i = 0
    while i < len(argv):
        a = argv[i]
        if a == "--lang" and i + 1 < len(argv):
            chosen, i = argv[i + 1], i + 2
            continue
        if a.startswith("--lang="):
            chosen, i = a.split("=", 1)[1], i + 1
            continue
        rest.append(a)
        i += 1
    if chosen is None:
        chosen = env.get("IPFUND_LANG") or next(
            (env[k] for k in ("LC_ALL", "LC_MESSAGES", "LANG") if env.get(k)), "en")
    return ("zh_CN" if chosen.lower().replace("-", "_").startswith("zh") else "en"), rest


def catalog(lang: str) -> dict[str, str]:
    """msgid -> translation of the language's catalog (empty for English)."""
    if lang == "en":
        return {}
    from babel.messages.pofile import read_po

    with (LOCALE_DIR / lang / "LC_MESSAGES" / f"{DOMAIN}.po").open("rb") as f:
        return {str(m.id): str(m.string) for m in read_po(f) if m.id and m.string}


def help_texts(command: Any) -> list[str]:
    """Every help text of a click command tree (the command's, its short help, each option's), in order."""
    seen: dict[str, None] = {}

    def walk(c: Any) -> None:
        for text in (c.help, getattr(c, "short_help", None)):
            if text:
                seen.setdefault(text, None)
        for p in c.params:
            if getattr(p, "help", None):
                seen.setdefault(p.help, None)
        for sub in getattr(c, "commands", {}).values():
            walk(sub)

    walk(command)
    return list(seen)


def translate(command: Any, lang: str) -> Any:
    """The click command tree with its help in ``lang`` (in place; a text without translation stays)."""
    table = catalog(lang)
    if not table:
        return command

    def walk(c: Any) -> None:
        if c.help:
            c.help = table.get(c.help, c.help)
        if getattr(c, "short_help", None):
            c.short_help = table.get(c.short_help, c.short_help)
        for p in c.params:
            if getattr(p, "help", None):
                p.help = table.get(p.help, p.help)
        for sub in getattr(c, "commands", {}).values():
            walk(sub)

    walk(command)
    return command
