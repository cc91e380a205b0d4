"""One device's SNMP requests over one session: retries, the walk, and the one error translation.

`Exchange.call` is the one place where the clients' exceptions become a poll status: gufo's,
and `netmon.pollers.snmpctx`'s (gufo's types, or `ContextError` carrying the agent's error).
Used by `netmon.pollers.snmp.SnmpPoller`; messages name the step (an OID), never a secret.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, TypeVar

from gufo.snmp import NoSuchInstance, SnmpAuthError, SnmpDecodeError, SnmpError, ValueType
from gufo.snmp.aio.client import SnmpSession

from netmon.kernel import Status
from netmon.pollers.ifmib import IF_COLUMNS, IF_DESCR
from netmon.pollers.snmptext import decode_text
from netmon.pollers.snmpwalk import note_progress, walk_column

if TYPE_CHECKING:
    from netmon.pollers.snmpctx import ContextSession

    Session = SnmpSession | ContextSession

__all__ = ["HR_STORAGE_DESCR", "NUMBER_REPETITIONS", "Exchange", "StepError"]

_T = TypeVar("_T")

HR_STORAGE_DESCR = "1.3.6.1.2.1.25.2.3.1.3"

_STOPS = {
    "not_increasing": "OID not increasing",
    "requests": "request limit reached",
    "rows": "row limit reached",
    "time": "time limit reached",
}


#: Rows per GETBULK, sized so that a reply stays under gufo's limits: it announces a
#: 2048-byte msgMaxSize on v3 (a larger reply ends the walk silently) and receives at most
#: 4080 bytes. A reply one row longer than the table ends the walk in one request, so numeric
#: columns of a 48-port switch take one request each. Text columns can hold long strings.
_REPETITIONS = {  # column: (v1/v2c, v3)
    IF_COLUMNS["name"]: (40, 25),
    IF_COLUMNS["alias"]: (20, 12),
    IF_DESCR: (20, 12),
    HR_STORAGE_DESCR: (20, 12),
}
NUMBER_REPETITIONS = (60, 45)


class StepError(Exception):
    """A poll step failed; carries the status and a message without secrets."""

    def __init__(self, status: Status, message: str) -> None:
        super().__init__(message)
        self.status = status


def _repetitions(column: str, *, v3: bool) -> int:
    return _REPETITIONS.get(column, NUMBER_REPETITIONS)[1 if v3 else 0]


def _snmp_error(exc: SnmpError, where: str) -> StepError:
    status = getattr(exc, "status", None)  # snmpctx.ContextError: the agent's own error, never a secret
    if isinstance(status, Status):
        return StepError(status, f"{exc}{where}")
    return StepError(Status.ERROR, f"SNMP error{where}: {type(exc).__name__}")


class Exchange:
    """Requests to one device over one session, retried on timeout with a fresh socket."""

    def __init__(
        self,
        factory: Callable[[], Session],
        retries: int,
        *,
        version: str,
        text: str,
        context: str = "",
        bulk_caps: dict[str, int] | None = None,
    ) -> None:
        self._factory = factory
        #: By column: the max-repetitions this device's agent last answered with after refusing or
        #: cutting a larger GETBULK (tooBig, genErr, a datagram cut at the buffer). Walks start there,
        #: so the halving is not paid again at every poll. The caller keeps the dict between polls.
        self.bulk_caps = bulk_caps if bulk_caps is not None else {}
        self._retries = retries
        self._session: Session | None = None
        self._context = context
        self.v1 = version == "1"
        self.v3 = version == "3"
        self.fallback = text
        self.notes: list[str] = []

    def text(self, value: ValueType) -> str:
        """Decode an OCTET STRING with this profile's fallback codec (`decode_text`)."""
        return decode_text(value, self.fallback)

    @staticmethod
    async def start(session: Session) -> None:
        """Discover the v3 engine and localize keys (a no-op on v1/v2c)."""
        await session.refresh()

    async def call(self, request: Callable[[Session], Awaitable[_T]], step: str = "") -> _T:
        """Run one request; retry timeouts on a new session so late replies cannot be mistaken.

        Raises:
            StepError: the status and a message naming *step* (an OID), without secrets.
        """
        where = f" ({step})" if step else ""
        for attempt in range(self._retries + 1):
            try:
                if self._session is None:  # first use, or a retry: a new socket, so late replies cannot match
                    self._session = self._factory()
                    if attempt:
                        await self._session.refresh()
                result = await request(self._session)
            except TimeoutError as exc:
                if "refused" in str(exc.__cause__ or exc):
                    raise StepError(Status.REFUSED, "connection refused: no SNMP agent listens on that port") from exc
                if attempt == self._retries:
                    # a reply from another source address is not heard: the socket is connected
                    # to the polled address (docs/monitoring.md, "Replies from another address")
                    raise await self._no_reply(attempt + 1, where) from exc
                self._session = None
            except NoSuchInstance as exc:
                raise StepError(Status.NO_SUCH_OBJECT, f"no such object{where}") from exc
            except SnmpAuthError as exc:  # gufo: a USM report or an authorizationError alike
                raise StepError(
                    Status.AUTH_FAILED, "SNMPv3 authentication failed or access denied (user, keys, protocols or view)"
                ) from exc
            except SnmpDecodeError as exc:
                raise StepError(Status.BAD_REPLY, f"the reply could not be decoded{where}") from exc
            except SnmpError as exc:
                raise _snmp_error(exc, where) from exc
            except OSError as exc:
                raise StepError(Status.UNREACHABLE, exc.strerror or type(exc).__name__) from exc
            else:
                note_progress()
                return result
        raise AssertionError("unreachable")  # pragma: no cover

    async def _no_reply(self, attempts: int, where: str) -> StepError:
        """Return the error for a request that got no reply; in a context, tell an unknown context apart.

        An SNMPv3 agent drops a request for a context it does not serve, without a word
        (RFC 3413 3.2 step 5; it counts snmpUnknownContexts): when the same credentials get any
        answer in the default context, the agent is up and the context is the fault.
        """
        message = f"no reply after {attempts} attempts{where}"
        if not self._context:
            return StepError(Status.TIMEOUT, message)
        probe = self._factory()
        if getattr(probe, "answers_default_context", None) and await probe.answers_default_context():  # type: ignore[union-attr]
            return StepError(
                Status.ERROR,
                f"{message} in context {self._context!r}, but the agent answers in the default context: "
                "it does not serve that context (an agent drops requests for an unknown context, RFC 3413 3.2)",
            )
        return StepError(Status.TIMEOUT, f"{message} in context {self._context!r}")

    async def get(self, oid: str) -> ValueType:
        """GET one OID; None when the agent has no such object (v1 noSuchName, v2c noSuchObject/Instance)."""
        try:
            return await self.call(lambda s: s.get(oid), oid)
        except StepError as exc:
            if exc.status is Status.NO_SUCH_OBJECT:
                return None
            raise

    async def walk(self, column: str) -> dict[int, ValueType]:
        """Walk one table column (GETBULK, or GETNEXT on v1), bounded (`walk_column`); values by last sub-identifier.

        A walk cut short (OID not increasing, a limit) keeps its rows and adds a line to `notes`.
        """
        wanted = 0 if self.v1 else _repetitions(column, v3=self.v3)
        repetitions = min(wanted, self.bulk_caps.get(column, wanted))
        walk = await self.call(lambda s: walk_column(s, column, repetitions=repetitions, bulk=not self.v1), column)
        if walk.repetitions < repetitions:
            self.bulk_caps[column] = walk.repetitions
        if walk.stop in _STOPS:
            self.notes.append(f"{column}: {_STOPS[walk.stop]} after {len(walk.rows)} rows, {walk.requests} requests")
        return walk.rows
