"""REST Lambda proxy routes, for the rule that their integration can be invoked at all (PURE).

API Gateway invokes a Lambda proxy integration with httpMethod POST only; any other method fails
every call with 500 (SNAP, fixtures/behaviour.py REST_FACTS lambda_proxy_method).
"""

from __future__ import annotations

from dataclasses import replace

from conformance.catalog.records import CONCRETE_METHODS, RouteCase
from fixtures.contract import Contract
from fixtures.stage import ApiConfig


def lambda_proxy_routes(api: ApiConfig, contract: Contract) -> list[RouteCase]:
    """Every REST Lambda proxy route, an ANY route as its GET (a read: its control writes nothing).

    Excluded routes and dedicated failure-probe routes (they fail whatever the input) are left out,
    and on a read-only API the routes that write.
    """
    if contract.flavor != "rest":
        return []
    out = []
    for route in contract.routes:
        if route.integration.type != "aws_proxy" or route.path == "$default":
            continue
        if route.route_key in api.excluded or route.route_key in api.probe_routes:
            continue
        if route.method == "ANY":
            route = replace(route, method="GET", writes=False)
        elif route.method not in CONCRETE_METHODS:
            continue
        if api.read_only and route.writes:
            continue
        out.append(RouteCase(api.name, contract.flavor, route))
    return out
