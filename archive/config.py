"""Settings, from ``TEMOIN_*`` environment variables with documented defaults.

Every setting lives here; nothing else reads the environment. Paths default to
locations under the data directory so that one directory holds an archive.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

#: (variable, default as documented, meaning) — rendered into the README table.
DOCUMENTED = (
    ("TEMOIN_DATA_DIR", "./data", "where the archive keeps its database, blobs, indexes and keys"),
    (
        "TEMOIN_DATABASE_URL",
        "sqlite:///$TEMOIN_DATA_DIR/temoin.db",
        "SQLAlchemy URL (SQLite or postgresql+psycopg://)",
    ),
    ("TEMOIN_SECRET_KEY", "generated into $TEMOIN_DATA_DIR/secret_key", "Flask secret key"),
    (
        "TEMOIN_SIGNING_KEY_FILE",
        "$TEMOIN_DATA_DIR/keys/archive-signing.pem",
        "the archive's Ed25519 signing key (PKCS#8 PEM)",
    ),
    ("TEMOIN_SIGNING_KEY_PASSPHRASE", "(none)", "passphrase that encrypts the signing key at rest"),
    (
        "TEMOIN_VAULT_KEY_FILE",
        "$TEMOIN_DATA_DIR/keys/vault.json",
        "AES-256-GCM keys of the identity vault",
    ),
    ("TEMOIN_BLOB_DIR", "$TEMOIN_DATA_DIR/blobs", "content-addressed originals"),
    ("TEMOIN_INDEX_DIR", "$TEMOIN_DATA_DIR/index", "search indexes (public/ and restricted/)"),
    (
        "TEMOIN_PUBLIC_BASE_URL",
        "http://127.0.0.1:5000",
        "the address the public reaches the archive at",
    ),
    (
        "TEMOIN_LOG_ORIGIN",
        "temoin.local/log",
        "origin line of checkpoints and name of the signing key",
    ),
    ("TEMOIN_LOG_LEVEL", "INFO", "logging level of the service and CLI"),
    (
        "TEMOIN_INDEX_MODE",
        "async",
        "`async`: requests never wait for the index; `sync`: index before answering",
    ),
    (
        "TEMOIN_SEARCH_BACKEND",
        "whoosh",
        "`whoosh` (embedded) or `postgres` (tables in the PostgreSQL database, "
        "shared by every application server)",
    ),
    (
        "TEMOIN_SESSION_COOKIE_SECURE",
        "auto",
        "send the web session cookie over HTTPS only: `auto` (when TEMOIN_PUBLIC_BASE_URL "
        "is https), `true` or `false` (plain-HTTP local use)",
    ),
    (
        "TEMOIN_SESSION_LIFETIME_MINUTES",
        "720",
        "a web session ends this long after sign-in, however active",
    ),
    (
        "TEMOIN_SESSION_IDLE_MINUTES",
        "30",
        "a web session ends after this long without a request",
    ),
    (
        "TEMOIN_RATELIMIT_STORAGE_URI",
        "memory://",
        "where sign-in rate limits are counted (Flask-Limiter storage URI, e.g. "
        "`redis://host:6379` to share them between servers)",
    ),
    (
        "TEMOIN_LOGIN_IP_LIMIT",
        "10 per minute;100 per hour",
        "failed sign-ins allowed from one address",
    ),
    (
        "TEMOIN_LOGIN_ACCOUNT_LIMIT",
        "20 per hour",
        "failed sign-ins allowed for one account name",
    ),
    (
        "TEMOIN_LOGIN_LOCKOUT_FAILURES",
        "5",
        "consecutive failed sign-ins (password or code) that lock an account name",
    ),
    (
        "TEMOIN_LOGIN_LOCKOUT_MINUTES",
        "15",
        "how long a locked account name stays locked (kept in the database)",
    ),
    (
        "TEMOIN_PROXY_COUNT",
        "0",
        "reverse proxies in front of the archive whose X-Forwarded-For/-Proto to trust",
    ),
)


def _env(environ: dict[str, str], name: str) -> str | None:
    value = environ.get(name)
    return value if value not in (None, "") else None


def _flag(environ: dict[str, str], name: str) -> bool | None:
    """`true`/`false` (and the usual spellings); unset or `auto`: None, decided elsewhere."""
    value = (_env(environ, name) or "auto").strip().lower()
    if value == "auto":
        return None
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise ValueError(f"{name} must be auto, true or false, not {value!r}")


def _count(environ: dict[str, str], name: str, default: int, *, minimum: int = 1) -> int:
    value = _env(environ, name)
    if value is None:
        return default
    try:
        number = int(value)
    except ValueError:
        raise ValueError(f"{name} must be a whole number, not {value!r}") from None
    if number < minimum:
        raise ValueError(f"{name} must be at least {minimum}, not {number}")
    return number


@dataclass(frozen=True, kw_only=True)
class Settings:
    data_dir: Path
    database_url: str
    secret_key: str | None = None
    signing_key_file: Path
    signing_key_passphrase: bytes | None = None
    vault_key_file: Path
    blob_dir: Path
    index_dir: Path
    public_base_url: str = "http://127.0.0.1:5000"
    log_origin: str = "temoin.local/log"
    log_level: str = "INFO"
    search_backend: str = "whoosh"
    index_mode: str = "async"
    session_cookie_secure: bool | None = None
    session_lifetime_minutes: int = 720
    session_idle_minutes: int = 30
    ratelimit_storage_uri: str = "memory://"
    login_ip_limit: str = "10 per minute;100 per hour"
    login_account_limit: str = "20 per hour"
    login_lockout_failures: int = 5
    login_lockout_minutes: int = 15
    proxy_count: int = 0
    testing: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None, **overrides: Any) -> Settings:
        env = dict(os.environ if environ is None else environ)
        data_dir = Path(overrides.pop("data_dir", None) or _env(env, "TEMOIN_DATA_DIR") or "data")
        data_dir = data_dir.expanduser().resolve()
        passphrase = _env(env, "TEMOIN_SIGNING_KEY_PASSPHRASE")
        values: dict[str, Any] = {
            "data_dir": data_dir,
            "database_url": _env(env, "TEMOIN_DATABASE_URL")
            or f"sqlite:///{data_dir / 'temoin.db'}",
            "secret_key": _env(env, "TEMOIN_SECRET_KEY"),
            "signing_key_file": Path(
                _env(env, "TEMOIN_SIGNING_KEY_FILE") or data_dir / "keys" / "archive-signing.pem"
            ),
            "signing_key_passphrase": passphrase.encode() if passphrase else None,
            "vault_key_file": Path(
                _env(env, "TEMOIN_VAULT_KEY_FILE") or data_dir / "keys" / "vault.json"
            ),
            "blob_dir": Path(_env(env, "TEMOIN_BLOB_DIR") or data_dir / "blobs"),
            "index_dir": Path(_env(env, "TEMOIN_INDEX_DIR") or data_dir / "index"),
            "public_base_url": _env(env, "TEMOIN_PUBLIC_BASE_URL") or "http://127.0.0.1:5000",
            "log_origin": _env(env, "TEMOIN_LOG_ORIGIN") or "temoin.local/log",
            "log_level": (_env(env, "TEMOIN_LOG_LEVEL") or "INFO").upper(),
            "search_backend": (_env(env, "TEMOIN_SEARCH_BACKEND") or "whoosh").lower(),
            "index_mode": (_env(env, "TEMOIN_INDEX_MODE") or "async").lower(),
            "session_cookie_secure": _flag(env, "TEMOIN_SESSION_COOKIE_SECURE"),
            "session_lifetime_minutes": _count(env, "TEMOIN_SESSION_LIFETIME_MINUTES", 720),
            "session_idle_minutes": _count(env, "TEMOIN_SESSION_IDLE_MINUTES", 30),
            "ratelimit_storage_uri": _env(env, "TEMOIN_RATELIMIT_STORAGE_URI") or "memory://",
            "login_ip_limit": _env(env, "TEMOIN_LOGIN_IP_LIMIT") or "10 per minute;100 per hour",
            "login_account_limit": _env(env, "TEMOIN_LOGIN_ACCOUNT_LIMIT") or "20 per hour",
            "login_lockout_failures": _count(env, "TEMOIN_LOGIN_LOCKOUT_FAILURES", 5),
            "login_lockout_minutes": _count(env, "TEMOIN_LOGIN_LOCKOUT_MINUTES", 15),
            "proxy_count": _count(env, "TEMOIN_PROXY_COUNT", 0, minimum=0),
        }
        values.update(overrides)
        return cls(**values)

    def with_changes(self, **changes: Any) -> Settings:
        return replace(self, **changes)

    @property
    def secret_key_file(self) -> Path:
        return self.data_dir / "secret_key"

    @property
    def secure_cookies(self) -> bool:
        """Session cookies over HTTPS only: as configured, else when the public URL is https."""
        if self.session_cookie_secure is not None:
            return self.session_cookie_secure
        return self.public_base_url.lower().startswith("https://")

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")
