"""专利密集型产品认定试点 (二(一)3): recognising a product as patent-intensive — no money.

The clause names the indicators: 有效发明专利拥有量 (valid invention patents owned), 专利许可 and 转让
(licences and transfers), 质押融资 (pledge financing). They are the form's fields; the one this module
checks at intake is the floor on invention patents (illustrative, like every number of the pilot); the
rest is judged by the third-party evaluation against its own rubric, and a product is recognised when
its final score reaches the minimum. Nothing is paid and nothing touches the ledger.
"""

from __future__ import annotations

from rules.policy import Policy
from rules.schemes import CheckResult, IntakeFacts, SchemeRules

SCHEME = "patent-intensive-product"

RULES = SchemeRules(SCHEME, outcomes={
    "recognised": "认定为专利密集型产品: the final score reaches the minimum",
    "below_min_score": "final score below the minimum: not recognised",
})


@RULES.check("invention_patents_floor")
def invention_patents_floor(policy: Policy, f: IntakeFacts) -> CheckResult:
    """A patent-intensive product rests on at least the policy's number of valid invention patents."""
    name = f"{SCHEME}.min_invention_patents"
    floor = policy.integer(name, f.submitted_on)
    owned = int(f.form.get("invention_patents") or 0)
    return CheckResult(
        "invention_patents_floor", owned >= floor, "有效发明专利拥有量 at least the floor", policy.scheme(SCHEME).clause,
        f"{name} = {floor}", f"{owned} valid invention patent(s) declared; at least {floor} needed")
