"""The OpenAPI 3.0 description of the HTTP API, served at /api/v1/openapi.json (issue 14).

Written by hand next to the handlers and checked against them: `undocumented(app)` lists routes
that the spec lacks and operations the app does not serve (a test keeps it empty), and a
schemathesis run fuzzes the served spec, checking that every answer matches its schema.
Every error answer is `{"error": TEXT, "status": CODE}` (the `Error` schema).
"""

from __future__ import annotations

import re
from typing import Any

from aiohttp import web

from netmon.api.pages import DEFAULT_LIMIT, MAX_LIMIT
from netmon.monitor.outages import CAUSES, OUTAGE_KINDS

__all__ = ["spec", "undocumented"]


def _nullable(kind: str, **more: Any) -> dict[str, Any]:
    return {"type": kind, "nullable": True, **more}


def _obj(required: dict[str, Any], optional: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"type": "object", "required": list(required), "properties": {**required, **(optional or {})}}


_STR, _INT, _BOOL, _NUM = {"type": "string"}, {"type": "integer"}, {"type": "boolean"}, {"type": "number"}
_TIME = {"type": "string", "format": "date-time"}
_COMMON_ROW = {
    "name": _STR,
    "unit": _STR,
    "level": _STR,
    "state": {"type": "string", "enum": ["up", "down", "unreachable", "maintenance", "unknown"]},
    "since": _nullable("string", format="date-time"),
    "root_cause": _nullable("string"),
    "flapping": _BOOL,
}
_SCHEMAS: dict[str, Any] = {
    "Error": _obj({"error": _STR, "status": _INT}),
    "Device": _obj(
        {
            **_COMMON_ROW,
            "role": _STR,
            "address": _STR,
            "enabled": _BOOL,
            "rtt_seconds": _nullable("number"),
            "loss_ratio": _nullable("number"),
            "tags": {"type": "array", "items": _STR},
        }
    ),
    "Link": _obj(
        {
            **_COMMON_ROW,
            "kind": _STR,
            "device": _STR,
            "interface": _nullable("string"),
            "capacity_mbps": _nullable("number"),
            "provider": _nullable("string"),
        }
    ),
    "Service": _obj(
        {
            **_COMMON_ROW,
            "check": _STR,
            "device": _nullable("string"),
            "url": _nullable("string"),
            "address": _nullable("string"),
            "expect_status": _nullable("string"),
            "enabled": _BOOL,
            "last_check": {"type": "object", "nullable": True},
        }
    ),
    "Outage": _obj(
        {
            "id": _INT,
            "kind": _STR,
            "name": _STR,
            "cause": _STR,
            "root_cause": _nullable("string"),
            "started_at": _TIME,
            "ended_at": _nullable("string", format="date-time"),
            "end_cause": _nullable("string"),
            "unit": _nullable("string"),
            "duration_seconds": _nullable("number"),
            "windows": {
                "type": "array",
                "description": "for cause maintenance: the known windows covering the object when it began",
                "items": _obj({"id": _nullable("integer"), "name": _STR, "author": _STR, "reason": _STR}),
            },
        }
    ),
    "WindowRequest": _obj(
        {
            "name": {"type": "string", "minLength": 1, "maxLength": 128},
            "objects": {"type": "array", "minItems": 1, "items": {"type": "string", "example": "unit:P-D1"}},
            "ends_at": _TIME,
        },
        {"starts_at": _TIME, "reason": _STR},
    ),
    "Window": _obj(
        {
            "name": _STR,
            "objects": {"type": "array", "items": _STR},
            "source": {"type": "string", "enum": ["config", "api"]},
            "id": _nullable("integer"),
            "starts_at": _nullable("string", format="date-time"),
            "ends_at": _nullable("string", format="date-time"),
            "every": _nullable("string"),
            "days": {"type": "array", "items": _STR},
            "at": _nullable("string"),
            "duration": _nullable("number"),
            "reason": _STR,
            "author": _STR,
        },
        {"active": _BOOL},
    ),
    "IndicatorRow": _obj(
        {
            "indicator": _STR,
            "name_vi": _STR,
            "name_en": _STR,
            "unit": _nullable("string"),
            "unit_name": _nullable("string"),
            "level": _STR,
            "period": _STR,
            "a": _NUM,
            "b": _nullable("number"),
            "ratio": _nullable("number"),
            "applicable": _BOOL,
            "measure": _STR,
            "framework": _STR,
            "max_points": _nullable("number"),
            "points": _nullable("number"),
            "source": _STR,
            "evidence_a": {"type": "array", "items": _STR},
            "evidence_b": {"type": "array", "items": _STR},
        }
    ),
    "AuditEntry": _obj(
        {
            "id": _nullable("integer"),
            "at": _TIME,
            "actor": _STR,
            "action": _STR,
            "target": _STR,
            "source": _STR,
            "detail": {"type": "object"},
        }
    ),
}


