"""The Chinese of the English reasons and check details the engine writes (templates/messages.json, issue 16:
every reason and message in a dossier bilingual). Each pattern on a text the engine really writes (taken
from the demo's dossiers), a reason of several checks translated check by check, and what stays English."""

from __future__ import annotations

import json
import re

import pytest

from flows.services.dossier.rendering import TEMPLATES_DIR, _zh_of

CASES = [
    ("award ¥50,000.00 exceeds the ¥0.00 left on the line", "奖励金额 ¥50,000.00 超过预算科目剩余额度 ¥0.00"),
    ("no award of the same benefit in another scheme this fiscal year", "本财政年度其他方案未就同一事项给予奖励"),
    ("no earlier award or claim for this bank + loan_ref + kind", "此前未就该银行该笔贷款的同类费用获得奖励或提出申报"),
    ("no earlier award or claim for this widget", "此前未就该 widget 获得奖励或提出申报"),
    ("2021-01-04 – 2021-08-31 (240 days), window from 2020-01-01",
     "计息期间 2021-01-04 至 2021-08-31（240 天），申报期间自 2020-01-01 起"),
    ("¥24,956.32 (bound by formula; formula ¥24,956.32, eligible interest paid ¥58,263.30, 240 days)",
     "¥24,956.32（按公式计算：公式结果 ¥24,956.32，符合条件的已付利息 ¥58,263.30，240 天）"),
    ("¥6,810.00 (bound by share)", "¥6,810.00（受补贴比例限制）"),
    ("district 370611 福山区", "所在区市 370611 福山区"),
    ("loan PL20210001 of bank 91370602000009M133, ¥2,270,000.00 drawn down 2021-01-04",
     "贷款 PL20210001（贷款银行 91370602000009M133），¥2,270,000.00，放款日期 2021-01-04"),
    ("service 'consulting' (咨询) has a face value of ¥5,000.00", "服务“咨询”（consulting）券面额 ¥5,000.00"),
    ("a guarantee fee claim needs no first loan", "担保费补贴不要求首贷"),
    ("repaid ¥0.00 of ¥2,120,000.00: paid only after full repayment", "已还款 ¥0.00（贷款 ¥2,120,000.00）：全额还款后方予拨付"),
    ("barred until 2024-12-31 after project PN-2021-00005 was left unrectified",
     "因项目 PN-2021-00005 逾期未整改，限制申报至 2024-12-31"),
    ("从优从高不重复: CA-2021-00076 (certification-award, ¥50,000.00) already funds the same benefit this year, at "
     "least this claim's ¥5,000.00; the higher award is kept",
     "从优从高不重复：CA-2021-00076 (certification-award, ¥50,000.00) 本年度已资助同一事项，金额不低于本申报的 ¥5,000.00；"
     "保留较高奖励"),
    # the rules a check names (the checks table's Rule column)
    ("applicant is registered with a valid credit code", "申报主体已登记且统一社会信用代码有效"),
    ("不重复奖励: one award per bank + loan_ref + kind", "不重复奖励：每笔贷款的每类费用奖励一次"),
    ("不重复奖励: one award per widget", "不重复奖励：每个 widget 奖励一次"),
    ("从优从高不重复: 首贷贴息 (the interest cost of an SME's first IP-pledge loan)",
     "从优从高不重复：首贷贴息（the interest cost of an SME's first IP-pledge loan）"),
    # a reason of checks: each detail translated, the check name kept; a detail with a "; " of its own
    ("not_barred: barred until 2024-12-31 after project PN-2021-00005 was left unrectified",
     "not_barred：因项目 PN-2021-00005 逾期未整改，限制申报至 2024-12-31"),
    ("fee_timing: repaid ¥0.00 of ¥2,120,000.00: paid only after full repayment; duplicate_benefit: 从优从高不重复: "
     "PIS-2021-00003 (pledge-interest-subsidy, ¥30,841.84) already funds the same benefit this year, at least this "
     "claim's ¥30,000.00; the higher award is kept",
     "fee_timing：已还款 ¥0.00（贷款 ¥2,120,000.00）：全额还款后方予拨付；duplicate_benefit：从优从高不重复："
     "PIS-2021-00003 (pledge-interest-subsidy, ¥30,841.84) 本年度已资助同一事项，金额不低于本申报的 ¥30,000.00；保留较高奖励"),
    ("interest_subsidy: ¥0.00 (bound by formula; formula ¥0.00, eligible interest paid ¥0.00, 0 days); excluded: an "
     "extended period (展期不贴息): 2 receipts ¥17,305.74",
     "interest_subsidy：¥0.00（按公式计算：公式结果 ¥0.00，符合条件的已付利息 ¥0.00，0 天）；不予计入：an extended "
     "period (展期不贴息): 2 receipts ¥17,305.74"),
]


@pytest.mark.parametrize(("english", "chinese"), CASES, ids=[c[0][:40] for c in CASES])
def test_the_chinese_of_what_the_engine_writes(english: str, chinese: str) -> None:
    assert _zh_of(english) == chinese


@pytest.mark.parametrize("english", [
    "something nobody wrote a pattern for",
    "first_loan: loan PL1 is not the borrower's first loan in the registry; other: an unknown detail",
    "Not a check: district 370611 福山区",
    "",
])
def test_a_text_without_chinese_for_all_of_it_stays_english(english: str) -> None:
    assert _zh_of(english) == ""


def test_every_pattern_compiles_and_is_anchored() -> None:
    table = json.loads((TEMPLATES_DIR / "messages.json").read_text(encoding="utf-8"))
    for pattern, chinese in table["patterns"]:
        assert pattern.startswith("^") and pattern.endswith("$"), pattern
        assert re.compile(pattern).groups >= max((int(g) for g in re.findall(r"\\(\d)", chinese)), default=0)
