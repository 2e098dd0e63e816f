"""Tests for the deterministic HTML -> PDF layer (flows.pdf_render)."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from io import BytesIO
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader

from flows import pdf_render
from flows.pdf_render import (
    MissingGlyphError,
    RenderError,
    RenderResult,
    extract_attachment,
    font_hashes,
    fonts_css,
    pdf_text_pages,
    read_manifest,
    render_pdf,
)

REPO_ROOT = Path(__file__).resolve().parents[2]
BASE_URL = (REPO_ROOT / "templates").as_uri() + "/"
HASH_64 = hashlib.sha256(b"ipfund sample dossier").hexdigest()
DATA_JSON = json.dumps(
    {"dossier": "NSFC-2024-001", "amount": "12345.67", "currency": "CNY"},
    ensure_ascii=False, sort_keys=True).encode()
TEMPLATE_SHA256 = hashlib.sha256(b"sample template v1").hexdigest()
CREATED = "2024-05-01"
AMOUNT_WORDS = "壹万贰仟叁佰肆拾伍元陆角柒分"
TITLE_ZH = "国家自然科学基金资助档案"


def sample_html(rows: int = 12, extra: str = "") -> str:
    body_rows = "".join(
        f"<tr><td>{i}</td><td>设备费 第{i}项 Equipment</td>"
        f"<td class='num'>¥12,345.67</td><td>√</td><td>×</td></tr>"
        for i in range(1, rows + 1))
    return f"""<!DOCTYPE html>
