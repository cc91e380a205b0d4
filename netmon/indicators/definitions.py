"""Indicator definitions as data: a small declarative vocabulary, bilingual, validated with file:line errors.

A definition's formula is a numerator and an optional denominator, each one *quantity*:

- ``units: all`` or ``units: CONDITION``: the number of units (at the indicator's levels) where
  the condition holds;
- ``sum: FIELD`` (staff | computers | servers | vc_endpoints), optionally ``cap: FIELD``: the
  sum over units of a declared count, each unit's value capped at another of its counts;
  with ``or_devices: [ROLES]``, a unit that declares no count counts its enabled devices of
  those roles instead (the evidence says which);
- ``capacity_mbps: [KINDS]``: the declared capacity of the unit's links of those kinds;
- ``devices: [ROLES]`` / ``links: [KINDS]``: how many enabled devices / links are declared;
- ``up: OBJECTS`` / ``judged: OBJECTS`` with OBJECTS ``{devices: [ROLES]}`` or ``{links: [KINDS]}``:
  live, the number of objects up / up or down now; over a period, their seconds up / up or down.

A CONDITION is one of ``has_link: [KINDS]``, ``has_device: [ROLES]`` (declared),
``link_up: {kind: [KINDS], min_ratio: R}``, ``device_up: {role: [ROLES], min_ratio: R}`` (live: one
such object is up now; over a period: one has availability >= R, a number or a rule name), or
``any: [CONDITIONS]`` / ``all: [CONDITIONS]``.

A coverage indicator may name ``declared: CONDITION`` (what the inventory claims, e.g.
``has_link: [internet]``): rows then carry it beside the verified count, and the XLSX lists the
discrepancies. ``reference`` names the framework text (ICT-Index, DTI by decision and year,
provincial); ``points: {YEAR: N}`` overrides ``max_points`` for a year's template.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from netmon.config import IndicatorsConfig
from netmon.errors import ConfigError, Issue, validation_message
from netmon.inventory.models import Level, LinkKind, Role
from netmon.yamlsrc import DocPath, Located, YamlSyntaxError, dotted, load_yaml

__all__ = [
    "BUILTIN",
    "Catalog",
    "Condition",
    "Definition",
    "Formula",
    "ObjectSet",
    "Quantity",
    "catalog_for",
    "load_catalog",
    "share_decimals",
    "share_text",
]

#: The built-in definitions shipped in the package.
BUILTIN = "definitions.yaml"

UnitField = Literal["staff", "computers", "servers", "vc_endpoints"]
Measure = Literal["percent", "count", "per_person", "mbps_per_person"]
Threshold = Annotated[float, Field(ge=0, le=1)] | Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")]
Kinds = Annotated[tuple[LinkKind, ...], Field(min_length=1)]
Roles = Annotated[tuple[Role, ...], Field(min_length=1)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _one_of(model: BaseModel) -> None:
    given = [name for name in type(model).model_fields if getattr(model, name) is not None]
    if len(given) != 1:
        names = " | ".join(type(model).model_fields)
        raise ValueError(f"give exactly one of {names} (got {', '.join(given) or 'none'})")


class LinkUp(_Strict):
    """Live: a link of these kinds is up; over a period: one has availability >= min_ratio."""

    kind: Kinds
    min_ratio: Threshold


class DeviceUp(_Strict):
    """Live: a device of these roles is up; over a period: one has availability >= min_ratio."""

    role: Roles
    min_ratio: Threshold


class Condition(_Strict):
    """A test of one unit; exactly one key."""

    has_link: Kinds | None = None
    has_device: Roles | None = None
    link_up: LinkUp | None = None
    device_up: DeviceUp | None = None
    any: Annotated[tuple[Condition, ...], Field(min_length=1)] | None = None
    all: Annotated[tuple[Condition, ...], Field(min_length=1)] | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> Self:
        _one_of(self)
        return self

    @property
    def live(self) -> bool:
        """Tell whether the condition reads monitoring state."""
        if self.any is not None or self.all is not None:
            return any(c.live for c in self.any or self.all or ())
        return self.link_up is not None or self.device_up is not None

    def thresholds(self) -> Iterator[str]:
        """Yield the rule names the condition refers to."""
        for test in (self.link_up, self.device_up):
            if test is not None and isinstance(test.min_ratio, str):
                yield test.min_ratio
        for child in self.any or self.all or ():
            yield from child.thresholds()


class ObjectSet(_Strict):
    """Devices of some roles or links of some kinds; exactly one key."""

    devices: Roles | None = None
    links: Kinds | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> Self:
        _one_of(self)
        return self


class Quantity(_Strict):
    """One term of a formula, summed over units; exactly one key (``cap`` goes with ``sum``)."""

    units: Literal["all"] | Condition | None = None
    sum: UnitField | None = None
    cap: UnitField | None = None
    or_devices: Roles | None = None
    capacity_mbps: Kinds | None = None
    devices: Roles | None = None
    links: Kinds | None = None
    up: ObjectSet | None = None
    judged: ObjectSet | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> Self:
        if self.cap is not None and self.sum is None:
            raise ValueError("cap goes with sum")
        if self.or_devices is not None and self.sum is None:
            raise ValueError("or_devices goes with sum")
        extra = ("cap", "or_devices")
        given = [n for n in type(self).model_fields if n not in extra and getattr(self, n) is not None]
        if len(given) != 1:
            names = " | ".join(n for n in type(self).model_fields if n not in extra)
            raise ValueError(f"give exactly one of {names} (got {', '.join(given) or 'none'})")
        return self

    @property
    def live(self) -> bool:
        """Tell whether the quantity reads monitoring state."""
        return self.up is not None or self.judged is not None or (isinstance(self.units, Condition) and self.units.live)


class Formula(_Strict):
    """a = numerator, b = denominator (absent for a plain count), ratio = a / b."""

    numerator: Quantity
    denominator: Quantity | None = None


class Definition(_Strict):
    """One indicator: names, framework, levels, measure, points, accounting rule and formula."""

    id: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$", max_length=64)]
    name_vi: Annotated[str, Field(min_length=1)]
    name_en: Annotated[str, Field(min_length=1)]
    framework: Literal["ICT-Index", "DTI", "provincial"]
    levels: Annotated[tuple[Level, ...], Field(min_length=1)] = tuple(Level)
    measure: Measure
    max_points: Annotated[float, Field(ge=0)] | None = None
    rule_vi: Annotated[str, Field(min_length=1)]
    rule_en: Annotated[str, Field(min_length=1)]
    formula: Formula
    declared: Condition | None = None
    reference: str = ""
    points: Mapping[int, Annotated[float, Field(ge=0)]] = Field(default_factory=dict)

    def max_points_in(self, year: int | None) -> float | None:
        """Return the maximum points of *year*'s template (``points``), else ``max_points``."""
        return self.points.get(year, self.max_points) if year is not None else self.max_points

    @model_validator(mode="after")
    def _points_need_a_ratio(self) -> Self:
        if (self.max_points is not None or self.points) and self.formula.denominator is None:
            raise ValueError("max_points needs a denominator (points = a / b × max_points)")
        return self

    @property
    def source(self) -> str:
        """Return the data source: 'live monitoring' or 'declared inventory'."""
        terms = [self.formula.numerator, self.formula.denominator]
        return "live monitoring" if any(t is not None and t.live for t in terms) else "declared inventory"

    def thresholds(self) -> Iterator[str]:
        """Yield the rule names the formula refers to."""
        for term in (self.formula.numerator, self.formula.denominator):
            if term is not None and isinstance(term.units, Condition):
                yield from term.units.thresholds()


