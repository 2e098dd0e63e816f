"""Visual regression of the case dossier: page 1 of a fixed dossier (tests/data/visual/case_dossier.json,
rendered with the bundled fonts, so the same on every machine) is rasterised with poppler's pdftoppm at
50 dpi in grey and compared with the committed reference tests/data/visual/case_dossier_p1.png. It fails
on layout drift: more than MAX_DIFF_RATIO of the pixels differ by more than PIXEL_THRESHOLD grey levels
(anti-aliasing differences between poppler versions stay well below it).

A deliberate change of the layout (CSS, templates) regenerates the reference:

    IPFUND_UPDATE_VISUAL=1 .venv/bin/pytest tests/unit/test_dossier_visual.py

and the new PNG is committed with the change (look at it first). Without pdftoppm the test is skipped,
unless IPFUND_VISUAL_REQUIRED=1 (CI sets it: scripts/system-deps.sh installs poppler-utils)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
from PIL import Image, ImageChops

from flows.services import dossier

DATA = Path(__file__).resolve().parents[1] / "data" / "visual"
FIXTURE = DATA / "case_dossier.json"
REFERENCE = DATA / "case_dossier_p1.png"
DPI = 50
PIXEL_THRESHOLD = 48  # grey levels (of 255) a pixel must differ by to count
MAX_DIFF_RATIO = 0.004  # share of the page's pixels that may differ


def rasterise(pdf: bytes, page: int = 1) -> Image.Image:
    exe = shutil.which("pdftoppm")
    if exe is None:
        if os.environ.get("IPFUND_VISUAL_REQUIRED") == "1":
            pytest.fail("pdftoppm (poppler-utils) is missing: run scripts/system-deps.sh")
        pytest.skip("pdftoppm (poppler-utils) is not installed")
    with tempfile.TemporaryDirectory(prefix="ipfund-visual-") as tmp:
        src = Path(tmp) / "dossier.pdf"
        src.write_bytes(pdf)
        subprocess.run([exe, "-r", str(DPI), "-gray", "-png", "-singlefile", "-f", str(page), "-l", str(page),
                        str(src), str(Path(tmp) / "page")], capture_output=True, check=True, timeout=120)
        with Image.open(Path(tmp) / "page.png") as image:
            return image.convert("L")


def diff_ratio(a: Image.Image, b: Image.Image) -> float:
    """The share of pixels differing by more than PIXEL_THRESHOLD (1.0 when the sizes differ)."""
    if a.size != b.size:
        return 1.0
    diff = ImageChops.difference(a, b).point(lambda v: 255 if v > PIXEL_THRESHOLD else 0)
    changed = diff.histogram()[255]
    return changed / (a.size[0] * a.size[1])


@pytest.fixture(scope="module")
def page_one() -> Image.Image:
    d = dossier.make_dossier(json.loads(FIXTURE.read_text(encoding="utf-8")))
    return rasterise(dossier.render(d, escape_missing=False).pdf)


def test_page_one_of_a_fixed_case_dossier_matches_the_reference_image(page_one: Image.Image) -> None:
    if os.environ.get("IPFUND_UPDATE_VISUAL") == "1":
        page_one.save(REFERENCE, optimize=True)
    reference = Image.open(REFERENCE).convert("L")
    ratio = diff_ratio(page_one, reference)
    assert ratio <= MAX_DIFF_RATIO, (
        f"page 1 differs from {REFERENCE.name} in {ratio:.2%} of its pixels (> {MAX_DIFF_RATIO:.2%}): the layout "
        "drifted; if intended, regenerate with IPFUND_UPDATE_VISUAL=1 and commit the PNG")


def test_the_comparison_catches_a_small_layout_shift(page_one: Image.Image) -> None:
    """The tolerance is not so loose that drift passes: the same page moved down by 2 px (a line's
    spacing change) and a table row removed each exceed it."""
    shifted = Image.new("L", page_one.size, 255)
    shifted.paste(page_one, (0, 2))
    assert diff_ratio(page_one, shifted) > MAX_DIFF_RATIO
    cut = page_one.copy()
    w, h = cut.size
    band = page_one.crop((0, h // 2 + 12, w, h))
    cut.paste(band, (0, h // 2))
    assert diff_ratio(page_one, cut) > MAX_DIFF_RATIO
    assert diff_ratio(page_one, page_one.copy()) == 0.0
