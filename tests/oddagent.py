"""A tiny SNMPv1/v2c agent for what snmpd and snmpsim cannot be made to do (issue 13).

Behaviours:
- ``normal``: answers GET, GETNEXT and GETBULK from its table, endOfMibView past the end;
- ``loop``: answers every GETNEXT/GETBULK inside a column with the column's first rows again,
  so the OIDs never increase (a real agent bug: 132,769 requests in 90 s);
- ``endless``: every column goes on forever (row N+1 after row N), to test the walk bounds;
- ``elsewhere``: answers from another source address (a multi-homed router's loopback).

Any behaviour can also answer a GET of more than ``max_get`` varbinds with tooBig (RFC 3416
4.2.1: the agent cannot fit the reply), refuse a GETBULK of more than ``max_bulk`` repetitions
with error-status ``bulk_error`` and no varbinds (old agents answer tooBig(1) or genErr(5)
where RFC 3416 4.2.3 wants fewer rows), and have its table replaced while it runs (`set_table`:
an interface added, removed or renamed between two polls).

It runs in a thread with its own socket (so a test may run snmpwalk synchronously while it
answers), encodes with pysnmp's message API, and stops within a bounded time on `stop()`.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pyasn1.codec.ber import decoder, encoder
from pysnmp.proto import api

SYSTEM: dict[tuple[int, ...], Any] = {
    (1, 3, 6, 1, 2, 1, 1, 1, 0): "odd agent",
    (1, 3, 6, 1, 2, 1, 1, 2, 0): (1, 3, 6, 1, 4, 1, 8072, 3, 2, 10),
    (1, 3, 6, 1, 2, 1, 1, 3, 0): 4242,
    (1, 3, 6, 1, 2, 1, 1, 5, 0): "odd-agent",
}
OPER_STATUS = (1, 3, 6, 1, 2, 1, 2, 2, 1, 8)
IF_NAME = (1, 3, 6, 1, 2, 1, 31, 1, 1, 1, 1)
IF_ALIAS = (1, 3, 6, 1, 2, 1, 31, 1, 1, 1, 18)
IF_NUMBER = (1, 3, 6, 1, 2, 1, 2, 1, 0)
SYS_UPTIME = (1, 3, 6, 1, 2, 1, 1, 3, 0)

Oid = tuple[int, ...]


@dataclass(frozen=True)
class Typed:
    """A table value of an SMI application type: *tag* names pysnmp's class (Counter32, Counter64, Gauge32...)."""

    tag: str
    value: int


def interface_table(
    count: int, alias_length: int = 0, *, indexes: list[int] | None = None, if_number: bool = False
) -> dict[Oid, Any]:
    """ifOperStatus and ifName (and ifAlias of *alias_length* characters) for ifIndex 1..count.

    *indexes* replaces 1..count; *if_number* adds ifNumber.0, the number of rows.
    """
    table: dict[Oid, Any] = {}
    rows = indexes if indexes is not None else list(range(1, count + 1))
    if if_number:
        table[IF_NUMBER] = len(rows)
    for index in rows:
        table[(*OPER_STATUS, index)] = 1
        table[(*IF_NAME, index)] = f"port{index}"
        if alias_length:
            table[(*IF_ALIAS, index)] = (f"alias {index:03d} " + "y" * alias_length)[:alias_length]
    return table