class _File(_Strict):
    indicators: list[Definition]


@dataclass(frozen=True)
class Catalog:
    """The definitions in use, in order, with the rule thresholds they refer to."""

    definitions: tuple[Definition, ...]
    rules: Mapping[str, float] = field(default_factory=dict)

    def __iter__(self) -> Iterator[Definition]:
        return iter(self.definitions)

    def threshold(self, value: float | str) -> float:
        """Resolve a threshold: a number, or the name of a rule."""
        return self.rules[value] if isinstance(value, str) else value

    def rule_text(self, definition: Definition, lang: Literal["vi", "en"]) -> str:
        """Return the accounting rule in *lang*, with {rule_name} placeholders as percentages."""
        text = definition.rule_vi if lang == "vi" else definition.rule_en
        return text.format_map(_Placeholders({name: share_text(value) for name, value in self.rules.items()}))


def share_text(value: float) -> str:
    """Return a threshold as a percentage with the decimals it has: 90%, 99.9%, 99.95% (never 0.999 as 100%)."""
    return f"{round(value * 100, 6):g}%"


def share_decimals(value: float) -> int:
    """Return how many decimals `share_text` shows for *value* (0 for 90%, 1 for 99.9%)."""
    digits = share_text(value)[:-1]
    return len(digits.partition(".")[2])


