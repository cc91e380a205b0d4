"""Secret values that never print: `***` in repr, str, logs and JSON dumps."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import GetCoreSchemaHandler
from pydantic_core import core_schema
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

__all__ = ["REDACTED", "SUPPORTED_DRIVERS", "Secret", "SecretUrl"]

REDACTED = "***"


class Secret:
    """A string that only `reveal()` gives back; every other rendering is redacted."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        """Return the secret itself, for the one call that needs it."""
        return self._value

    def display(self) -> str:
        """Return the form that is safe to print."""
        return REDACTED

    def __str__(self) -> str:
        return self.display()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.display()!r})"

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and other._value == self._value

    def __hash__(self) -> int:
        return hash((type(self), self._value))

    def __reduce__(self) -> tuple[Any, ...]:
        raise TypeError(f"{type(self).__name__} refuses to be pickled")

    @classmethod
    def __get_pydantic_core_schema__(cls, source: Any, handler: GetCoreSchemaHandler) -> core_schema.CoreSchema:
        """Validate from a non-empty string; serialize to the redacted form."""
        return core_schema.no_info_after_validator_function(
            cls._validate,
            core_schema.str_schema(min_length=1),
            serialization=core_schema.plain_serializer_function_ser_schema(lambda v: v.display()),
        )

    @classmethod
    def _validate(cls, value: str) -> Secret:
        return cls(value)


#: Database URL schemes netmon ships drivers and migrations for (sqlite3 and psycopg 3).
SUPPORTED_DRIVERS = frozenset({"sqlite", "sqlite+pysqlite", "postgresql", "postgresql+psycopg"})
#: libpq's sslmode values (PostgreSQL docs, libpq-connect "sslmode").
_SSLMODES = ("disable", "allow", "prefer", "require", "verify-ca", "verify-full")


class SecretUrl(Secret):
    """A database URL whose password is redacted when displayed."""

    __slots__ = ()

    def display(self) -> str:
        """Return the URL with the password replaced by `***`."""
        return make_url(self._value).render_as_string(hide_password=True)

    @classmethod
    def _validate(cls, value: str) -> Secret:
        try:
            url = make_url(value)
        except (ArgumentError, ValueError):  # ValueError: a port that is not a number, never echoed
            raise ValueError("not a database URL (expected e.g. sqlite:///var/netmon.db)") from None
        if value.partition("://")[2].count("@") > 1:
            # "user:P@ss@host", "user:P@ss/w0rd@host/db": SQLAlchemy and libpq split at the first "@", so
            # the rest of the password would be shown (check-config) as the host, the database or the
            # query, and sent to DNS (connection errors) as the host name
            raise ValueError("the user name or password holds '@': percent-encode it as %40")
        if url.drivername.split("+", 1)[0] == "postgres":
            # libpq, psql and many hosting panels write postgres://; SQLAlchemy dropped that name in 1.4
            scheme = "postgresql" + url.drivername.removeprefix("postgres")
            raise ValueError(
                f"unsupported database {url.drivername!r}: did you mean {scheme}://? "
                f"Write the same URL with {scheme}:// in front (netmon's database layer does not read postgres://)"
            )
        if url.drivername not in SUPPORTED_DRIVERS:
            # issue 15: mysql:// passed check-config, then `netmon run` died on a missing driver
            raise ValueError(
                f"unsupported database {url.drivername!r}: netmon runs on sqlite:///PATH or postgresql://HOST/DB"
            )
        if url.port is not None and not 1 <= url.port <= 65535:
            raise ValueError(f"port {url.port} is out of range (1-65535)")
        if url.drivername.startswith("postgresql"):
            _check_libpq_options(url.query)
        return cls(value)


def _check_libpq_options(query: Mapping[str, str | tuple[str, ...]]) -> None:
    """Refuse what libpq would refuse only when connecting: an unknown option, or an sslmode it lacks.

    The options are libpq's own (`psycopg.pq.Conninfo.get_defaults`); values are not echoed
    (`password`, `sslpassword`), except sslmode's, which is one of a few words.
    """
    from psycopg import pq  # noqa: PLC0415 (lazy: only a PostgreSQL URL needs libpq)

    known = {option.keyword.decode() for option in pq.Conninfo.get_defaults()}
    for name, value in query.items():
        if name not in known:
            raise ValueError(
                f"unknown PostgreSQL connection option {name!r} in the URL's query"
                " (libpq's options: https://www.postgresql.org/docs/current/libpq-connect.html)"
            )
        if name == "sslmode" and value not in _SSLMODES:
            shown = value if isinstance(value, str) else ",".join(value)
            raise ValueError(f"sslmode {shown!r} is not one of {', '.join(_SSLMODES)}")
