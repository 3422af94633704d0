"""The parametrization case records: each one's id reads as the route (or API) a rule is checked on."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from conformance.catalog.payloads import InvalidBody
from fixtures.contract import Parameter, Route
from fixtures.contract.model import WRITING_METHODS
from fixtures.stage import ApiKey, FailureProbe

# Methods a client can call on a path (ANY/$default are expanded to nothing: no concrete method).
CONCRETE_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


@dataclass(frozen=True)
class RouteCase:
    api: str
    flavor: str
    route: Route

    @property
    def id(self) -> str:
        return f"{self.api} {self.route.method} {self.route.path}"


@dataclass(frozen=True)
class BodyCase:
    case: RouteCase
    invalid: InvalidBody

    @property
    def id(self) -> str:
        return f"{self.case.id} {self.invalid.name}"


@dataclass(frozen=True)
class ParamCase:
    case: RouteCase
    parameter: Parameter

    @property
    def id(self) -> str:
        return f"{self.case.id} {self.parameter.location} {self.parameter.name}"


@dataclass(frozen=True)
class KeyCase:
    case: RouteCase
    key: ApiKey

    @property
    def id(self) -> str:
        return f"{self.case.id} key {self.key.name}"


@dataclass(frozen=True)
class OriginCase:
    api: str
    flavor: str
    trick: str  # how the attacker origin was derived from the allowed one
    origin: str
    allowed: str
    path: str  # a path the API serves (preflight target / actual request target)

    @property
    def id(self) -> str:
        return f"{self.api} {self.trick} origin {self.origin}"  # "portal null origin null", not "null null"


@dataclass(frozen=True)
class PreflightCase:
    api: str
    flavor: str
    origin: str
    path: str
    method: str

    @property
    def id(self) -> str:
        return f"{self.api} {self.origin} {self.method} {self.path}"


@dataclass(frozen=True)
class ApiCase:
    api: str
    flavor: str

    @property
    def id(self) -> str:
        return self.api


@dataclass(frozen=True)
class OverrideCase:
    """A weaker route and a stronger one on the same path: the override must not escalate."""

    case: RouteCase  # the route the request is sent to (its own credentials)
    target: Route  # the method named in X-HTTP-Method-Override

    @property
    def id(self) -> str:
        """The protected route the override aims at, then the method actually sent."""
        return f"{self.case.api} {self.target.method} {self.target.path} from {self.case.route.method}"


@dataclass(frozen=True)
class MethodCase:
    """A route and a concrete method its path does not define (the wrong-method request)."""

    case: RouteCase  # the route whose valid request is the control and the base of the request
    method: str

    @property
    def id(self) -> str:
        return f"{self.case.id} method {self.method}"


@dataclass(frozen=True)
class ProbeCase:
    """The stage's failure probe on one route, and the route whose ordinary request is its control."""

    case: RouteCase  # the probe's route
    probe: FailureProbe
    control: Route  # the same route with the ordinary samples; another route for a dedicated probe route
    index: int = 0  # the probe's place in the stage file (several probes may share a route)

    @property
    def id(self) -> str:
        return self.case.id if self.index == 0 else f"{self.case.id} probe {self.index + 1}"


def sends_write(case: Any) -> bool:
    """Whether a rule's requests for this case may change data: a writing route or a writing method.

    A read-only API is sent none, not even in a request a correct stage must reject (invalid body,
    undefined method, method override): a faulty stage would execute it."""
    if isinstance(case, OverrideCase):
        return sends_write(case.case) or case.target.writes or case.target.method in WRITING_METHODS
    if isinstance(case, MethodCase):
        return sends_write(case.case) or case.method in WRITING_METHODS
    inner = getattr(case, "case", case)
    route = getattr(inner, "route", None)
    return route is not None and (route.writes or route.method in WRITING_METHODS)
