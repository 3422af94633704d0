"""Turn credential labels into request headers (the only place load/ touches secrets).

Labels come from load/routes.py; the resulting headers live only in the memory of the process that
sends them: a distributed master sends its workers labels only, and each worker builds its own
headers from its stage file and environment (load/session.py worker_headers). Never in results,
logs or reports.
"""

from __future__ import annotations

from collections.abc import Iterable

from fixtures.contract import CognitoAuthorizer, Contract, JwtAuthorizer
from fixtures.errors import ConfigError
from fixtures.stage import ApiConfig, StageConfig
from fixtures.tokens import factory_for


def _key_value(api: ApiConfig, name: str) -> str:
    for plan in api.usage_plans:
        for key in plan.keys:
            if key.name == name:
                return key.value.value
    raise ConfigError(api.name, f"usage_plans.*.keys.{name}", "no such API key in the stage file")


def _bearer(api: ApiConfig, contract: Contract, authorizer: str, scopes: str) -> str:
    creds = api.credentials
    if creds.signing_key is None:
        if creds.bearer_token is None:
            raise ConfigError(api.name, "credentials", "no bearer_token and no signing key")
        return creds.bearer_token.value
    auth = contract.authorizers.get(authorizer)
    if isinstance(auth, JwtAuthorizer | CognitoAuthorizer):
        factory = factory_for(creds.signing_key.key_file, creds.signing_key.kid, auth)
        return factory.valid(scopes.split())
    raise ConfigError(api.name, "credentials", f"authorizer {authorizer!r} is not a JWT/Cognito authorizer")


def headers_for(api: ApiConfig, contract: Contract, label: str) -> dict[str, str]:
    """Headers for one credential label of one API."""
    headers: dict[str, str] = {}
    for part in label.split("+"):
        kind, _, arg = part.partition(":")
        if kind == "none":
            continue
        if kind in ("jwt", "cognito"):
            authorizer, _, scopes = arg.partition(":")
            headers["Authorization"] = f"Bearer {_bearer(api, contract, authorizer, scopes)}"
        elif kind == "lambda":
            if api.credentials.lambda_token is None:
                raise ConfigError(api.name, "credentials.lambda_token", "needed by a load scenario")
            headers[arg] = api.credentials.lambda_token.value
        elif kind == "key":
            headers["x-api-key"] = _key_value(api, arg)
        else:
            raise ConfigError(api.name, "credentials", f"unknown credential label {kind!r}")
    return headers


def header_table(
    stage: StageConfig, contracts: dict[str, Contract], labels: Iterable[tuple[str, str]]
) -> dict[str, dict[str, str]]:
    """{"<api>|<label>": headers} for every (api, label) the run uses."""
    return {
        f"{api}|{label}": headers_for(stage.api(api), contracts[api], label) for api, label in set(labels)
    }
