"""Who may do what. The service layer checks these; the CLI never does."""

from __future__ import annotations

# The one list of roles (the users table, the policy's transitions and the duties rule read it).
# agency: a service agency's staff (托管服务机构); bank: a bank's staff (质押融资).
ROLES = ("applicant", "reviewer", "approver", "evaluator", "finance", "auditor", "admin", "agency", "bank")

# action -> roles allowed. Auditors appear only on read and dossier actions: they change nothing.
PERMISSIONS: dict[str, frozenset[str]] = {
    "user.add": frozenset({"admin"}),
    "applicant.import": frozenset({"admin", "reviewer"}),
    "budget.plan": frozenset({"admin", "finance"}),
    "budget.adjust": frozenset({"approver", "admin"}),
    "application.submit": frozenset({"applicant", "admin"}),
    "application.import": frozenset({"admin", "reviewer"}),
    "application.withdraw": frozenset({"applicant", "admin"}),
    "review.decide": frozenset({"reviewer"}),
    "evaluator.conflict": frozenset({"evaluator"}),
    "scores.upload": frozenset({"evaluator"}),
    "round.trial": frozenset({"approver", "reviewer", "finance", "auditor", "admin"}),
    "round.finalize": frozenset({"approver"}),
    "round.open": frozenset({"approver"}),  # the round's terms (its settlement mode, 二(二)5) are the approver's
    # Anyone may object during 公示 except auditors, who change nothing (an objection puts a case on hold).
    "notice.object": frozenset(ROLES) - {"auditor"},
    "notice.resolve": frozenset({"approver"}),
    "pay.batch": frozenset({"finance"}),
    "pay.confirm": frozenset({"finance"}),
    "applicant.bank": frozenset({"admin", "reviewer"}),  # payee bank details: never the payer's own act
    "flow.advance": frozenset({"admin"}),  # the system stages; payments run only on a finance release
    "dossier.issue": frozenset({"auditor", "admin"}),
    # The service-agency registry (二(四)10, 13). An agency's staff apply and withdraw for their own agency
    # only (rules.duties.OWN_ONLY); nobody judges an agency they belong to (rules.duties.BARRED).
    "agency.apply": frozenset({"agency", "reviewer", "admin"}),
    "agency.accredit": frozenset({"reviewer", "admin"}),
    "agency.warn": frozenset({"reviewer", "admin"}),
    "agency.suspend": frozenset({"reviewer", "admin"}),
    "agency.expel": frozenset({"reviewer", "approver", "admin"}),
    "agency.reinstate": frozenset({"reviewer", "admin"}),
    "agency.withdraw": frozenset({"agency", "admin"}),
    "agency.complaint": frozenset({"reviewer", "admin"}),
    "agency.spot_check": frozenset({"reviewer", "evaluator", "admin"}),
    "agency.monitor": frozenset({"admin"}),  # a system act, run by an admin (like flows advance)
    "agency.reward": frozenset({"approver", "admin"}),
    "agency.bank": frozenset({"admin", "reviewer"}),  # an agency's bank details: never the payer's own act
    # Custody vouchers (二(二)5): the SME contracts, confirms and disputes for its own vouchers, an agency's
    # staff redeem the vouchers contracted with their own agency (rules.duties.OWN_ONLY); admins for any.
    "voucher.contract": frozenset({"applicant", "admin"}),
    "voucher.redeem": frozenset({"agency", "admin"}),
    "voucher.confirm": frozenset({"applicant", "admin"}),
    "voucher.dispute": frozenset({"applicant", "admin"}),
    # Fraud found after settlement (二(四)13): a reviewer or admin records the finding (never of their own
    # agency); finance records what is recovered with the bank's receipt (never the finding's recorder).
    "agency.fraud": frozenset({"reviewer", "admin"}),
    "voucher.recover": frozenset({"finance"}),
    # Funded projects (二(一)1, 二(四)12, 三(三)): the project's staff report; reviewers decide extensions and accept
    # a rectification; a third-party evaluator evaluates; an approver signs the agreement and each tranche.
    "project.agree": frozenset({"approver"}),
    "project.report": frozenset({"applicant", "admin"}),
    "project.extend": frozenset({"applicant", "admin"}),
    "project.decide_extension": frozenset({"reviewer"}),
    "project.evaluate": frozenset({"evaluator"}),
    "project.release": frozenset({"approver"}),
    "project.rectify": frozenset({"reviewer"}),
    "project.recover": frozenset({"finance"}),
    # The IP-pledge loan registry (二(三)7): the bureau's admins keep the list of banks; a bank's staff
    # register and receipt their own bank's loans only (rules.duties.OWN_ONLY); admins for any.
    "bank.add": frozenset({"admin"}),
    "bank.suspend": frozenset({"admin"}),
    "bank.reinstate": frozenset({"admin"}),
    "bank.tier": frozenset({"admin"}),
    "bank.account": frozenset({"admin"}),  # where a bank is paid (首贷 reward): never the payer's own act
    # The programme's KPI figures measured outside ipfund (一(二)): the bureau's staff import them with their source.
    "kpi.import": frozenset({"admin", "reviewer"}),
    "loan.register": frozenset({"bank", "admin"}),
    "loan.extend": frozenset({"bank", "admin"}),
    "loan.interest": frozenset({"bank", "admin"}),
    "loan.repay": frozenset({"bank", "admin"}),
    "loan.claim": frozenset({"bank", "admin"}),  # 代为申报: the bank files a subsidy claim for its borrower
    "loan.read": frozenset({"bank", "reviewer", "approver", "finance", "auditor", "admin"}),
    # The risk-compensation pool (二(三)7): finance records contributions, pays claims and settles them with
    # the money recovered; a bank's staff file, revoke and claim for their own bank's loans (OWN_ONLY); a
    # reviewer or approver decides a claim.
    "pool.contribute": frozenset({"finance"}),
    "pool.file": frozenset({"bank", "admin"}),
    "pool.revoke": frozenset({"bank", "admin"}),
    "pool.claim": frozenset({"bank", "admin"}),
    "pool.decide": frozenset({"reviewer", "approver"}),
    "pool.pay": frozenset({"finance"}),
    "pool.settle": frozenset({"finance"}),
    "pool.read": frozenset({"bank", "reviewer", "approver", "finance", "auditor", "admin"}),
    "voucher.read": frozenset(ROLES),  # everyone reads their own vouchers; staff of the bureau read all
    "notify.list": frozenset(ROLES),  # everyone reads their own notifications; staff of the bureau read all
    "notify.mark_sent": frozenset({"admin"}),  # the sending adapter's act
    "read.all": frozenset({"reviewer", "approver", "finance", "auditor", "admin", "evaluator"}),
}


def allowed(roles: set[str], action: str) -> bool:
    return bool(roles & PERMISSIONS[action])


def roles_for(action: str) -> list[str]:
    return sorted(PERMISSIONS[action])
