"""The desk's languages: Chinese (zh_CN, the default) and English, from gettext catalogs
(``flows/desk/locale/<lang>/LC_MESSAGES/desk.po``, read with Babel and compiled in memory at start-up, so
no build step is needed). The language is the browser's choice, kept in the ``ipfund_lang`` cookie.
Dates and times are shown in Asia/Shanghai."""

from __future__ import annotations

import datetime as dt
import io
from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo

from babel.support import Translations

LANGS = ("zh_CN", "en")
DEFAULT_LANG = "zh_CN"
LANG_COOKIE = "ipfund_lang"
LOCALE_DIR = Path(__file__).resolve().parent / "locale"
DOMAIN = "desk"
SHANGHAI = ZoneInfo("Asia/Shanghai")


def N_(message: str) -> str:
    """Mark a message for extraction; it is translated where it is shown (``_()`` in the template)."""
    return message


def choose(cookie: str | None) -> str:
    return cookie if cookie in LANGS else DEFAULT_LANG


@lru_cache(maxsize=len(LANGS))
def translations(lang: str) -> Translations:
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    path = LOCALE_DIR / lang / "LC_MESSAGES" / f"{DOMAIN}.po"
    with path.open("rb") as f:
        catalog = read_po(f, locale=lang, domain=DOMAIN)
    buf = io.BytesIO()
    write_mo(buf, catalog)
    buf.seek(0)
    return Translations(buf, domain=DOMAIN)


def local_time(stamp: str | None, with_seconds: bool = False) -> str:
    """A stored UTC stamp (or a date) as Asia/Shanghai wall time: ``2021-03-01 09:00``."""
    if not stamp:
        return ""
    if len(stamp) == 10:  # a date: no time zone to apply
        return stamp
    try:
        moment = dt.datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    except ValueError:
        return stamp
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M:%S" if with_seconds else "%Y-%m-%d %H:%M")