def _ref(name: str) -> dict[str, Any]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any], description: str = "OK") -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _list(key: str, item: str) -> dict[str, Any]:
    return _json(_obj({key: {"type": "array", "items": _ref(item)}, "count": _INT}))


def _paged(key: str, item: str) -> dict[str, Any]:
    """Return the schema of one page (api/pages.py): `count` rows of `total`; `next`, the next page or null."""
    return _json(
        _obj(
            {
                key: {"type": "array", "items": _ref(item)},
                "count": _INT,
                "total": _INT,
                "offset": _INT,
                "limit": _INT,
                "next": _nullable("string", description="path and query of the next page; null on the last"),
            }
        )
    )


def _query(name: str, description: str, **schema: Any) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "description": description, "schema": schema or _STR}


_ERRORS = {"default": _json(_ref("Error"), "An error: 400 bad input, 401/403 auth, 404, 413, 429, 503")}
_READ: list[dict[str, list[str]]] = [{"bearerAuth": []}, {"basicAuth": []}, {}]
_WRITE: list[dict[str, list[str]]] = [{"bearerAuth": []}]
_PAGE = [
    _query("limit", f"rows per page, 1..{MAX_LIMIT} (default {DEFAULT_LIMIT})", type="integer"),
    _query("offset", "rows to skip, from 0 (follow `next`)", type="integer"),
]
_FILTERS = [
    _query("unit", "a unit code: this unit and those below"),
    _query("level", "province, department, district or commune"),
    _query("state", "up, down, unreachable, maintenance or unknown"),
]


def _op(summary: str, ok: dict[str, Any], *, params: list[Any] | None = None, status: str = "200") -> dict[str, Any]:
    return {"summary": summary, "parameters": params or [], "responses": {status: ok, **_ERRORS}, "security": _READ}


