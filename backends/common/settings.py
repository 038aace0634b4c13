"""Reading settings from `STOREFRONT_*` variables: each variable's name and default declared once, on its field."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import MISSING, dataclass, field, fields
from pathlib import Path
from typing import Any, Self, TypeVar
from urllib.parse import urlsplit

from edge_config import RegionCatalogue, load_regions

ENV_PREFIX = "STOREFRONT_"
_DEV_TOKEN_PREFIX = "dev-"  # noqa: S105 - marks development defaults, not a secret
_KEY = "storefront.env"  # the field metadata entry that says how a field is read

Env = Mapping[str, str]
T = TypeVar("T")
N = TypeVar("N", int, float)


def integer(name: str, raw: str) -> int:
    try:
        return int(raw)
    except ValueError as exc:
        raise ValueError(f"{ENV_PREFIX}{name} must be an integer, got {raw!r}") from exc


def number(name: str, raw: str) -> float:
    try:
        return float(raw)
    except ValueError as exc:
        raise ValueError(f"{ENV_PREFIX}{name} must be a number, got {raw!r}") from exc


def bounded(parse: Callable[[str, str], N], low: N, high: N) -> Callable[[str, str], N]:
    """`parse`, refusing a value outside [low, high] with a message that names the variable and the range."""

    def check(name: str, raw: str) -> N:
        value = parse(name, raw)
        if not low <= value <= high:
            raise ValueError(f"{ENV_PREFIX}{name} must be between {low:g} and {high:g}, got {raw!r}")
        return value

    return check


def text(_name: str, raw: str) -> str:
    return raw


class _Unset:
    """A variable with no default value of its own (its `fallback` computes one)."""

    def __repr__(self) -> str:
        return "UNSET"


UNSET: Any = _Unset()

_PARSERS: dict[type, Callable[[str, str], Any]] = {int: integer, float: number, str: text}


def choice(*allowed: str) -> Callable[[str, str], str]:
    """A parser accepting one of `allowed` (any case), naming the variable and the choices otherwise."""

    def parse(name: str, raw: str) -> str:
        value = raw.strip().lower()
        if value not in allowed:
            raise ValueError(f"{ENV_PREFIX}{name} must be one of {', '.join(allowed)}, got {raw!r}")
        return value

    return parse


@dataclass(frozen=True, slots=True)
class Var:
    """One `STOREFRONT_{name}` variable: its default when unset (a value, or `fallback` computed from other
    variables) and how its text is read (`parse`; by default as the type of the default)."""

    name: str
    default: Any = UNSET
    parse: Callable[[str, str], Any] | None = None
    fallback: Callable[[Env], Any] | None = None

    def read(self, env: Env) -> Any:
        raw = env.get(ENV_PREFIX + self.name)
        if raw is None:
            return self.fallback(env) if self.fallback is not None else self.default
        parse = self.parse or (text if self.default is UNSET else _PARSERS[type(self.default)])
        return parse(self.name, raw)


@dataclass(frozen=True, slots=True)
class Derived:
    """A field with no variable of its own, computed from others (a service's view of a shared value)."""

    compute: Callable[[Env], Any]

    def read(self, env: Env) -> Any:
        return self.compute(env)


def setting(var: Var | str, default: Any = UNSET, *, parse: Callable[[str, str], Any] | None = None) -> Any:
    """A dataclass field read from `var` (or from a new `Var(var, default, parse)`); its default is the variable's,
    so constructing the dataclass directly and reading it from an empty environment agree."""
    if isinstance(var, Var) and (default is not UNSET or parse is not None):
        raise TypeError(f"{var.name}: a declared Var carries its own default and parser")
    var = var if isinstance(var, Var) else Var(var, default, parse)
    if var.default is UNSET or var.fallback is not None:
        return field(metadata={_KEY: var})
    return field(default=var.default, metadata={_KEY: var})


def required(var: Var) -> Any:
    """A field read from `var` that a direct construction must pass: a secret's development default stands for an
    unset variable only, never for code that forgot to pass one."""
    return field(metadata={_KEY: var})


def derived(
    compute: Callable[[Env], Any], *, default: Any = MISSING, default_factory: Callable[[], Any] | Any = MISSING
) -> Any:
    """A field computed from other variables when read from the environment (`default` or `default_factory`
    for a direct construction)."""
    return field(default=default, default_factory=default_factory, metadata={_KEY: Derived(compute)})


def read_env(cls: type[T], env: Env) -> T:
    """An instance of the dataclass `cls` with every field that declares a variable read from `env`."""
    values = {f.name: f.metadata[_KEY].read(env) for f in fields(cls) if _KEY in f.metadata}  # type: ignore[arg-type]
    return cls(**values)


def declared_vars(cls: type) -> list[Var]:
    """The variables the dataclass `cls` reads itself (not those its derived fields consult)."""
    return [source for f in fields(cls) if isinstance(source := f.metadata.get(_KEY), Var)]


# Shared by several services, so declared here once.
DATA_DIR = Var("DATA_DIR", parse=lambda _n, raw: Path(raw).resolve(), fallback=lambda _env: Path("var").resolve())
EDGE_NODES = Var("EDGE_NODES", 1, parse=bounded(integer, 1, 8))


@dataclass(frozen=True, slots=True)
class _RegionsVar(Var):
    """The region catalogue from its file, with each Varnish edge run as `EDGE_NODES` nodes: every service reads
    it so, and `up` starts, the invalidator purges and the origin trusts the same nodes."""

    def read(self, env: Env) -> Any:
        return load_regions(env.get(ENV_PREFIX + self.name) or None).with_edge_nodes(EDGE_NODES.read(env))


REGIONS_FILE = _RegionsVar("REGIONS_FILE")
ECHO_SQL = Var("ECHO_SQL", False, parse=lambda _n, raw: raw == "1")
DATABASE_URL = Var("DATABASE_URL", "")  # one database for every backend; empty: one SQLite file per service
ADMIN_TOKEN = Var("ADMIN_TOKEN", f"{_DEV_TOKEN_PREFIX}admin-token")
EDITOR_TOKEN = Var("EDITOR_TOKEN", f"{_DEV_TOKEN_PREFIX}editor-token")
PREVIEW_TOKEN = Var("PREVIEW_TOKEN", f"{_DEV_TOKEN_PREFIX}preview-token")
WEBHOOK_SECRET = Var("WEBHOOK_SECRET", f"{_DEV_TOKEN_PREFIX}webhook-secret")
SECRET_KEY = Var("SECRET_KEY", f"{_DEV_TOKEN_PREFIX}secret-key")
ORIGIN_URL = Var("ORIGIN_URL", "http://127.0.0.1:8000")
CATALOG_URL = Var("CATALOG_URL", "http://127.0.0.1:8101")
PRICING_URL = Var("PRICING_URL", "http://127.0.0.1:8102")
CMS_URL = Var("CMS_URL", "http://127.0.0.1:8103")
CHECKOUT_URL = Var("CHECKOUT_URL", "http://127.0.0.1:8104")
INVALIDATOR_URL = Var("INVALIDATOR_URL", "http://127.0.0.1:8105")
ENV = Var("ENV", "development")
# How every service logs and traces (`backends.common.logs`, `backends.common.traces`).
LOG_LEVEL = Var("LOG_LEVEL", "info", parse=choice("debug", "info", "warning", "error", "critical"))
LOG_FORMAT = Var("LOG_FORMAT", "auto", parse=choice("auto", "json", "text"))
TRACES = Var("TRACES", "off", parse=choice("off", "console", "otlp"))
OTLP_ENDPOINT = Var("OTLP_ENDPOINT", "http://127.0.0.1:4318/v1/traces")
TRACE_SAMPLE = Var("TRACE_SAMPLE", 1.0, parse=bounded(number, 0.0, 1.0))


_SECRETS = (ADMIN_TOKEN, EDITOR_TOKEN, PREVIEW_TOKEN, WEBHOOK_SECRET, SECRET_KEY)


def secret_values(env: Env) -> list[str]:
    """The tokens and secrets in force, for the log redaction filter to scrub wherever they appear."""
    return [value for var in _SECRETS if (value := var.read(env))]


def database_url(service: str) -> Var:
    """`STOREFRONT_{SERVICE}_DATABASE_URL`: by default the shared database, else the service's SQLite file."""
    return Var(
        f"{service.upper()}_DATABASE_URL",
        fallback=lambda env: DATABASE_URL.read(env) or f"sqlite+aiosqlite:///{DATA_DIR.read(env) / f'{service}.db'}",
    )


DATABASE_REPLICA_URL = Var("DATABASE_REPLICA_URL", "")  # a streaming replica of DATABASE_URL; empty: none
REPLICA_MAX_LAG = Var("REPLICA_MAX_LAG", 5.0)


def database_replica_url(service: str) -> Var:
    """`STOREFRONT_{SERVICE}_DATABASE_REPLICA_URL`: by default the shared database's replica, if any."""
    return Var(f"{service.upper()}_DATABASE_REPLICA_URL", fallback=DATABASE_REPLICA_URL.read)


_WORKER_COUNT = bounded(integer, 1, 64)
WORKERS = Var("WORKERS", 1, parse=_WORKER_COUNT)


def workers(service: str) -> Var:
    """`STOREFRONT_{SERVICE}_WORKERS`: how many processes serve it (by default `STOREFRONT_WORKERS`, 1)."""
    return Var(f"{service.upper()}_WORKERS", parse=_WORKER_COUNT, fallback=WORKERS.read)


def refuse_development_secrets(env: Env) -> None:
    """With STOREFRONT_ENV=production, no service starts on a development default, an unset or a short secret."""
    if ENV.read(env).lower() != "production":
        return
    weak = [
        ENV_PREFIX + var.name
        for var in _SECRETS
        if len(env.get(ENV_PREFIX + var.name, "")) < 16
        or env.get(ENV_PREFIX + var.name, "").startswith(_DEV_TOKEN_PREFIX)
    ]
    if weak:
        raise ValueError(
            f"STOREFRONT_ENV=production refuses development or missing secrets: set {', '.join(weak)} "
            "to random values of at least 16 characters (not starting with 'dev-')"
        )


class FromEnv:
    """Gives a settings dataclass `from_env`: its fields read once, after the production check of secrets."""

    __slots__ = ()

    @classmethod
    def from_env(cls, env: Env | None = None) -> Self:
        env = os.environ if env is None else env
        refuse_development_secrets(env)
        return read_env(cls, env)


class Observed:
    """How a service logs and traces: fields every service's settings declare from `LOG_LEVEL`, `LOG_FORMAT`,
    `TRACES`, `OTLP_ENDPOINT` and `TRACE_SAMPLE`."""

    __slots__ = ()
    log_level: str
    log_format: str
    traces: str
    otlp_endpoint: str
    trace_sample: float
    # Given by code, never by a variable: tests hand in an in-memory exporter, whatever `traces` says.
    span_exporter: Any


class Listening:
    """Where a service listens, from its `url` field."""

    __slots__ = ()
    url: str

    @property
    def host(self) -> str:
        return urlsplit(self.url).hostname or "127.0.0.1"

    @property
    def port(self) -> int:
        return urlsplit(self.url).port or 80


@dataclass(frozen=True, slots=True, kw_only=True)
class ServiceSettings(FromEnv, Listening, Observed):
    """What every backend needs: where it listens, its database, its tokens; each service names its own
    `name`, `url` and `database_url` fields."""

    name: str
    url: str
    database_url: str
    # Public reads go to this replica while it keeps up (`backends/common/replica.py`); services whose every read
    # must see their own writes (checkout) declare no variable for it.
    database_replica_url: str = ""
    replica_max_lag: float = setting(REPLICA_MAX_LAG)
    admin_token: str = required(ADMIN_TOKEN)
    regions: RegionCatalogue = setting(REGIONS_FILE)
    echo_sql: bool = setting(ECHO_SQL)
    log_level: str = setting(LOG_LEVEL)
    log_format: str = setting(LOG_FORMAT)
    traces: str = setting(TRACES)
    otlp_endpoint: str = setting(OTLP_ENDPOINT)
    trace_sample: float = setting(TRACE_SAMPLE)
    span_exporter: Any = field(default=None, compare=False)
