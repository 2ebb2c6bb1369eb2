"""Typed settings, read from ``CROSSFORCE_*`` environment variables.

One ``Settings`` object describes where data lives and how the resolver behaves. The app, the CLI
and the tests all get it from :func:`get_settings`, so a value is read and validated in one place.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

import platformdirs
from pydantic import AliasChoices, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# Development only: a production start with this key is refused, so it can be public.
DEVELOPMENT_SECRET_KEY = "crossforce-development-key-not-for-production"  # noqa: S105 - public
MIN_PRODUCTION_SECRET_LENGTH = 32
# Development only, like the secret key: outside development CROSSFORCE_AUDIT_KEY must be set.
DEVELOPMENT_AUDIT_KEY = "crossforce-development-audit-key-not-for-production"


def default_data_dir() -> Path:
    """Return the per-user data directory used when ``CROSSFORCE_DATA_DIR`` is unset.

    An installed crossforce never writes into its own package or source tree: the database and
    caches go to the platform's user data directory (``~/.local/share/crossforce`` on Linux).
    ``make run`` and ``make test`` in a checkout set ``CROSSFORCE_DATA_DIR`` to its ``data/``.
    """
    return Path(platformdirs.user_data_dir("crossforce", appauthor=False))


class Settings(BaseSettings):
    """Crossforce settings; every field can be set as ``CROSSFORCE_<FIELD>`` in the environment.

    Attributes
    ----------
    env
        ``development`` (default), ``test`` or ``production``. Production refuses the development
        secret key.
    database_url
        SQLAlchemy URL of the database, e.g. ``postgresql+psycopg://user:pw@host/db``. Unset means a
        SQLite file ``<data_dir>/crossforce.db``; see :attr:`database_url_effective`.
    reference_dir
        A national reference pack (directory of ONS files) that ``crossforce init`` loads. Unset
        means the approximate London default built from the postcode directory.
    data_dir
        Where run-time files live (the default database, caches, logs). Defaults to the per-user
        data directory (:func:`default_data_dir`).
    near_boundary_m
        A point within this many metres of another force's area is flagged ``near_boundary``.
    nearest_max_m
        A point in no area is given the nearest district within this many metres, else none.
    secret_key
        Key for signing sessions; the default works only outside production.
    user
        The acting user of the CLI (``CROSSFORCE_USER``); written to the audit log.
    map_tile_url
        Optional XYZ tile URL (``{z}/{x}/{y}``) of a force's own tile server, drawn under the
        maps: ``CROSSFORCE_MAP_TILES`` (the older ``CROSSFORCE_MAP_TILE_URL`` still works).
        None by default, so maps work offline and fetch nothing.
    priority_weight_risk
        Joint review agenda priority (``coordination.review``): points for very high risk of
        serious harm; high earns 2/3 of it, medium 1/3, low none.
    priority_weight_mappa
        Agenda priority points for MAPPA level 3; level 2 earns 2/3, level 1 1/3, a case outside
        MAPPA none.
    priority_weight_ogrs3
        Agenda priority points for an OGRS3 two-year probability of 100% (the part is this times
        the probability; none when the score cannot be computed). Bounded at 20, below the
        default risk and MAPPA weights, because OGRS3 is one input and never decides alone.
    priority_weight_overdue
        Agenda priority points per day overdue: the longer of an open handoff past its deadline
        and a review past its due date.
    priority_overdue_cap_days
        Days overdue beyond this add no more points, so one long-forgotten case cannot swamp
        the agenda.
    agenda_size
        How many agenda items a joint meeting works through: the first this many in agenda order
        (by priority unless moved by hand) are the meeting's agenda; the rest are listed as "not
        reached" with their scores, in the page and the pack.
    idle_signout_minutes
        A signed-in page with no activity for this long signs its user out.
    lockout_attempts
        Failed sign-ins in a row after which an account is locked.
    lockout_minutes
        How long a locked account stays locked.
    min_password_length
        The shortest password accepted (``coordination.auth.set_password``).
    oidc_enabled
        Offer single sign-on through Streamlit's OIDC support (``st.login``); it also needs an
        ``[auth]`` section in ``.streamlit/secrets.toml`` (README, "Signing in").
    oidc_provider
        The named provider of ``[auth.<name>]`` to sign in with; unset means the ``[auth]``
        section's own provider.
    oidc_email_domain
        Single sign-on maps the identity's email ``name@<this domain>`` to the crossforce user
        ``name``; an email of another domain is refused. Required when ``oidc_enabled``.
    retention_years_after_closure
        Personal data of an offender whose cases are all closed is erased (``crossforce
        retention --apply``) once the latest closure is this many years old. Six by default:
        the review period of MOPI group 3 ("all other offences"); a force with a longer policy
        for its MAPPA or serious cases sets its own (``coordination.retention``).
    db_busy_timeout_s
        How long a write waits for another writer's lock (SQLite) before the person is told the
        database is busy and to try again.
    audit_key
        The secret that seals every audit event (HMAC-SHA256) and every checkpoint of the log's
        head. Kept outside the database, so rewriting the log needs both; production refuses to
        start without one (development and test use a public development key). Rotate it by
        moving the old one to ``audit_old_keys``.
    audit_old_keys
        Earlier audit keys, comma-separated, so events sealed before a rotation still verify.
    audit_checkpoint_dir
        Where the checkpoints of the audit log's head are kept (default ``<data_dir>/audit``):
        somewhere the database's administrators cannot write, ideally.
    audit_syslog
        Also send each checkpoint of the log's head to the system log (``/dev/log``).
    escalation_days
        Working days the sending force's supervisors have to resolve an escalation (a rejected
        handoff): ``CROSSFORCE_ESCALATION_DAYS``, default 5.
    upload_max_bytes
        Largest CSV/XLSX file accepted for resolving or importing: 20 MiB by default, the same
        as Streamlit's ``server.maxUploadSize`` (in MB) in ``.streamlit/config.toml``.
    """

    model_config = SettingsConfigDict(env_prefix="CROSSFORCE_", extra="ignore")

    env: Literal["development", "test", "production"] = "development"
    database_url: str | None = None
    reference_dir: Path | None = None
    data_dir: Path = Field(default_factory=default_data_dir)
    near_boundary_m: float = Field(default=100.0, gt=0)
    nearest_max_m: float = Field(default=2000.0, ge=0)
    secret_key: SecretStr = SecretStr(DEVELOPMENT_SECRET_KEY)
    user: str | None = None
    map_tile_url: str | None = Field(
        default=None,
        # CROSSFORCE_MAP_TILES is the documented name; CROSSFORCE_MAP_TILE_URL still works.
        validation_alias=AliasChoices(
            "CROSSFORCE_MAP_TILES", "CROSSFORCE_MAP_TILE_URL", "map_tiles", "map_tile_url"
        ),
    )
    priority_weight_risk: float = Field(default=30.0, ge=0)
    priority_weight_mappa: float = Field(default=30.0, ge=0)
    priority_weight_ogrs3: float = Field(default=20.0, ge=0, le=20)
    priority_weight_overdue: float = Field(default=1.0, ge=0)
    priority_overdue_cap_days: int = Field(default=30, ge=0)
    agenda_size: int = Field(default=40, ge=1, le=1000)
    escalation_days: int = Field(default=5, ge=1, le=60)
    idle_signout_minutes: int = Field(default=30, ge=1)
    lockout_attempts: int = Field(default=5, ge=1)
    lockout_minutes: int = Field(default=15, ge=1)
    min_password_length: int = Field(default=12, ge=8)
    oidc_enabled: bool = False
    oidc_provider: str | None = None
    oidc_email_domain: str | None = None
    retention_years_after_closure: int = Field(default=6, ge=1, le=100)
    upload_max_bytes: int = Field(default=20 * 1024 * 1024, gt=0)
    db_busy_timeout_s: float = Field(default=10.0, gt=0, le=120)
    audit_key: SecretStr | None = None
    audit_old_keys: SecretStr | None = None
    audit_checkpoint_dir: Path | None = None
    audit_syslog: bool = False

    @property
    def audit_keys(self) -> list[str]:
        """The audit key to seal with, then the earlier ones that still verify old events."""
        current = self.audit_key.get_secret_value() if self.audit_key else DEVELOPMENT_AUDIT_KEY
        old = self.audit_old_keys.get_secret_value() if self.audit_old_keys else ""
        return [current, *(k.strip() for k in old.split(",") if k.strip())]

    @model_validator(mode="after")
    def _refuse_weak_production_key(self) -> Settings:
        if self.env != "production":
            return self
        key = self.secret_key.get_secret_value()
        if key == DEVELOPMENT_SECRET_KEY:
            raise ValueError(
                "CROSSFORCE_SECRET_KEY must be set in production: the development key is public"
            )
        if len(key.strip()) < MIN_PRODUCTION_SECRET_LENGTH:
            raise ValueError(
                "CROSSFORCE_SECRET_KEY is too short for production: use at least "
                f"{MIN_PRODUCTION_SECRET_LENGTH} random characters"
            )
        return self

    @model_validator(mode="after")
    def _refuse_missing_audit_key(self) -> Settings:
        # As with the secret key, only production holds real records: development and test
        # (the suites) may use the public development key.
        if self.env != "production":
            return self
        key = self.audit_key.get_secret_value() if self.audit_key else ""
        if len(key.strip()) < MIN_PRODUCTION_SECRET_LENGTH:
            raise ValueError(
                "CROSSFORCE_AUDIT_KEY must be set in production (at least "
                f"{MIN_PRODUCTION_SECRET_LENGTH} random characters): it seals the audit log"
            )
        return self

    @property
    def database_url_effective(self) -> str:
        """The database URL to connect to: ``database_url``, else the SQLite file in data_dir."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.data_dir / 'crossforce.db'}"

    @property
    def audit_dir(self) -> Path:
        """Directory of the audit log's checkpoints."""
        return self.audit_checkpoint_dir or self.data_dir / "audit"

    @property
    def cache_dir(self) -> Path:
        """Directory of derived caches (postcode directory, prepared resolvers)."""
        return self.data_dir / "cache"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Return the process-wide settings, read from the environment once.

    Returns
    -------
    Settings
        Validated settings; a bad value raises ``pydantic.ValidationError`` naming the field.
    """
    return Settings()


def reset_settings_cache() -> None:
    """Forget the cached settings so the next :func:`get_settings` re-reads the environment."""
    get_settings.cache_clear()
