"""The web desk (flows/desk): desk passwords, server-side sessions and the sign-in log.

* user_password: a user's argon2id hash (PHC string), when and by whom it was set;
* desk_session: the sha256 of a browser's session token (never the token), its CSRF token, created,
  expires, last seen, ended (with why: signed_out);
* desk_sign_in: every sign-in attempt with its outcome (ok, bad_password, unknown_user, no_password,
  locked_out: the failure that locked the name, locked: a try while locked), what the lock-out counts.

Revision ID: 0019_desk_sessions
Revises: 0018_pledge_loans
"""
import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0019_desk_sessions"
down_revision = "0018_pledge_loans"
branch_labels = None
depends_on = None

_OUTCOMES = ("ok", "bad_password", "unknown_user", "no_password", "locked_out", "locked")


def upgrade() -> None:
    s = sqlmodel.sql.sqltypes.AutoString
    op.create_table(
        "user_password",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("hash", s(length=255), nullable=False),
        sa.Column("set_at", s(length=32), nullable=False),
        sa.Column("set_by", s(length=64), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["app_user.id"]),
        sa.PrimaryKeyConstraint("user_id"),
    )
    op.create_table(
        "desk_session",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_sha256", s(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("csrf_token", s(length=64), nullable=False),
        sa.Column("created_at", s(length=32), nullable=False),
        sa.Column("expires_at", s(length=32), nullable=False),
        sa.Column("last_seen_at", s(length=32), nullable=False),
        sa.Column("ended_at", s(length=32), nullable=True),
        sa.Column("ended_why", s(length=16), nullable=True),
        sa.CheckConstraint("expires_at > created_at", name="desk_session_expires_after_created"),
        sa.CheckConstraint("(ended_at IS NULL) = (ended_why IS NULL)", name="desk_session_ended_with_why"),
        sa.ForeignKeyConstraint(["user_id"], ["app_user.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_sha256"),
    )
    op.create_index("ix_desk_session_user_id", "desk_session", ["user_id"])
    op.create_table(
        "desk_sign_in",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", s(length=64), nullable=False),
        sa.Column("at", s(length=32), nullable=False),
        sa.Column("outcome", s(length=16), nullable=False),
        sa.Column("remote", s(length=64), nullable=True),
        sa.CheckConstraint("outcome IN (" + ", ".join(repr(o) for o in _OUTCOMES) + ")",
                           name="desk_sign_in_outcome_valid"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_desk_sign_in_name_at", "desk_sign_in", ["name", "at"])


def downgrade() -> None:
    op.drop_index("ix_desk_sign_in_name_at", table_name="desk_sign_in")
    op.drop_table("desk_sign_in")
    op.drop_index("ix_desk_session_user_id", table_name="desk_session")
    op.drop_table("desk_session")
    op.drop_table("user_password")
