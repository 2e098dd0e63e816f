"""The CLI's help in Chinese (zh_CN) and English: every command's and option's help text is in the zh_CN
catalog (flows/cli/locale), the language follows --lang, IPFUND_LANG or the system locale, and the Chinese
help is what `ipfund … --help` prints."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from flows.cli.i18n import catalog, choose, help_texts, translate

ROOT = Path(__file__).resolve().parents[2]


def _tree() -> object:
    import typer

    from flows.cli.app import app

    return typer.main.get_command(app)


def test_every_help_text_of_every_command_is_in_the_zh_cn_catalog() -> None:
    table = catalog("zh_CN")
    missing = [t for t in help_texts(_tree()) if not table.get(t)]
    assert missing == [], f"not translated in flows/cli/locale/zh_CN/LC_MESSAGES/cli.po (run scripts/cli-catalog.py " \
                          f"and translate): {missing}"


def test_translating_the_tree_replaces_each_help_text() -> None:
    tree = translate(_tree(), "zh_CN")
    table = catalog("zh_CN")
    left = [t for t in help_texts(tree) if t in table and table[t] != t]
    assert left == []  # every text was replaced by its translation


@pytest.mark.parametrize(("argv", "env", "lang", "rest"), [
    (["pool", "--help"], {}, "en", ["pool", "--help"]),
    (["--lang", "zh_CN", "pool", "--help"], {}, "zh_CN", ["pool", "--help"]),
    (["pool", "--lang=zh-CN", "--help"], {"IPFUND_LANG": "en"}, "zh_CN", ["pool", "--help"]),
    (["pool", "--help"], {"IPFUND_LANG": "zh_CN"}, "zh_CN", ["pool", "--help"]),
    (["pool", "--help"], {"LANG": "zh_CN.UTF-8"}, "zh_CN", ["pool", "--help"]),
    (["pool", "--help"], {"IPFUND_LANG": "en", "LANG": "zh_CN.UTF-8"}, "en", ["pool", "--help"]),
    (["--lang", "fr", "kpi"], {}, "en", ["kpi"]),
])
def test_the_language_follows_the_flag_then_ipfund_lang_then_the_locale(
        argv: list[str], env: dict[str, str], lang: str, rest: list[str]) -> None:
    assert choose(argv, env) == (lang, rest)


def _help(*args: str, **env: str) -> str:
    base = {k: v for k, v in os.environ.items() if k not in ("IPFUND_LANG", "LC_ALL", "LC_MESSAGES", "LANG")}
    r = subprocess.run([sys.executable, "-m", "flows.cli.main", *args], cwd=ROOT, capture_output=True, text=True,
                       env={**base, "COLUMNS": "200", **env}, check=False)
    assert r.returncode == 0, r.stderr
    return r.stdout


def test_the_help_is_printed_in_the_language_chosen() -> None:
    zh = _help("--lang", "zh_CN", "pool", "--help")
    assert "知识产权质押融资风险补偿资金池" in zh and "登记某资金来源对资金池的出资" in zh
    en = _help("pool", "--help")
    assert "Record a fund source's contribution to the pool" in en and "登记某资金来源" not in en
    assert "登记某资金来源对资金池的出资" in _help("pool", "--help", IPFUND_LANG="zh_CN")
