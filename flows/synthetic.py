"""Synthetic but realistic data for the demo and the benchmark: applicants with valid credit codes
across Yantai's districts, certification applications, and evaluator scores. Deterministic per seed."""

from __future__ import annotations

import csv
import datetime as dt
import io
import random
from dataclasses import dataclass

from rules.uscc import make_uscc

DISTRICTS = ["370602", "370611", "370612", "370613", "370614", "370681", "370682", "370683", "370685", "370686",
             "370687", "370671", "370672"]
PLACES = {"370602": "芝罘", "370611": "福山", "370612": "牟平", "370613": "莱山", "370614": "蓬莱", "370681": "龙口",
          "370682": "莱阳", "370683": "莱州", "370685": "招远", "370686": "栖霞", "370687": "海阳", "370671": "烟台高新",
          "370672": "烟台开发区"}
WORDS = ["海融", "万华", "泰和", "鲁东", "瑞康", "东方", "金岭", "中宇", "华信", "博远", "恒通", "正海", "蓝海", "新元",
         "丰禾", "宏达", "凯盛", "明阳", "嘉诚", "安泰", "睿智", "开源", "天成", "鼎力", "长江", "北辰", "星海", "益升"]
TRADES = ["生物医药科技", "新材料", "智能装备", "海洋科技", "精密机械", "电子信息", "食品科技", "汽车零部件", "化工科技",
          "葡萄酒", "光电科技", "环保科技", "软件技术", "核电装备"]
FORMS = ["有限公司", "股份有限公司", "集团有限公司"]
BODIES = ["中知(北京)认证有限公司", "中规(北京)认证有限公司", "华知(山东)认证服务有限公司"]
BANKS = ["中国银行烟台分行", "中国工商银行烟台分行", "中国建设银行烟台分行", "中国农业银行烟台分行", "交通银行烟台分行",
         "烟台银行股份有限公司营业部"]


@dataclass(frozen=True)
class SynthApplicant:
    name: str
    uscc: str
    kind: str
    district: str
    sme: bool
    whitelist: bool
    quality_permille: int  # latent quality the synthetic evaluators perceive, 0–1000 (demo data only)
    bank_name: str = ""
    bank_account: str = ""


AGENCY_WORDS = ["正道", "智汇", "信达", "知本", "慧谷", "鲁知", "合创", "远见", "维权", "启明", "致远", "华知"]


@dataclass(frozen=True)
class SynthAgency:
    name: str
    uscc: str
    district: str
    office: str
    staff: int


def agencies(n: int, seed: int = 2021) -> list[SynthAgency]:
    """IP service agencies (知识产权服务机构) for the registry: valid credit codes, offices in Yantai."""
    rng = random.Random(seed * 7 + 1)
    out = []
    for i in range(n):
        district = DISTRICTS[(i * 5) % len(DISTRICTS)]
        word = AGENCY_WORDS[i % len(AGENCY_WORDS)]
        kind = rng.choice(["知识产权代理有限公司", "知识产权服务有限公司", "知识产权运营有限公司"])
        uscc = make_uscc(district, 8_000_000 + i * 41 + seed, authority="9", org_type="1")
        suffix = "市" if district.startswith("37068") else "" if district.startswith("37067") else "区"
        out.append(SynthAgency(f"{PLACES[district]}{word}{kind}", uscc, district,
                               f"烟台市{PLACES[district]}{suffix}{rng.choice(['南大街', '港城大街', '长江路', '观海路'])}"
                               f"{rng.randrange(1, 300)}号", 3 + rng.randrange(0, 12)))
    return out


def bank_of(uscc: str, i: int) -> tuple[str, str]:
    """A plausible settlement account for a synthetic applicant: the bank by position, 19 digits derived
    from the credit code (no random draw, so the other synthetic data stay as they were)."""
    import hashlib

    digits = str(int(hashlib.sha256(uscc.encode()).hexdigest(), 16))[:15]
    return BANKS[i % len(BANKS)], f"3706{digits}"


