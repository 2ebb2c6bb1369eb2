"""Users: the people who sign in, their force, BCU and role."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any, Literal

import sqlalchemy as sa
from pydantic import field_validator
from sqlmodel import AutoString, Field, SQLModel

from coordination.core.clock import utcnow
from coordination.models._types import UTCDateTime

Role = Literal["offender_manager", "supervisor", "analyst", "admin"]
ROLES: tuple[str, ...] = ("offender_manager", "supervisor", "analyst", "admin")

_USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")


# --- User ------------------------------------------------------------------------------------


class UserBase(SQLModel):
    """A person who uses crossforce."""

    username: str
    display_name: str
    force_code: str
    role: Role = Field(sa_type=AutoString)
    bcu_code: str | None = None
    team: str | None = None
    active: bool = True


class UserCreate(UserBase):
    """A new user; the username is normalised to lower case."""

    @field_validator("username", mode="before")
    @classmethod
    def _normalise_username(cls, value: Any) -> Any:
        if not isinstance(value, str):
            return value
        username = value.strip().lower()
        if not _USERNAME.match(username):
            raise ValueError(
                "a username is 1-64 characters: letters, digits, '.', '_' or '-', "
                "starting with a letter or digit"
            )
        return username

    @field_validator("display_name", "force_code")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        printable = value.isprintable()  # before stripping: a trailing line break is refused
        value = value.strip()
        if not value:
            raise ValueError("must not be empty")
        if len(value) > 100 or not printable:
            raise ValueError("must be one line of plain text, at most 100 characters")
        return value

    @field_validator("bcu_code", "team")
    @classmethod
    def _plain_or_none(cls, value: str | None) -> str | None:
        if value is None:
            return None
        printable = value.isprintable()
        value = value.strip()
        if len(value) > 100 or not printable:
            raise ValueError("must be one line of plain text, at most 100 characters")
        return value or None


class User(UserBase, table=True):
    """The user table. Usernames are stored lower-case (a check constraint holds it).

    Sign-in fields: an argon2id ``password_hash`` (None: cannot sign in with a password, e.g.
    single sign-on only), failed attempts and a lock-out time, and ``is_demo`` for the demo
    accounts of development mode (never created in production).
    """

    __tablename__ = "users"
    __table_args__ = (
        sa.UniqueConstraint("username", name="uq_users_username"),
        sa.ForeignKeyConstraint(["force_code"], ["force.code"], name="fk_users_force"),
        sa.CheckConstraint("username = lower(username)", name="ck_users_username_lower"),
        sa.CheckConstraint(
            "role IN ('offender_manager', 'supervisor', 'analyst', 'admin')",
            name="ck_users_role",
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    password_hash: str | None = None
    password_changed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    failed_logins: int = 0
    locked_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_login_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    is_demo: bool = False


class UserPublic(UserBase):
    """A user as services return it."""

    id: int
    created_at: datetime


# --- Sign-in throttle and API tokens ---------------------------------------------------------


class SignInThrottle(SQLModel, table=True):
    """Failed sign-ins under a name that has no account, counted like an account's.

    An unknown name is locked out after the same number of failures as a real one, so the answers
    ("Wrong username or password", then "Account locked until …") never tell a guesser which
    names exist.
    """

    __tablename__ = "sign_in_throttle"

    username: str = Field(primary_key=True, max_length=64)
    failed_logins: int = 0
    locked_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class ApiToken(SQLModel, table=True):
    """A personal API token for the command line (``CROSSFORCE_TOKEN``), stored only hashed."""

    __tablename__ = "api_token"
    __table_args__ = (
        sa.UniqueConstraint("token_hash", name="uq_api_token_hash"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name="fk_api_token_user"),
    )

    id: int | None = Field(default=None, primary_key=True)
    user_id: int
    name: str
    #: The first characters of the token, to tell tokens apart in lists (not enough to use one).
    prefix: str
    #: SHA-256 of the whole token (tokens are long random strings: no slow hash is needed).
    token_hash: str
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class ApiTokenPublic(SQLModel):
    """A token as listed: never the token itself."""

    id: int
    user_id: int
    name: str
    prefix: str
    created_at: datetime
    expires_at: datetime
    revoked_at: datetime | None
    last_used_at: datetime | None