class OddAgent:
    """One agent on (address, port), answering community *community* with *behaviour*."""

    def __init__(
        self,
        address: str,
        *,
        behaviour: str = "normal",
        table: Mapping[Oid, Any] | None = None,
        community: str = "odd",
        reply_from: str | None = None,
        max_get: int | None = None,
        max_bulk: int | None = None,
        bulk_error: int = 1,
    ) -> None:
        self.behaviour = behaviour
        self.community = community
        self.max_get = max_get
        self.max_bulk = max_bulk
        self.bulk_error = bulk_error
        self.set_table(table)
        self.requests = 0
        #: Varbinds of each GET received, in order (GETNEXT and GETBULK are not listed).
        self.gets: list[int] = []
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._sock.bind((address, 0))
        self._sock.settimeout(0.1)
        self.address, self.port = self._sock.getsockname()
        self._reply = None
        if reply_from is not None:
            self._reply = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            self._reply.bind((reply_from, 0))
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, name=f"oddagent-{behaviour}", daemon=True)

    def set_table(self, table: Mapping[Oid, Any] | None, **system: Any) -> None:
        """Serve *table* (with the system group) from the next request on; *system* overrides
        its values by name (``uptime=...``)."""
        merged: dict[Oid, Any] = {**SYSTEM, **(table or {})}
        if "uptime" in system:
            merged[SYS_UPTIME] = system["uptime"]
        ordered = dict(sorted(merged.items()))
        self.table, self.oids = ordered, list(ordered)  # replaced whole: the agent's thread reads them

    def __enter__(self) -> OddAgent:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        """Stop answering and close the sockets (bounded: the socket timeout is 0.1 s)."""
        self._stop.set()
        self._thread.join(timeout=5)
        assert not self._thread.is_alive()
        self._sock.close()
        if self._reply is not None:
            self._reply.close()

    # ---- the agent ---------------------------------------------------------------------------

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                data, peer = self._sock.recvfrom(65535)
            except TimeoutError:
                continue
            except OSError:
                return
            reply = self._answer(data)
            if reply is not None:
                (self._reply or self._sock).sendto(reply, peer)

    def _value(self, proto: Any, oid: Oid, value: Any) -> Any:
        if isinstance(value, Typed):
            return getattr(proto, value.tag)(value.value)
        if isinstance(value, str):
            return proto.OctetString(value.encode())
        if isinstance(value, tuple):
            return proto.ObjectIdentifier(value)
        if oid == (1, 3, 6, 1, 2, 1, 1, 3, 0):
            return proto.TimeTicks(value)
        return proto.Integer(value)

    def _next(self, oid: Oid) -> Oid | None:
        if self.behaviour == "endless":
            column = oid[: len(OPER_STATUS)]
            if column == OPER_STATUS:
                index = oid[len(OPER_STATUS)] + 1 if len(oid) > len(OPER_STATUS) else 1
                return (*OPER_STATUS, index)
        if self.behaviour == "loop" and (rows := self._column_rows(oid)):
            return rows[0]  # the first row of the column the request is in, again and again
        return next((candidate for candidate in self.oids if candidate > oid), None)

    def _lookup(self, oid: Oid) -> Any:
        if self.behaviour == "endless" and oid[: len(OPER_STATUS)] == OPER_STATUS:
            return 1
        return self.table.get(oid)

    def _answer(self, data: bytes) -> bytes | None:
        self.requests += 1
        version = int(api.decodeMessageVersion(data))
        proto = api.PROTOCOL_MODULES[version]
        message, _ = decoder.decode(data, asn1Spec=proto.Message())
        if bytes(proto.apiMessage.get_community(message)) != self.community.encode():
            return None
        request = proto.apiMessage.get_pdu(message)
        response = proto.apiMessage.get_response(message)
        pdu = proto.apiMessage.get_pdu(response)
        asked = [tuple(oid) for oid, _ in proto.apiPDU.get_varbinds(request)]
        out: list[tuple[Oid, Any]] = []
        if request.isSameTypeWith(proto.GetRequestPDU()):
            self.gets.append(len(asked))
            if self.max_get is not None and len(asked) > self.max_get:
                return self._error(proto, response, pdu, status=1, index=0)  # tooBig, no varbinds
            for oid in asked:
                value = self._lookup(oid)
                out.append((oid, proto.NoSuchObject() if value is None else self._value(proto, oid, value)))
        elif request.isSameTypeWith(proto.GetNextRequestPDU()):
            if version == api.SNMP_VERSION_1 and any(self._next(oid) is None for oid in asked):
                return self._no_such_name(proto, response, pdu, request)  # v1 has no endOfMibView
            for oid in asked:
                found = self._next(oid)
                out.append(
                    (oid, proto.EndOfMibView())
                    if found is None
                    else (found, self._value(proto, found, self._lookup(found)))
                )
        else:  # GETBULK, non-repeaters 0
            repetitions = int(proto.apiBulkPDU.get_max_repetitions(request))
            if self.max_bulk is not None and repetitions > self.max_bulk:
                return self._error(proto, response, pdu, status=self.bulk_error, index=0)
            out = self._bulk(proto, asked, repetitions)
        proto.apiPDU.set_varbinds(pdu, out)
        encoded: bytes = encoder.encode(response)
        return encoded

    def _bulk(self, proto: Any, asked: list[Oid], repetitions: int) -> list[tuple[Oid, Any]]:
        out: list[tuple[Oid, Any]] = []
        for oid in asked:
            if self.behaviour == "loop" and (rows := self._column_rows(oid)):
                out.extend((row, self._value(proto, row, self._lookup(row))) for row in rows[:repetitions])
                continue
            current: Oid | None = oid
            for _ in range(repetitions):
                found = self._next(current) if current is not None else None
                if found is None:
                    out.append((current or oid, proto.EndOfMibView()))
                    break
                out.append((found, self._value(proto, found, self._lookup(found))))
                current = found
        return out

    @staticmethod
    def _no_such_name(proto: Any, response: Any, pdu: Any, request: Any) -> bytes:
        """RFC 1157: the whole PDU fails with noSuchName, the request's varbinds echoed."""
        proto.apiPDU.set_error_status(pdu, 2)
        proto.apiPDU.set_error_index(pdu, 1)
        proto.apiPDU.set_varbinds(pdu, [(oid, proto.Null()) for oid, _ in proto.apiPDU.get_varbinds(request)])
        encoded: bytes = encoder.encode(response)
        return encoded

    @staticmethod
    def _error(proto: Any, response: Any, pdu: Any, *, status: int, index: int) -> bytes:
        """A response with *status* (1 tooBig) and no varbinds (RFC 3416 4.2.1)."""
        proto.apiPDU.set_error_status(pdu, status)
        proto.apiPDU.set_error_index(pdu, index)
        proto.apiPDU.set_varbinds(pdu, [])
        encoded: bytes = encoder.encode(response)
        return encoded

    def _column_rows(self, oid: Oid) -> list[Oid]:
        """The rows of the single-index column that *oid* (the column itself or a row of it) is in."""
        return [c for c in self.oids if len(c) > 10 and c[:-1] == oid[: len(c) - 1] and len(oid) >= len(c) - 1]
