"""The trimmed user-agent stylesheet (templates/ua.css, issue 16): dossiers cascade against only the UA rules
that can apply to their elements. It must change nothing but speed: a dossier renders to the same bytes with
it as with WeasyPrint's whole HTML5 stylesheet, and the committed file is what scripts/trim-ua-css.py makes
of the installed WeasyPrint's (a WeasyPrint upgrade that changes its stylesheet fails here first)."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from typing import Any

from flows import pdf_render
from flows.services import dossier
from flows.services.dossier.rendering import TEMPLATES_DIR, render_html, template_sha256

ROOT = Path(__file__).resolve().parents[2]
FIXTURE = ROOT / "tests" / "data" / "visual" / "case_dossier.json"


def _trimmer() -> Any:
    spec = importlib.util.spec_from_file_location("trim_ua_css", ROOT / "scripts" / "trim-ua-css.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_a_dossier_renders_to_the_same_bytes_with_the_trimmed_and_the_full_stylesheet() -> None:
    d = dossier.make_dossier(json.loads(FIXTURE.read_text(encoding="utf-8")))
    html = render_html(d)
    kwargs = dict(base_url=TEMPLATES_DIR.as_uri() + "/", data_json=d.data_json, document_id=d.number,
                  created=d.created, manifest_extra={"template_sha256": template_sha256(d.kind)})
    trimmed = pdf_render.render_pdf(html, **kwargs)  # type: ignore[arg-type]
    full = pdf_render.render_pdf(html, full_ua=True, **kwargs)  # type: ignore[arg-type]
    assert trimmed.sha256 == full.sha256


def test_the_committed_stylesheet_is_the_trim_of_the_installed_weasyprints() -> None:
    import weasyprint

    trim = _trimmer()
    source = (Path(weasyprint.__file__).parent / "css" / "html5_ua.css").read_text(encoding="utf-8")
    committed = (TEMPLATES_DIR / "ua.css").read_text(encoding="utf-8")
    body = committed.split("*/\n", 1)[1]
    assert body == trim.trim(source), "run scripts/trim-ua-css.py after a WeasyPrint upgrade"


def test_the_trim_keeps_rules_for_dossier_elements_and_drops_the_rest() -> None:
    trim = _trimmer()
    out = trim.trim("td, th, input { padding: 1px }\n:is(td, th)[hidden] { visibility: collapse }\n"
                    "ul li { margin: 0 }\nbr::before { content: '\\A' }\n@page { margin: 75px }\n"
                    "@counter-style disc { system: cyclic; symbols: x }\n:link { color: blue }\n")
    assert out.splitlines() == ["td, th { padding: 1px }", "br::before { content: \"\\A \" }", "@page { margin: 75px }"]


def test_the_dossier_stylesheet_is_parsed_once_per_process() -> None:
    path = TEMPLATES_DIR / "dossier.css"
    first = pdf_render._stylesheet(path)
    assert pdf_render._stylesheet(path) is first
