"""What-if (`round trial SCHEME --policy ALT.yaml --diff`): the round ranked and allocated under an
alternative policy file, case by case against the current one, with nothing written."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from flows.services import rounds
from tests.support import SCHEME, scored_round

POLICY = Path(__file__).resolve().parents[2] / "rules" / "policies" / "yantai-2020.yaml"
AWARDS = "2020-10-19: {enterprise: 5000000, university: 8000000, institute: 8000000}"


def alternative(tmp_path: Path, enterprise_fen: int, min_score: str) -> Path:
    """The bundled policy with another enterprise award and another minimum score."""
    text = POLICY.read_text(encoding="utf-8")
    at = text.index("  certification-award.min_score:")
    old = '      2020-10-19: "60"\n'
    end = text.index(old, at)
    assert AWARDS in text and end - at < 300
    text = text[:end] + f'      2020-10-19: "{min_score}"\n' + text[end + len(old):]
    alt = tmp_path / "alt.yaml"
    alt.write_text(text.replace(AWARDS, AWARDS.replace("5000000", str(enterprise_fen))), encoding="utf-8")
    return alt


def test_another_award_and_minimum_score_change_the_round_and_the_diff_names_each_case_and_nothing_is_written(
        db: Any, cli: Any, tmp_path: Path) -> None:
    from rules.policy import load_policy_file

    r = scored_round(db.engine, n_apps=30, scores_by_index={i: 900 - 10 * i for i in range(30)})
    with r.ro() as s:
        now = rounds.trial(s, "wang.approve", SCHEME, 2021)
        what_if = rounds.trial(s, "wang.approve", SCHEME, 2021,
                               load_policy_file(alternative(tmp_path, 2500000, "80")))
    scores = {c["ref"]: c["final_score"] for c in now["cases"]}
    assert all(c["outcome"] == "funded" for c in now["cases"])  # today every case scores ≥ 60 and fits the line
    d = rounds.diff_reports(now, what_if)
    lost = {c["ref"] for c in d["changes"] if c["outcome_after"] == "below_min_score"}
    assert lost == {ref for ref, sc in scores.items() if float(sc) < 80} and lost
    cheaper = [c for c in d["changes"] if c["outcome_after"] == "funded"]
    assert cheaper and all(c["award_before_fen"] == 5000000 and c["award_after_fen"] == 2500000 for c in cheaper)
    kept = {ref for ref, sc in scores.items() if float(sc) >= 80}
    assert d["funded_after"] == len(kept) < d["funded_before"] == 30
    assert d["difference_fen"] == what_if["total_fen"] - now["total_fen"] < 0

    before = db.snapshot()
    out = cli("round", "trial", SCHEME, "--year", "2021", "--policy", str(alternative(tmp_path, 2500000, "80")),
              "--diff",
              "--json", "--as", "wang.approve")
    assert out.exit_code == 0, out.stderr
    assert json.loads(out.stdout) == json.loads(json.dumps(d))
    assert db.snapshot() == before  # a what-if writes nothing
    same = cli("round", "trial", SCHEME, "--year", "2021", "--policy", str(POLICY), "--diff", "--json",
               "--as", "wang.approve")
    assert json.loads(same.stdout)["changes"] == []
    current = rounds.diff_reports(now, now)
    assert current["changes"] == []
    refused = cli("round", "trial", SCHEME, "--year", "2021", "--diff", "--as", "wang.approve")
    assert refused.exit_code == 2 and "--policy" in refused.stderr