def spec() -> dict[str, Any]:
    """Return the OpenAPI 3.0.3 document of the API (JSON-ready)."""
    write = {
        "summary": "Create an API maintenance window (write token; audited)",
        "requestBody": {"required": True, "content": {"application/json": {"schema": _ref("WindowRequest")}}},
        "responses": {"201": _json(_ref("Window"), "Stored"), **_ERRORS},
        "security": _WRITE,
    }
    paths: dict[str, Any] = {
        "/": {"get": _op("List the endpoints", _json(_obj({"service": _STR, "endpoints": {"type": "array"}})))},
        "/metrics": {
            "get": _op(
                "Prometheus exposition",
                {"description": "OK", "content": {"text/plain": {"schema": _STR}}},
            )
        },
        "/metrics/interfaces": {
            "get": _op(
                "Prometheus exposition of the netmon_interface_* families (docs/metrics.md)",
                {"description": "OK", "content": {"text/plain": {"schema": _STR}}},
                params=[
                    _query("shard", "with shards: serve the devices whose CRC-32 of the name modulo shards is shard"),
                    _query("shards", "number of shards, 1 to 1024"),
                ],
            )
        },
        "/healthz": {"get": {**_op("Liveness", _json(_obj({"status": _STR}))), "security": [{}]}},
        "/readyz": {
            "get": _op(
                "Readiness (503 with problems until every device has its first ping sample)",
                _json(_obj({"status": _STR})),
            )
        },
        "/api/v1/devices": {
            "get": _op("Devices with their state", _list("devices", "Device"), params=[*_FILTERS, _query("role", "")])
        },
        "/api/v1/links": {
            "get": _op("Links with their state", _list("links", "Link"), params=[*_FILTERS, _query("kind", "")])
        },
        "/api/v1/services": {
            "get": _op(
                "Services (http/tcp checks) with their state and last check",
                _list("services", "Service"),
                params=[*_FILTERS, _query("check", "http or tcp")],
            )
        },
        "/api/v1/outages": {
            "get": _op(
                "Outages from the database, newest first, a page at a time",
                _paged("outages", "Outage"),
                params=[
                    _query("open", "true: only open outages", type="boolean"),
                    _query("since", "ISO date/time, or 24h, 7d"),
                    _query("unit", "a unit code: this unit and those below"),
                    _query("cause", "down, unreachable, maintenance", type="string", enum=sorted(CAUSES.values())),
                    _query("kind", "device, link or service", type="string", enum=sorted(OUTAGE_KINDS)),
                    *_PAGE,
                ],
            )
        },
        "/api/v1/maintenance": {
            "get": _op("Maintenance windows (config and API)", _list("windows", "Window")),
            "post": write,
        },
        "/api/v1/maintenance/{id}": {
            "delete": {
                "summary": "Delete an API maintenance window (write token; audited)",
                "parameters": [{"name": "id", "in": "path", "required": True, "schema": {"type": "integer"}}],
                "responses": {"200": _json(_obj({"deleted": _INT})), **_ERRORS},
                "security": _WRITE,
            }
        },
        "/api/v1/indicators": {
            "get": _op(
                "Indicator rows, a page at a time",
                _paged("indicators", "IndicatorRow"),
                params=[
                    _query("period", "live, 2026, 2026-Q3, 2026-09"),
                    _query("level", "a level or all"),
                    _query("unit", "a unit code: this unit's rows and those of the units below (no roll-ups)"),
                    _query("indicator", "an indicator id, e.g. lan_units"),
                    *_PAGE,
                ],
            )
        },
        "/api/v1/audit": {
            "get": _op(
                "The audit trail, newest first",
                _list("entries", "AuditEntry"),
                params=[_query("since", "ISO date/time, or 24h, 7d"), _query("limit", "1..1000", type="integer")],
            )
        },
        "/api/v1/reload": {
            "post": {
                "summary": "Re-read the config and the inventory (write token; audited)",
                "responses": {"202": _json(_obj({"reload": _STR}), "Requested"), **_ERRORS},
                "security": _WRITE,
            }
        },
        "/api/v1/openapi.json": {"get": _op("This document", _json({"type": "object"}))},
    }
    return {
        "openapi": "3.0.3",
        "info": {"title": "netmon API", "version": "1", "description": "See docs/api.md."},
        "paths": paths,
        "components": {
            "schemas": _SCHEMAS,
            "securitySchemes": {
                "bearerAuth": {"type": "http", "scheme": "bearer", "description": "netmon token create"},
                "basicAuth": {"type": "http", "scheme": "basic", "description": "web config basic_auth_users"},
            },
        },
    }


def undocumented(app: web.Application) -> list[str]:
    """Return 'METHOD /path' of routes missing from the spec and of operations the app lacks (sorted)."""
    served = set()
    for route in app.router.routes():
        if route.method in ("HEAD", "*") or route.resource is None:
            continue
        path = re.sub(r"\{(\w+)(:[^}]*)?\}", r"{\1}", route.resource.canonical)
        served.add(f"{route.method} {path}")
    documented = {f"{method.upper()} {path}" for path, ops in spec()["paths"].items() for method in ops}
    return sorted(served ^ documented)