<html lang="zh-CN"><head><meta charset="utf-8">
<title>{TITLE_ZH} Grant dossier</title>
<style>
@page {{
  size: A4; margin: 20mm 15mm;
  @top-center {{ content: "ipfund 资助档案 · Grant dossier"; font-size: 9pt; }}
  @bottom-center {{
    content: "第 " counter(page) " 页 / 共 " counter(pages) " 页 · Page "
             counter(page) " of " counter(pages);
    font-size: 9pt;
  }}
}}
body {{ font-family: "ipfund Sans SC"; font-size: 10.5pt; }}
h1, b {{ font-weight: 700; }}
.hash {{ font-family: "ipfund Mono"; font-size: 8pt; }}
table {{ table-layout: fixed; width: 100%; border-collapse: collapse; }}
td, th {{ border: 0.5pt solid #444; padding: 2pt; overflow-wrap: anywhere; }}
.num {{ text-align: right; }}
</style></head>
<body>
<h1>{TITLE_ZH} Grant Dossier</h1>
<p><b>金额（大写）：</b>{AMOUNT_WORDS}</p>
<p>金额 Amount：¥12,345.67 — 审核通过 √ 未通过 ×</p>
<p>数据哈希 Data hash: <span class="hash">{HASH_64}</span></p>
{extra}
<table>
<colgroup><col style="width:10%"><col style="width:50%"><col style="width:20%">
<col style="width:10%"><col style="width:10%"></colgroup>
<thead><tr><th>序号</th><th>项目 Item</th><th>金额 Amount</th><th>√</th><th>×</th></tr>
</thead><tbody>{body_rows}</tbody></table>
</body></html>"""


def render(html: str, **overrides: object) -> RenderResult:
    kwargs: dict[str, object] = {
        "base_url": BASE_URL,
        "data_json": DATA_JSON,
        "document_id": "DOS-2024-0001",
        "created": CREATED,
        "manifest_extra": {"template_sha256": TEMPLATE_SHA256},
    }
    kwargs.update(overrides)
    return render_pdf(html, **kwargs)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def sample() -> RenderResult:
    return render(sample_html())


def reader_for(pdf: bytes) -> Any:
    """A PdfReader typed as Any: pypdf's PdfObject unions are not indexable."""
    return PdfReader(BytesIO(pdf))


def embedded_font_names(pdf: bytes) -> set[str]:
    names = set()
    for page in reader_for(pdf).pages:
        for font in page["/Resources"]["/Font"].values():
            base = str(font.get_object()["/BaseFont"])
            names.add(base.split("+", 1)[1])
    return names


def test_bilingual_text_is_extractable(sample: RenderResult) -> None:
    assert sample.pdf.startswith(b"%PDF-1.7")
    assert sample.sha256 == hashlib.sha256(sample.pdf).hexdigest()
    pages = pdf_text_pages(sample.pdf)
    assert len(pages) == 1
    text = pages[0]
    for expected in (TITLE_ZH, AMOUNT_WORDS, "¥12,345.67", "√", "×", HASH_64,
                     "Grant Dossier", "第 1 页 / 共 1 页 · Page 1 of 1"):
        assert expected in text
    assert sample.warnings == ()


def test_regular_bold_and_mono_faces_are_embedded(sample: RenderResult) -> None:
    assert embedded_font_names(sample.pdf) == {
        "ipfund-Sans-SC", "ipfund-Sans-SC-Bold", "ipfund-Mono"}


def test_host_fonts_are_invisible() -> None:
    # DejaVu Sans / Serif are installed on the host but not bundled: fontconfig
    # must not see them, only the project fonts.
    result = render(
        "<p style='font-family: \"DejaVu Sans\", serif'>Host font?</p>")
    names = embedded_font_names(result.pdf)
    assert names <= {"DejaVu-Sans-Mono", "Noto-Sans-S-Chinese", "ipfund-Sans-SC",
                     "ipfund-Mono"}
    assert "DejaVu-Sans" not in names


def test_pdf_a3b_metadata_and_dates(sample: RenderResult) -> None:
    reader = reader_for(sample.pdf)
    info = reader.metadata
    assert info is not None
    assert info["/CreationDate"] == "D:20240501"
    assert info["/ModDate"] == "D:20240501"
    assert info["/Title"] == f"{TITLE_ZH} Grant dossier"
    xmp = reader.xmp_metadata
    assert xmp is not None
    xmp_bytes = xmp.stream.get_data()
    assert b'pdfaid:part="3"' in xmp_bytes
    assert b'pdfaid:conformance="B"' in xmp_bytes
    data_sha256 = hashlib.sha256(DATA_JSON).hexdigest()
    assert reader.trailer["/ID"][0] == data_sha256
    assert "/OutputIntents" in reader.trailer["/Root"]


def test_manifest_in_metadata_and_returned(sample: RenderResult) -> None:
    manifest = sample.manifest
    assert read_manifest(sample.pdf) == manifest
    assert manifest["template_sha256"] == TEMPLATE_SHA256
    assert manifest["data_sha256"] == hashlib.sha256(DATA_JSON).hexdigest()
    assert manifest["document_id"] == "DOS-2024-0001"
    assert manifest["ipfund_version"]
    assert manifest["weasyprint_version"] == __import__("weasyprint").__version__
    assert manifest["pydyf_version"] == __import__("pydyf").__version__
    assert manifest["pdf_variant"] == "pdf/a-3b"
    hashes = font_hashes()
    assert set(hashes) == {
        "NotoSansHans-Regular.otf", "NotoSansHans-Bold.otf",
        "DejaVuSansMono.ttf", "DejaVuSansMono-Bold.ttf"}
    for name, digest in hashes.items():
        assert manifest[f"font_sha256:{name}"] == digest
        assert len(digest) == 64


def test_attachment_round_trip(sample: RenderResult) -> None:
    assert extract_attachment(sample.pdf) == DATA_JSON
    assert extract_attachment(sample.pdf, "other.json") is None
    reader = reader_for(sample.pdf)
    names = reader.trailer["/Root"]["/Names"]["/EmbeddedFiles"]["/Names"]
    filespec = names[1].get_object()
    assert filespec["/AFRelationship"] == "/Data"
    params = filespec["/EF"]["/F"].get_object()["/Params"]
    assert params["/CreationDate"] == "D:20240501000000Z"
    assert params["/ModDate"] == "D:20240501000000Z"


def test_fonts_css_uses_bundled_file_urls() -> None:
    css = fonts_css()
    for name in font_hashes():
        assert (pdf_render.FONTS_DIR / name).as_uri() in css
    assert '"ipfund Sans SC"' in css and '"ipfund Mono"' in css
    assert os.environ["FONTCONFIG_FILE"] == str(pdf_render.FONTS_DIR / "fonts.conf")


_CHILD = """
import sys
from pathlib import Path
from flows.pdf_render import FONTS_DIR, render_pdf
print(FONTS_DIR)
html = Path(sys.argv[1]).read_text(encoding="utf-8")
result = render_pdf(
    html, base_url=sys.argv[2], data_json=Path(sys.argv[3]).read_bytes(),
    document_id="DOS-2024-0001", created="2024-05-01",
    manifest_extra={"template_sha256": sys.argv[4]})
print(result.sha256)
"""


def test_render_is_byte_identical_across_processes(
        sample: RenderResult, tmp_path: Path) -> None:
    html_file = tmp_path / "dossier.html"
    html_file.write_text(sample_html(), encoding="utf-8")
    data_file = tmp_path / "dossier.json"
    data_file.write_bytes(DATA_JSON)
    # A second checkout at another path: an auditor's machine years later.
    other_checkout = tmp_path / "elsewhere" / "ipfund"
    for package in ("flows", "templates"):
        shutil.copytree(REPO_ROOT / package, other_checkout / package,
                        ignore=shutil.ignore_patterns("__pycache__"))
    runs = (
        ("UTC", "1", "C.UTF-8", REPO_ROOT),
        ("Asia/Shanghai", "4242", "zh_CN.UTF-8", REPO_ROOT),
        ("America/Los_Angeles", "random", "en_US.UTF-8", other_checkout),
    )
    digests = []
    for tz, seed, lang, root in runs:
        env = dict(os.environ, TZ=tz, PYTHONHASHSEED=seed, LANG=lang, LC_ALL=lang,
                   PYTHONPATH=str(root),
                   # The module must override a system fontconfig file.
                   FONTCONFIG_FILE="/etc/fonts/fonts.conf")
        base_url = (root / "templates").as_uri() + "/"
        completed = subprocess.run(
            [sys.executable, "-c", _CHILD, str(html_file), base_url, str(data_file),
             TEMPLATE_SHA256],
            env=env, cwd=tmp_path, capture_output=True, text=True, timeout=300,
            check=False)
        assert completed.returncode == 0, completed.stderr
        fonts_dir, digest = completed.stdout.strip().splitlines()[-2:]
        assert fonts_dir == str(root / "templates" / "fonts")
        digests.append(digest)
    assert digests == [sample.sha256] * 3


def test_the_long_lived_renderer_gives_the_bytes_of_a_fresh_one(sample: RenderResult) -> None:
    """One renderer per process (fonts and the font stylesheet loaded once): a render after other
    documents — with other glyphs, so other font subsets — is byte-identical to one from a fresh
    FontConfiguration, and the renderer really is reused."""
    pdf_render._renderer()
    first = pdf_render._renderer()
    assert pdf_render._renderer() is first
    render("<p>另一份文档 another document ✔ 壹贰叁</p>" * 40)
    again = render(sample_html())
    assert again.sha256 == sample.sha256
    pdf_render._RENDERER.clear()
    fresh = render(sample_html())
    assert pdf_render._renderer() is not first
    assert fresh.sha256 == sample.sha256


def test_missing_glyph_raises() -> None:
    with pytest.raises(MissingGlyphError) as excinfo:
        render("<p>资助 😀 ok</p>")
    assert excinfo.value.characters == ("😀",)
    assert "U+1F600" in str(excinfo.value)
    assert isinstance(excinfo.value, RuntimeError)


def test_check_mark_u2714_falls_back_to_bundled_mono() -> None:
    # Noto Sans Hans lacks U+2714 but the bundled DejaVu Sans Mono has it.
    result = render("<p>审核 ✔ 通过</p>")
    assert "✔" in pdf_text_pages(result.pdf)[0]


def test_unfetchable_resources_fail_loudly() -> None:
    with pytest.raises(RenderError):
        render("<p><img src='does-not-exist.png'></p>")
    with pytest.raises(RenderError):
        render("<p><img src='http://example.invalid/x.png'></p>")


def test_host_dependent_constructs_are_refused() -> None:
    # A relative link becomes file:///<checkout>/x.html inside the PDF.
    with pytest.raises(RenderError, match="local file"):
        render("<p><a href='x.html'>annex</a></p>")
    fragment = render("<p id='top'><a href='#top'>top</a> <a href='https://x.org/a'>x</a></p>")
    assert extract_attachment(fragment.pdf) == DATA_JSON
    with pytest.raises(ValueError, match="attachment"):
        render("<head><link rel='attachment' href='data:,x'></head><p>x</p>")
    with pytest.raises(ValueError, match="attachment"):
        render("<p><a rel='attachment' href='data:,x'>x</a></p>")


def test_input_validation() -> None:
    html = "<p>x</p>"
    with pytest.raises(ValueError):
        render(html, created="2024-05-01T10:00:00")  # naive time: TZ dependent
    with pytest.raises(ValueError):
        render(html, manifest_extra={})
    with pytest.raises(ValueError):
        render(html, manifest_extra={"template_sha256": "x", "data_sha256": "y"})
    with pytest.raises(ValueError):
        render("<head><meta name='dcterms.created' content='2020-01-01'></head>x")
    ok = render("<head><meta name='dcterms.created' content='2024-05-01'></head>x")
    assert ok.manifest["created"] == CREATED
    stamped = render(html, created="2024-05-01T18:30:00+08:00")
    params = reader_for(stamped.pdf).trailer["/Root"]["/Names"][
        "/EmbeddedFiles"]["/Names"][1].get_object()["/EF"]["/F"].get_object()["/Params"]
    assert params["/CreationDate"] == "D:20240501103000Z"


def test_ten_page_render_timing() -> None:
    started = time.perf_counter()
    result = render(sample_html(rows=440))
    elapsed = time.perf_counter() - started
    pages = pdf_text_pages(result.pdf)
    assert len(pages) == 10
    assert "第 10 页 / 共 10 页 · Page 10 of 10" in pages[-1]
    print(f"10-page render: {elapsed:.2f}s, {len(result.pdf)} bytes")
    assert elapsed < 120
