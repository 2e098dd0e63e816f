"""The desk's languages: every user-visible string of the desk is in the zh_CN catalog (extracted from the
sources and compared), no template shows text outside a translation call, and both catalogs load."""

from __future__ import annotations

import re
import runpy
from pathlib import Path

from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
CATALOGS = runpy.run_path(str(ROOT / "scripts" / "desk-catalogs.py"))


def _catalog(lang: str) -> dict[str, str]:
    with (ROOT / "flows" / "desk" / "locale" / lang / "LC_MESSAGES" / "desk.po").open("rb") as f:
        return {str(m.id): str(m.string) for m in read_po(f) if m.id}


def test_every_desk_string_is_translated_in_the_zh_cn_catalog() -> None:
    zh = _catalog("zh_CN")
    messages = CATALOGS["extracted"]()
    assert len(messages) > 50
    missing = [m for m in messages if not zh.get(m)]
    assert missing == [], f"not in flows/desk/locale/zh_CN/LC_MESSAGES/desk.po (run scripts/desk-catalogs.py " \
                          f"and translate): {missing}"
    for m in messages:  # the same placeholders on both sides
        assert sorted(re.findall(r"%\(\w+\)s", m)) == sorted(re.findall(r"%\(\w+\)s", zh[m])), m
    en = _catalog("en")
    assert [m for m in messages if m not in en] == []


_JINJA = re.compile(r"{{.*?}}|{%.*?%}|{#.*?#}", re.S)
_TAG = re.compile(r"<[^>]*>", re.S)
_VISIBLE_ATTR = re.compile(r'\b(?:placeholder|title|alt|aria-label)="([^"]*)"')
_ALLOWED = {"SHA-256", "#", "CA-2021-00001", "(a)", "(r)", "(x)", "sha256", "←", "→", "…", "·", ":", "(", ")"}


def _bare_text(source: str) -> list[str]:
    """Text a template shows that no translation call makes: attributes users read, and text between tags."""
    body = re.sub(r"<script.*?</script>|<style.*?</style>", "", source, flags=re.S)
    found = [a for a in _VISIBLE_ATTR.findall(_JINJA.sub("", body)) if a.strip() and a not in _ALLOWED]
    text = _TAG.sub(" ", _JINJA.sub(" ", body))
    found += [w for w in text.split() if re.search(r"[A-Za-z\u4e00-\u9fff]", w) and w not in _ALLOWED]
    return found


def test_no_template_shows_text_outside_a_translation_call() -> None:
    bad = {p.name: words for p in sorted((ROOT / "templates" / "desk").glob("*.html"))
           if (words := _bare_text(p.read_text(encoding="utf-8")))}
    assert bad == {}


def test_the_bare_text_check_finds_untranslated_text() -> None:
    assert _bare_text("<p>Hello</p>") == ["Hello"]
    assert _bare_text('<input placeholder="type here">') == ["type here"]
    assert _bare_text("<p>{{ _('Hello') }}</p>") == []


def test_both_catalogs_load_and_translate() -> None:
    from flows.desk import i18n

    assert i18n.translations("zh_CN").gettext("Sign in") == "登录"
    assert i18n.translations("en").gettext("Sign in") == "Sign in"
    assert i18n.choose(None) == "zh_CN" and i18n.choose("en") == "en" and i18n.choose("fr") == "zh_CN"
