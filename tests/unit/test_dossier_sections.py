"""Dossier sections come from the scheme: a policy names the sections of its case dossier in order
(``dossier_sections``), loading refuses a name no template prints (with its key path), every known section
has its partial template, and the template hash covers every partial. No database."""

from __future__ import annotations

import copy
import shutil
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

from flows.services.dossier import rendering
from rules.policy import POLICY_DIR, PolicyError, load_policy, parse_policy
from rules.stages import DOSSIER_SECTIONS

CERT, PILOT = "certification-award", "patent-intensive-product"


@cache
def _raw() -> dict[str, Any]:
    return dict(yaml.safe_load((POLICY_DIR / "yantai-2020.yaml").read_text(encoding="utf-8")))


def problems_with_sections(scheme: str, sections: list[str]) -> list[str]:
    raw = copy.deepcopy(_raw())
    raw["schemes"][scheme]["dossier_sections"] = sections
    with pytest.raises(PolicyError) as exc:
        parse_policy(yaml.safe_dump(raw, allow_unicode=True), "variant.yaml")
    return list(exc.value.problems)


def test_the_bundled_schemes_declare_their_sections_the_pilot_without_payments_or_ledger() -> None:
    policy = load_policy("yantai-2020")
    assert policy.scheme(CERT).dossier_sections == [s for s in DOSSIER_SECTIONS if s not in ("voucher", "project")]
    pilot = policy.scheme(PILOT).dossier_sections
    assert "payments" not in pilot and "ledger" not in pilot
    assert pilot == [s for s in DOSSIER_SECTIONS if s not in ("payments", "ledger", "voucher", "project")]


def test_an_unknown_section_is_refused_with_its_key_path_and_the_known_names() -> None:
    found = problems_with_sections(PILOT, ["applicant", "application", "royalties", "history"])
    assert len(found) == 1
    assert found[0].startswith("schemes.patent-intensive-product.dossier_sections[2]: 'royalties' is not a "
                               "dossier section (known: applicant, application, checks,")
    assert "ledger, history)" in found[0]


def test_a_section_listed_twice_is_refused() -> None:
    found = problems_with_sections(CERT, ["applicant", "history", "applicant"])
    assert found == ["schemes.certification-award.dossier_sections[2]: 'applicant' is listed twice"]


def test_an_empty_list_is_accepted_and_means_every_section() -> None:
    raw = copy.deepcopy(_raw())
    raw["schemes"][PILOT]["dossier_sections"] = []
    assert parse_policy(yaml.safe_dump(raw, allow_unicode=True), "variant.yaml").scheme(PILOT).dossier_sections == []


def test_every_known_section_has_its_partial_and_every_partial_is_a_known_section() -> None:
    partials = {p.name for p in (rendering.TEMPLATES_DIR / "case").glob("*.html")}
    assert partials == {f"_{s}.html" for s in DOSSIER_SECTIONS}
    assert {f"case/_{s}.html" for s in DOSSIER_SECTIONS} <= set(rendering.TEMPLATE_FILES["case"])


def test_the_case_template_hash_covers_every_partial(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    copy_dir = tmp_path / "templates"
    shutil.copytree(rendering.TEMPLATES_DIR, copy_dir, ignore=shutil.ignore_patterns("fonts", "*.py", "__pycache__"))
    monkeypatch.setattr(rendering, "TEMPLATES_DIR", copy_dir)
    before = {kind: rendering.template_sha256(kind) for kind in ("case", "year")}
    for section in DOSSIER_SECTIONS:
        partial = copy_dir / "case" / f"_{section}.html"
        original = partial.read_bytes()
        partial.write_bytes(original + b"\n")
        assert rendering.template_sha256("case") != before["case"], section
        assert rendering.template_sha256("year") == before["year"]
        partial.write_bytes(original)
    assert rendering.template_sha256("case") == before["case"]


def test_the_voucher_section_is_registered_and_printed_by_custody_vouchers_after_allocation() -> None:
    assert "voucher" in DOSSIER_SECTIONS
    assert list(DOSSIER_SECTIONS).index("voucher") == list(DOSSIER_SECTIONS).index("allocation") + 1
    assert (rendering.TEMPLATES_DIR / "case" / "_voucher.html").is_file()
    sections = load_policy("yantai-2020").scheme("custody-voucher").dossier_sections
    assert sections[sections.index("allocation") + 1] == "voucher"


def test_the_voucher_section_is_refused_for_a_scheme_that_issues_no_vouchers() -> None:
    found = problems_with_sections(PILOT, ["applicant", "voucher", "history"])
    assert found == ["schemes.patent-intensive-product.dossier_sections[1]: 'voucher' is printed only for a "
                     "scheme that issues vouchers (a voucher: key), and this one has none"]