class _Placeholders(dict[str, str]):
    """Leave an unknown {name} as it is instead of failing."""

    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def load_catalog(
    paths: Iterable[Path] = (), rules: Mapping[str, float] | None = None, *, builtin: bool = True
) -> Catalog:
    """Load the built-in definitions (unless *builtin* is False) and those in *paths*; raise ConfigError."""
    rules = dict(rules or {})
    sources: list[Located] = []
    issues: list[Issue] = []
    if builtin:
        text = resources.files(__package__).joinpath(BUILTIN).read_text(encoding="utf-8")
        sources.append(_parse(text, f"netmon/indicators/{BUILTIN}", issues))
    for path in paths:
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            issues.append(Issue(source=str(path), line=None, where="", message=f"cannot read: {exc}"))
            continue
        sources.append(_parse(text, str(path), issues))
    definitions = _validate(sources, rules, issues)
    if issues:
        raise ConfigError(issues)
    return Catalog(tuple(definitions), rules)


def catalog_for(section: IndicatorsConfig) -> Catalog:
    """Load the catalog the config's `indicators:` section asks for."""
    return load_catalog(section.definitions, section.rules, builtin=section.builtin)


def _parse(text: str, source: str, issues: list[Issue]) -> Located:
    try:
        return load_yaml(text, source)
    except YamlSyntaxError as exc:
        issues.append(exc.issue)
        return Located(source, None, {})


def _validate(sources: Sequence[Located], rules: Mapping[str, float], issues: list[Issue]) -> list[Definition]:
    definitions: list[Definition] = []
    first_seen: dict[str, str] = {}
    for located in sources:
        if located.data is None:
            continue
        try:
            parsed = _File.model_validate(located.data)
        except ValidationError as exc:
            issues.extend(_issues(exc, located))
            continue
        for index, definition in enumerate(parsed.indicators):
            where: DocPath = ("indicators", index)
            line = located.line(where)
            if definition.id in first_seen:
                message = f"indicator {definition.id!r} is already defined at {first_seen[definition.id]}"
                issues.append(Issue(source=located.source, line=line, where=dotted((*where, "id")), message=message))
                continue
            first_seen[definition.id] = f"{located.source}:{line}"
            unknown = sorted({name for name in definition.thresholds() if name not in rules})
            if unknown:
                known = ", ".join(sorted(rules)) or "none"
                message = f"unknown rule {', '.join(unknown)} (rules: {known}; add it under indicators.rules)"
                issues.append(Issue(source=located.source, line=line, where=dotted(where), message=message))
                continue
            definitions.append(definition)
    return definitions


def _issues(exc: ValidationError, located: Located) -> list[Issue]:
    """Turn pydantic's errors into located issues, keeping the deepest: a union's other branches are noise."""
    errors = [(_loc(err), err) for err in exc.errors()]
    return [
        _issue(loc, err, located)
        for loc, err in errors
        if not any(len(other) > len(loc) and other[: len(loc)] == loc for other, _ in errors)
    ]


def _loc(err: Mapping[str, Any]) -> DocPath:
    """Return the document path of an error, without pydantic's union and validator tags."""
    tags = ("function-", "lax-", "literal[", "constrained-")
    return tuple(
        p
        for p in err["loc"]
        if not (isinstance(p, str) and (p.startswith(tags) or p in ("Condition", "str", "float", "int")))
    )


def _issue(loc: DocPath, err: Mapping[str, Any], located: Located) -> Issue:
    return Issue(source=located.source, line=located.line(loc), where=dotted(loc), message=validation_message(err))
