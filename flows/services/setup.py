"""`ipfund init`: schema, policy choice and the first admin."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import inspect
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from flows.services.users import create_user
from models import audit
from models.schema import create_schema
from models.tables import Setting, User
from rules.errors import RuleViolation
from rules.policy import load_policy


def is_initialised(engine: Engine) -> bool:
    return inspect(engine).has_table("setting")


def init(engine: Engine, session: Session, admin: str, policy_id: str) -> None:
    policy = load_policy(policy_id)  # validates before anything is written
    create_schema(engine)
    if session.exec(select(User)).first() is not None:
        raise RuleViolation("the database is already initialised (it has users); nothing was changed")
    # A policy given as a file (a second city's policy) is recorded by its absolute path: later commands
    # reload it with load_policy(), which only finds bare ids under rules/policies/.
    ref = str(Path(policy_id).resolve()) if Path(policy_id).suffix else policy.id
    session.add(Setting(key="policy_id", value=ref))
    audit.append(session, actor=admin, action="init", subject="ipfund",
                 payload={"policy": policy.id, "document": policy.document, "admin": admin})
    create_user(session, admin, admin, ["admin"], display_name=admin)
    from flows.services.context import sync_scheme_states

    sync_scheme_states(session, policy)
