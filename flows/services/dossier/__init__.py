"""Auditor dossiers (审计档案): a byte-reproducible, bilingual PDF per case and per fund year.

A dossier is built from the database and the audit log only, in three steps that are each exactly
reproducible:

1. **Data.** ``case_data`` / ``year_data`` read the rows in a fixed order (primary keys, sequence
   numbers) into plain dicts, lists, strings and integers (no floats, no sets, no clock). The
   canonical JSON of that dict (``rules.audit_chain.canonical_json``: sorted keys, no whitespace) is
   the dossier's *data*; its sha256 is the *data hash*. The data JSON is embedded in the PDF as
   ``dossier.json``.
2. **HTML.** Jinja2 templates (``templates/case.html``, ``templates/year.html`` on
   ``templates/_dossier_base.html`` and ``templates/dossier.css``) turn the data into HTML. Every
   label and translation lives in the templates, so the *template hash* (sha256 over the template
   files, recorded in the render manifest) covers all presentation.
3. **PDF.** ``flows.pdf_render.render_pdf`` renders PDF/A-3b with the bundled fonts, HarfBuzz
   subsetting, ``/ID`` from the data hash and the document date from the data.

Choices that make the document a function of the data (documented here, relied on by ``verify``):

* **Chain anchor, not the live head.** A case dossier is anchored to the latest audit event of the
  case: its own events (subject ``app:REF``) and the events that act on it under another subject
  (the ``round.finalize`` of its award round, the ``pay.batch`` of its payment batches and the
  ``pay.confirm`` of its bank confirmations). The "chain head at rendering" printed in the dossier is
  the head of the chain *as of that anchor event* — the anchor's own hash — and the chain is verified
  from genesis through the anchor. Events appended later (other cases, other years, dossier issues)
  therefore never change the dossier. A year dossier is anchored the same way to the latest event of
  the year: ``year:Y``, ``line:Y:*``, ``round:*:Y:*``, the events of the year's cases, their payment
  batches and bank confirmations.
* **Signed checkpoint.** ``chain.checkpoint`` is the earliest signed checkpoint of the audit log
  (``models/checkpoints.py``) whose sequence number covers the anchor and whose signature verifies
  with the trusted key, or None; later checkpoints cover later entries, so the choice does not change.
  ``verify`` checks the file's embedded checkpoint with the trusted public key and against the chain.
* **Issuing never changes what was issued.** ``dossier.issue`` events have subject
  ``dossier:<ref>`` or ``dossier:year:<Y>``, which no anchor query matches.
* **Document date** (``created``, PDF ``/CreationDate``) = the UTC date of the anchor event.
* **Dossier number** = ``DOS-<REF>-<first 8 hex of the data hash>`` (``DOS-Y<year>-...`` for a year).
* **Fund rules at finalize** are recomputed from ledger postings dated up to the round's
  ``finalized_at`` (postings are append-only), so later budget adjustments do not alter a case
  dossier; the year dossier shows the rules as of its anchor (planned = allocations, actual = paid).
* **Policy parameters** are read as of dated moments of the case (submission, aggregation, finalize):
  parameters are dated values, so a later policy change does not rewrite an old dossier.
* **Characters** the bundled fonts lack (e.g. an emoji typed into a reason) are printed as
  ``[U+XXXX]`` instead of a .notdef box; the embedded JSON keeps the original text.

``verify`` re-renders from the database and compares bytes. When they differ it says why: the
embedded JSON diffed field by field against the database (and whether the file is an authentic
render of the data it embeds), else differences in the render environment (manifest), else the text
page by page and the first differing byte — so an auditor can tell a tampered PDF from a changed
database or a changed environment.

The package, one module per step: ``common`` (helpers shared by both kinds, the chain anchor),
``case`` (:func:`case_data`), ``year`` (:func:`year_data`), ``rendering`` (:class:`Dossier`, templates,
HTML and PDF), ``issuing`` (``dossier.issue`` events), ``verifying`` (:func:`verify`) and ``batch``
(many cases in parallel). Everything is re-exported here: ``from flows.services import dossier`` and
``dossier.render(...)`` as before. The case dossier prints the sections its scheme declares
(``dossier_sections`` in the policy, :data:`rules.stages.DOSSIER_SECTIONS`), in order.
"""

from __future__ import annotations

from flows.services.dossier.batch import (
    RenderedFile,
    benchmark,
    case_refs,
    render_case_file,
    render_many,
    year_benchmark,
)
from flows.services.dossier.case import case_data
from flows.services.dossier.common import FORMAT, ChainStatus, _round_report, chain_status
from flows.services.dossier.issuing import (
    ISSUE_ACTION,
    check_may_issue,
    check_may_read,
    issue,
    issue_record,
    issued_records,
)
from flows.services.dossier.rendering import (
    TEMPLATE_FILES,
    TEMPLATES_DIR,
    Dossier,
    build,
    build_case,
    build_pool_claim,
    build_year,
    make_dossier,
    page_count,
    render,
    render_html,
    template_sha256,
)
from flows.services.dossier.verifying import (
    DOCUMENT_KEYS,
    DossierMismatch,
    NotAPdf,
    VerifyReport,
    check_embedded_checkpoint,
    diff_data,
    diff_pages,
    flatten,
    not_a_pdf,
    verify,
)
from flows.services.dossier.year import planned_figures_as_of, year_data

__all__ = [
    "DOCUMENT_KEYS",
    "FORMAT",
    "ISSUE_ACTION",
    "TEMPLATES_DIR",
    "TEMPLATE_FILES",
    "ChainStatus",
    "Dossier",
    "DossierMismatch",
    "NotAPdf",
    "RenderedFile",
    "VerifyReport",
    "_round_report",
    "benchmark",
    "build",
    "build_case",
    "build_pool_claim",
    "build_year",
    "case_data",
    "case_refs",
    "chain_status",
    "check_embedded_checkpoint",
    "check_may_issue",
    "check_may_read",
    "diff_data",
    "diff_pages",
    "flatten",
    "issue",
    "issue_record",
    "issued_records",
    "make_dossier",
    "not_a_pdf",
    "page_count",
    "planned_figures_as_of",
    "render",
    "render_case_file",
    "render_html",
    "render_many",
    "template_sha256",
    "verify",
    "year_benchmark",
    "year_data",
]