def applicants(n: int, seed: int = 2021) -> list[SynthApplicant]:
    rng = random.Random(seed)
    out = []
    names: set[str] = set()
    for i in range(n):
        district = DISTRICTS[i % len(DISTRICTS)]
        r = rng.random()
        kind = "university" if r < 0.04 else "institute" if r < 0.09 else "enterprise"
        if kind == "university":
            name = f"{PLACES[district]}{rng.choice(['理工', '海洋', '医学', '工程'])}学院"
            org_type = "2"
        elif kind == "institute":
            name = f"烟台{rng.choice(WORDS)}{rng.choice(['材料', '海洋', '药物', '装备'])}研究院"
            org_type = "2"
        else:
            name = f"{PLACES[district]}{rng.choice(WORDS)}{rng.choice(TRADES)}{rng.choice(FORMS)}"
            org_type = "1"
        base = name
        k = 2
        while name in names:
            name = f"{base}（{k}）"
            k += 1
        names.add(name)
        uscc = make_uscc(district, 7_000_000 + i * 37 + seed, authority="9" if kind == "enterprise" else "1",
                         org_type=org_type)
        out.append(SynthApplicant(name, uscc, kind, district, kind == "enterprise" and rng.random() < 0.7,
                                  rng.random() < 0.2, rng.randrange(0, 1001), *bank_of(uscc, i)))
    return out


def applicants_csv(rows: list[SynthApplicant]) -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["name", "uscc", "kind", "district", "sme", "whitelist", "bank_name", "bank_account"])
    for a in rows:
        w.writerow([a.name, a.uscc, a.kind, a.district, str(a.sme).lower(), str(a.whitelist).lower(), a.bank_name,
                    a.bank_account])
    return buf.getvalue().encode("utf-8")


def certificate_no(i: int, year: int) -> str:
    return f"{165 + i % 3 * 10}IP{year % 100:02d}{100000 + i:06d}R0{'SML'[i % 3]}"


def applications(pool: list[SynthApplicant], n: int, seed: int = 2021, year: int = 2021,
                 flawed: bool = True) -> list[dict[str, str]]:
    """n applications; with ``flawed`` two carry certificates issued before the policy's window."""
    rng = random.Random(seed + 1)
    chosen = rng.sample(pool, min(n, len(pool))) if n <= len(pool) else [pool[i % len(pool)] for i in range(n)]
    rows = []
    for i, a in enumerate(chosen):
        cert_date = dt.date(year - 1, 1, 15) + dt.timedelta(days=rng.randrange(0, 400))
        rows.append({"applicant_uscc": a.uscc, "certificate_no": certificate_no(i, year),
                     "certification_date": cert_date.isoformat(), "certification_body": rng.choice(BODIES)})
    if flawed and n >= 20:
        rows[5]["certification_date"] = f"{year - 2}-11-20"     # before the window opens
        rows[11]["certification_date"] = f"{year - 2}-06-30"
    return rows


def applications_csv(rows: list[dict[str, str]]) -> bytes:
    buf = io.StringIO()
    cols = ["applicant_uscc", "certificate_no", "certification_date", "certification_body"]
    w = csv.DictWriter(buf, fieldnames=cols, lineterminator="\n")
    w.writeheader()
    w.writerows(rows)
    return buf.getvalue().encode("utf-8")


def score_for(quality_permille: int, evaluator: str, ref: str, criterion: str) -> int:
    """A plausible score in tenths: latent quality plus evaluator- and criterion-specific noise."""
    rng = random.Random(f"{evaluator}|{ref}|{criterion}")
    base = 45 + quality_permille / 20 + rng.gauss(0, 4)
    return max(0, min(1000, round(base * 2) * 5))  # whole or half points, in tenths


def fill_scores(template_rows: list[tuple[str, str]], quality_by_ref: dict[str, int], evaluator: str) -> list[
        tuple[str, str, str, str]]:
    out = []
    for ref, crit in template_rows:
        t = score_for(quality_by_ref.get(ref, 500), evaluator, ref, crit)
        out.append((ref, crit, f"{t // 10}.{t % 10}", "贯标前后知识产权质量效益对比评价"))
    return out


def scores_csv(rows: list[tuple[str, str, str, str]], encoding: str = "utf-8-sig") -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["application_id", "criterion", "score", "comment"])
    w.writerows(rows)
    return buf.getvalue().encode(encoding)
