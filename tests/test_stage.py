"""Stage files: the shipped ones load; every malformed input gets one line naming file and key."""

from __future__ import annotations

import dataclasses
import pathlib
from collections.abc import Iterator, Mapping

import pytest

from fixtures.errors import ConfigError
from fixtures.stage import FailureProbe, Limit, Secret, StageConfig, load_stage

REPO = pathlib.Path(__file__).resolve().parent.parent
DATA = pathlib.Path(__file__).resolve().parent / "data" / "stages"
ENV = {"T_PORTAL_TOKEN": "portal-token-value-123", "T_API_KEY": "api-key-value-456", "T_KEY_A": "key-a-789"}
STAGING_ENV = {
    name: f"value-of-{name.lower()}"
    for name in [
        "STAGEGATE_KIOSK_TOKEN",
        "STAGEGATE_KIOSK_DENY_TOKEN",
        "STAGEGATE_PORTAL_CLIENT_ID",
        "STAGEGATE_PORTAL_CLIENT_SECRET",
        "STAGEGATE_PARTNER_API_KEY",
        "STAGEGATE_PARTNER_ID_TOKEN",
        "STAGEGATE_PARTNER_AUTH_TOKEN",
        "STAGEGATE_PARTNER_DENY_TOKEN",
        "STAGEGATE_THROTTLE_KEY_A",
        "STAGEGATE_THROTTLE_KEY_B",
        "STAGEGATE_QUOTA_KEY_A",
        "STAGEGATE_QUOTA_KEY_B",
        "STAGEGATE_DISABLED_KEY",
    ]
}
PROD_ENV = {
    name: f"value-of-{name.lower()}"
    for name in [
        "STAGEGATE_PROD_PORTAL_TOKEN",
        "STAGEGATE_PROD_KIOSK_TOKEN",
        "STAGEGATE_PROD_KIOSK_DENY_TOKEN",
        "STAGEGATE_PROD_PARTNER_API_KEY",
        "STAGEGATE_PROD_PARTNER_ID_TOKEN",
        "STAGEGATE_PROD_PARTNER_AUTH_TOKEN",
        "STAGEGATE_PROD_PARTNER_DENY_TOKEN",
    ]
}


class RecordingEnv(Mapping[str, str]):
    """An environment that remembers which names were looked up."""

    def __init__(self, values: Mapping[str, str]) -> None:
        self._values = dict(values)
        self.asked: set[str] = set()

    def __getitem__(self, key: str) -> str:
        self.asked.add(key)
        return self._values[key]

    def get(self, key: str, default: object = None) -> object:  # type: ignore[override]
        self.asked.add(key)
        return self._values.get(key, default)

    def __iter__(self) -> Iterator[str]:
        raise AssertionError("the loader must not enumerate the environment")

    def __len__(self) -> int:
        return len(self._values)


@pytest.fixture
def root(tmp_path: pathlib.Path) -> pathlib.Path:
    """A repo root whose contracts exist (content is not read by the stage loader)."""
    (tmp_path / "fixtures" / "clinic").mkdir(parents=True)
    for name in ("portal", "partner"):
        (tmp_path / "fixtures" / "clinic" / f"{name}.openapi.json").write_text("{}")
    (tmp_path / "stages").mkdir()
    return tmp_path


def _write(root: pathlib.Path, text: str, name: str = "t") -> str:
    path = root / "stages" / f"{name}.toml"
    path.write_text(text)
    return str(path)


def _error(root: pathlib.Path, text: str, environ: Mapping[str, str] = ENV) -> str:
    path = _write(root, text)
    with pytest.raises(ConfigError) as info:
        load_stage(path, root=str(root), environ=environ)
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith("stages/t.toml: ")
    return message


REMOTE = (DATA / "remote.toml").read_text()
EMBEDDED = (DATA / "embedded.toml").read_text()


# -- shipped and base files load ----------------------------------------------------------------


def test_local_stage_loads_with_expected_values(root: pathlib.Path) -> None:
    stage = load_stage(str(REPO / "stages" / "local.toml"), root=str(root), environ={})
    assert (stage.name, stage.embedded, stage.timeout_s) == ("local", True, 5.0)
    portal, partner = stage.api("portal"), stage.api("partner")
    assert (portal.flavor, partner.flavor) == ("http", "rest")
    assert portal.base_url == "http://127.0.0.1:{port}/portal"
    assert partner.base_url == "http://127.0.0.1:{port}/partner/v1"
    assert portal.contract_path == str(root / "fixtures" / "clinic" / "portal.openapi.json")
    assert portal.throttle.stage == Limit(100.0, 200)
    assert portal.throttle.routes == {"POST /calls/transcribe": Limit(10.0, 20)}
    assert portal.emulated is not None and portal.emulated.stage_name == "$default"
    assert partner.emulated is not None and partner.emulated.stage_name == "v1"
    assert partner.emulated.handlers == "fixtures.clinic.partner_handlers"
    assert portal.credentials.signing_key is not None
    assert portal.credentials.signing_key.key_file == str(root / "out/local/issuer/portal-signing-key.pem")
    assert portal.credentials.lambda_token == Secret("kiosk-allow-clinic-42", "literal (embedded stage)")
    assert partner.credentials.api_key is not None
    plans = {p.name: p for p in partner.usage_plans}
    assert set(plans) == {"partner-plan", "throttle-test-plan", "quota-test-plan"}
    quota = plans["quota-test-plan"]
    assert (quota.quota_limit, quota.quota_period, quota.throttle) == (50, "DAY", Limit(200.0, 100))
    assert [k.enabled for k in quota.keys] == [True, True, False]
    assert plans["partner-plan"].keys[0].test_key is False
    assert plans["throttle-test-plan"].quota_limit is None
    assert partner.samples.headers == {"POST /appointments": {"X-Partner-Id": "partner-7"}}
    assert portal.samples.query == {"GET /clinics/{id}": {"include_staff": "true"}}
    assert portal.load_allowed and not portal.read_only
    assert portal.tolerance.rate_rel == 0.05
    assert portal.samples.failure_probes == (FailureProbe("GET /clinics/{id}", {"id": "crash-probe"}),)
    assert partner.samples.failure_probes == (FailureProbe("GET /appointments/{id}", {"id": "crash-probe"}),)


def test_stage_name_resolves_under_root_stages(root: pathlib.Path) -> None:
    _write(root, (REPO / "stages" / "local.toml").read_text(), name="local")
    assert load_stage("local", root=str(root), environ={}).path == str(root / "stages" / "local.toml")


def test_remote_base_loads_with_defaults(root: pathlib.Path) -> None:
    stage = load_stage(_write(root, REMOTE), root=str(root), environ=ENV)
    portal, partner = stage.api("portal"), stage.api("partner")
    assert not stage.embedded and stage.emulator is None
    assert partner.base_url == "https://hij456klmn.execute-api.us-east-1.amazonaws.com/v1"  # slash stripped
    assert not portal.load_allowed and not portal.read_only  # load is opt-in on real stages
    assert portal.credentials.bearer_token == Secret("portal-token-value-123", "env:T_PORTAL_TOKEN")
    plan = partner.usage_plans[0]
    assert (plan.quota_period, plan.quota_offset) == ("WEEK", 6)
    assert plan.method_throttle == {"GET /appointments": Limit(2.5, 3)}
    assert plan.keys[0].value.origin == "env:T_KEY_A"
    assert portal.samples.bodies == {
        "POST /appointments": {"clinic_id": "c-1", "datetime": "2030-01-01T10:00:00Z"}
    }
    assert stage.timeout_s == 10.0


def test_embedded_base_loads_with_literal_secret_and_load_allowed(root: pathlib.Path) -> None:
    stage = load_stage(_write(root, EMBEDDED), root=str(root), environ={})
    assert stage.name == "t"  # from the file name
    api = stage.api("portal")
    assert api.load_allowed is True
    assert api.credentials.bearer_token is not None
    assert api.credentials.bearer_token.origin == "literal (embedded stage)"


def test_the_emulators_account_limit_is_the_apis_throttle_account(root: pathlib.Path) -> None:
    """The emulator throttles with throttle.account: the parser puts [apis.X.emulator]'s limit there."""
    own = EMBEDDED.replace(
        'handlers = "fixtures.clinic.portal_handlers"',
        'handlers = "fixtures.clinic.portal_handlers"\naccount_rate = 500\naccount_burst = 300',
    )
    api = load_stage(_write(root, own), root=str(root), environ={}).api("portal")
    assert api.throttle.account == Limit(500, 300) == api.emulated.account_limit  # type: ignore[union-attr]
    default = load_stage(_write(root, EMBEDDED), root=str(root), environ={}).api("portal")
    assert default.throttle.account == Limit(10000, 5000)  # control: no table, AWS's account default


PROBE = '\n[apis.portal.samples.failure_probe]\nroute = "GET /clinics/{id}"\n'


def _probes(root: pathlib.Path, text: str) -> tuple[FailureProbe, ...]:
    return load_stage(_write(root, text), root=str(root), environ=ENV).api("portal").samples.failure_probes


def test_failure_probe_is_optional_and_read_with_its_inputs(root: pathlib.Path) -> None:
    assert _probes(root, REMOTE) == ()
    text = REMOTE + PROBE + 'path_params = { id = "crash-probe" }\nquery = { mode = "fail" }\n'
    text += '[apis.portal.samples.failure_probe.headers]\nX-Fail = "1"\n'
    (probe,) = _probes(root, text)
    assert probe == FailureProbe(
        "GET /clinics/{id}", {"id": "crash-probe"}, {"mode": "fail"}, {"X-Fail": "1"}
    )
    assert probe.changes_input
    route_only = REMOTE + PROBE.replace("GET /clinics/{id}", "GET /_stagegate/crash")
    (probe,) = _probes(root, route_only)
    assert probe.route_key == "GET /_stagegate/crash" and not probe.changes_input


def test_any_number_of_failure_probes_and_dedicated_probe_routes(root: pathlib.Path) -> None:
    """Several probes as an array of tables; a route that always fails is never a positive control."""
    text = REMOTE + (
        '\n[[apis.portal.samples.failure_probe]]\nroute = "GET /clinics/{id}"\npath_params = { id = "x" }\n'
        '\n[[apis.portal.samples.failure_probe]]\nroute = "GET /health"\n'
    )
    api = load_stage(_write(root, text), root=str(root), environ=ENV).api("portal")
    assert [p.route_key for p in api.samples.failure_probes] == ["GET /clinics/{id}", "GET /health"]
    assert api.probe_routes == frozenset({"GET /health"})


def test_route_exclusion_is_read_with_its_reason(root: pathlib.Path) -> None:
    text = REMOTE + '\n[apis.portal.routes."DELETE /appointments/{id}"]\nexclude = "under repair, OPS-7"\n'
    api = load_stage(_write(root, text), root=str(root), environ=ENV).api("portal")
    assert api.excluded == {"DELETE /appointments/{id}": "under repair, OPS-7"}
    assert load_stage(_write(root, REMOTE), root=str(root), environ=ENV).api("portal").excluded == {}


def test_generated_budget_is_read_with_defaults(root: pathlib.Path) -> None:
    """[apis.X.generated]: the contract family's examples and seconds per route and its fixed seed."""
    default = load_stage(_write(root, REMOTE), root=str(root), environ=ENV).api("portal").generated
    assert (default.examples, default.seconds, default.seed) == (12, 4.0, 16)
    text = REMOTE + "\n[apis.portal.generated]\nexamples = 30\nseconds = 2.5\nseed = 7\n"
    api = load_stage(_write(root, text), root=str(root), environ=ENV).api("portal")
    assert (api.generated.examples, api.generated.seconds, api.generated.seed) == (30, 2.5, 7)
    assert "examples" in _error(root, REMOTE + "\n[apis.portal.generated]\nexamples = 0\n")
    assert "sed" in _error(root, REMOTE + "\n[apis.portal.generated]\nsed = 1\n")


def test_environment_is_read_only_for_the_names_the_file_gives(root: pathlib.Path) -> None:
    env = RecordingEnv({**ENV, "UNRELATED": "x"})
    load_stage(_write(root, REMOTE), root=str(root), environ=env)
    assert env.asked == set(ENV)


def test_staging_example_loads_with_its_env_vars(root: pathlib.Path) -> None:
    stage = load_stage(str(REPO / "stages" / "staging.example.toml"), root=str(root), environ=STAGING_ENV)
    assert stage.name == "staging" and not stage.embedded
    portal, partner = stage.api("portal"), stage.api("partner")
    assert portal.base_url.startswith("https://") and ".execute-api." in portal.base_url
    assert portal.credentials.oauth2 is not None
    assert portal.credentials.oauth2.scopes == ("appointments/read", "appointments/write")
    assert portal.credentials.oauth2.client_secret.origin == "env:STAGEGATE_PORTAL_CLIENT_SECRET"
    assert portal.throttle.routes["POST /calls/transcribe"] == Limit(10.0, 20)
    assert partner.throttle.stage == Limit(500.0, 1000)
    assert all(api.load_allowed and not api.read_only for api in stage.apis)
    assert portal.tolerance.accepted_rel > 0.01  # wider than the emulator's
    keys = [k for p in partner.usage_plans for k in p.keys]
    assert all(k.value.origin.startswith("env:") for k in keys)
    assert [k.name for k in keys if not k.test_key] == ["partner-7", "disabled-key"]


def test_staging_example_names_a_missing_variable(root: pathlib.Path) -> None:
    env = {k: v for k, v in STAGING_ENV.items() if k != "STAGEGATE_PORTAL_CLIENT_SECRET"}
    with pytest.raises(ConfigError, match="oauth2.client_secret_env: environment variable STAGEGATE_PORTAL_"):
        load_stage(str(REPO / "stages" / "staging.example.toml"), root=str(root), environ=env)


def test_prod_example_is_read_only_without_load(root: pathlib.Path) -> None:
    stage = load_stage(str(REPO / "stages" / "prod.example.toml"), root=str(root), environ=PROD_ENV)
    assert stage.name == "prod"
    assert all(not api.load_allowed and api.read_only for api in stage.apis)
    assert {api.name for api in stage.apis} == {"portal", "partner"}


# -- malformed inputs: one line, file and dotted key --------------------------------------------

CASES = [
    ("unknown top-level key", lambda t: 'colour = "blue"\n' + t, "colour: unknown key"),
    (
        "unknown api key",
        lambda t: t.replace('flavor = "http"', 'flavor = "http"\nregion = "us-east-1"'),
        "apis.portal.region: unknown key",
    ),
    (
        "typo in nested key",
        lambda t: t.replace("burst = 200", "burts = 200"),
        "apis.portal.throttle.burts: unknown key (did you mean 'burst'?)",
    ),
    (
        "rate as a string",
        lambda t: t.replace("rate = 100", 'rate = "100"'),
        "apis.portal.throttle.rate: expected a number",
    ),
    (
        "burst as a boolean",
        lambda t: t.replace("burst = 200", "burst = true"),
        "apis.portal.throttle.burst: expected an integer, got a boolean",
    ),
    (
        "negative rate",
        lambda t: t.replace("rate = 100", "rate = -1"),
        "apis.portal.throttle.rate: must be > 0",
    ),
    (
        "zero burst",
        lambda t: t.replace("burst = 200", "burst = 0"),
        "apis.portal.throttle.burst: must be >= 1",
    ),
    (
        "rate without burst",
        lambda t: t.replace("burst = 200\n", ""),
        "apis.portal.throttle.burst: rate and burst go",
    ),
    (
        "bad period",
        lambda t: t.replace('"WEEK"', '"YEAR"'),
        "apis.partner.usage_plans.plan.period: expected one of",
    ),
    (
        "offset too large",
        lambda t: t.replace("offset = 6", "offset = 100001"),
        "apis.partner.usage_plans.plan.offset: must be <= quota",
    ),
    (
        "quota zero",
        lambda t: t.replace("quota = 50", "quota = 0"),
        "apis.partner.usage_plans.plan.quota: must be >= 1",
    ),
    (
        "bad flavor",
        lambda t: t.replace('"http"', '"websocket"'),
        'apis.portal.flavor: expected one of "http", "rest"',
    ),
    (
        "missing contract file",
        lambda t: t.replace("portal.openapi.json", "nope.json"),
        "apis.portal.contract: file not found: fixtures/clinic/nope.json",
    ),
    (
        "missing base_url",
        lambda t: t.replace('base_url = "https://abc123defg.execute-api.us-east-1.amazonaws.com"', ""),
        "apis.portal.base_url: required key is missing",
    ),
    (
        "url with two trailing slashes",
        lambda t: t.replace('.com"', '.com//"'),
        "apis.portal.base_url: must be http(s)://",
    ),
    (
        "url with a query",
        lambda t: t.replace('.com"', '.com?x=1"'),
        "apis.portal.base_url: must be http(s)://",
    ),
    (
        "url not http",
        lambda t: t.replace('"https://abc', '"ftp://abc'),
        "apis.portal.base_url: must be http(s)://",
    ),
    (
        "port out of range",
        lambda t: t.replace('.com"', '.com:70000"'),
        "apis.portal.base_url: port must be 1-65535",
    ),
    (
        "{port} outside an embedded stage",
        lambda t: t.replace('.amazonaws.com"', '.amazonaws.com:{port}"'),
        "apis.portal.base_url: {port} is allowed only in an embedded stage",
    ),
    (
        "literal secret in a non-embedded stage",
        lambda t: t.replace('bearer_token_env = "T_PORTAL_TOKEN"', 'bearer_token = "literal-secret-abcdef"'),
        "apis.portal.credentials.bearer_token: literal secrets are allowed only in embedded stages; "
        'use bearer_token_env = "ENV_NAME"',
    ),
    (
        "secret and env both given",
        lambda t: t.replace('api_key_env = "T_API_KEY"', 'api_key_env = "T_API_KEY"\napi_key = "x"'),
        "apis.partner.credentials.api_key: give either api_key or api_key_env, not both",
    ),
    (
        "invalid env var name",
        lambda t: t.replace('"T_PORTAL_TOKEN"', '"T-PORTAL"'),
        'apis.portal.credentials.bearer_token_env: "T-PORTAL" is not a valid environment variable name',
    ),
    (
        "usage plans on an http api",
        lambda t: t.replace(
            "[apis.portal.samples]",
            "[apis.portal.usage_plans.p]\nrate = 1\nburst = 1\n\n[apis.portal.samples]",
        ),
        'apis.portal.usage_plans: usage plans exist only for REST APIs (flavor = "rest")',
    ),
    (
        "route key without method",
        lambda t: t.replace('routes."POST /calls/transcribe"', 'routes."/calls/transcribe"'),
        'apis.portal.throttle.routes."/calls/transcribe": route keys are "METHOD /path"',
    ),
    (
        "route key with lower-case method",
        lambda t: t.replace('method_throttle."GET /appointments"', 'method_throttle."get /appointments"'),
        'apis.partner.usage_plans.plan.method_throttle."get /appointments": route keys',
    ),
    (
        "unknown key in an api key entry",
        lambda t: t.replace('name = "a"', 'name = "a"\nenable = false'),
        "apis.partner.usage_plans.plan.keys[0].enable: unknown key (did you mean 'enabled'?)",
    ),
    (
        "duplicate key name",
        lambda t: t + '\n[[apis.partner.usage_plans.plan.keys]]\nname = "a"\nvalue_env = "T_KEY_A"\n',
        "apis.partner.usage_plans.plan.keys[1].name: key name 'a' is used twice",
    ),
    (
        "emulator table in a non-embedded stage",
        lambda t: t.replace(
            "[apis.portal.credentials]",
            '[apis.portal.emulator]\nhandlers = "x.y"\n\n[apis.portal.credentials]',
        ),
        "apis.portal.emulator: allowed only in an embedded stage",
    ),
    (
        "TOML date in a sample body",
        lambda t: t.replace('datetime = "2030-01-01T10:00:00Z"', "datetime = 2030-01-01T10:00:00Z"),
        'apis.portal.samples.bodies."POST /appointments".datetime: TOML dates/times are not JSON',
    ),
    (
        "sample query value not a string",
        lambda t: t + '\n[apis.partner.samples.query."GET /appointments"]\nclinic_id = 7\n',
        'apis.partner.samples.query."GET /appointments".clinic_id: expected a string',
    ),
    (
        "table expected",
        lambda t: t.replace('[apis.portal.credentials]\nbearer_token_env = "T_PORTAL_TOKEN"\n', "").replace(
            'flavor = "http"', 'flavor = "http"\ncredentials = "T_PORTAL_TOKEN"'
        ),
        "apis.portal.credentials: expected a table, got a string",
    ),
    (
        "unknown key in a failure probe",
        lambda t: t + PROBE + 'path_param = { id = "crash-probe" }\n',
        "apis.portal.samples.failure_probe.path_param: unknown key (did you mean 'path_params'?)",
    ),
    (
        "failure probe route without method",
        lambda t: t + PROBE.replace("GET /clinics", "/clinics"),
        'apis.portal.samples.failure_probe.route: a failure probe names one route, "METHOD /path"',
    ),
    (
        "failure probe on $default",
        lambda t: t + PROBE.replace("GET /clinics/{id}", "$default"),
        "apis.portal.samples.failure_probe.route: a failure probe names one route",
    ),
    (
        "failure probe without route",
        lambda t: t + '\n[apis.portal.samples.failure_probe]\npath_params = { id = "x" }\n',
        "apis.portal.samples.failure_probe.route: required key is missing",
    ),
    (
        "failure probe path param not a string",
        lambda t: t + PROBE + "path_params = { id = 7 }\n",
        "apis.portal.samples.failure_probe.path_params.id: expected a string",
    ),
    ("no apis", lambda t: 'name = "x"\n', "apis: required key is missing"),
    ("timeout not positive", lambda t: "timeout_s = 0\n" + t, "timeout_s: must be > 0"),
]


@pytest.mark.parametrize(("mutate", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_malformed_stage_names_file_and_key(root: pathlib.Path, mutate, expected: str) -> None:  # noqa: ANN001
    text = mutate(REMOTE)
    assert text != REMOTE  # the mutation applied
    message = _error(root, text)
    assert message.startswith(f"stages/t.toml: {expected}"), message


def test_env_var_not_set_names_variable_and_key(root: pathlib.Path) -> None:
    env = {k: v for k, v in ENV.items() if k != "T_PORTAL_TOKEN"}
    assert _error(root, REMOTE, env) == (
        "stages/t.toml: apis.portal.credentials.bearer_token_env: "
        "environment variable T_PORTAL_TOKEN is not set"
    )


def test_env_var_empty_is_an_error(root: pathlib.Path) -> None:
    message = _error(root, REMOTE, {**ENV, "T_KEY_A": " "})
    assert (
        message == "stages/t.toml: apis.partner.usage_plans.plan.keys[0].value_env: "
        "environment variable T_KEY_A is empty"
    )


def test_literal_secret_value_never_in_the_message(root: pathlib.Path) -> None:
    text = REMOTE.replace('bearer_token_env = "T_PORTAL_TOKEN"', 'bearer_token = "literal-secret-abcdef"')
    assert "literal-secret-abcdef" not in _error(root, text)


def test_embedded_stage_errors(root: pathlib.Path) -> None:
    no_emulated = EMBEDDED.replace(
        '[apis.portal.emulator]\nhandlers = "fixtures.clinic.portal_handlers"\n', ""
    )
    assert "apis.portal.emulator: required in an embedded stage" in _error(root, no_emulated, {})
    remote_host = EMBEDDED.replace("http://127.0.0.1:{port}", "http://10.0.0.1:{port}")
    assert "apis.portal.base_url: an embedded stage serves on 127.0.0.1" in _error(root, remote_host, {})
    bad_host = EMBEDDED.replace("port = 0", 'host = "0.0.0.0"')
    assert "emulator.host: the embedded emulator listens on 127.0.0.1 only" in _error(root, bad_host, {})
    rest_no_stage = EMBEDDED.replace('"http"', '"rest"')
    assert "apis.portal.emulator.stage_name: required for a REST API" in _error(root, rest_no_stage, {})


def test_invalid_toml_reports_the_line(root: pathlib.Path) -> None:
    message = _error(root, REMOTE.replace("rate = 100", "rate = = 100"))
    assert message.startswith("stages/t.toml: invalid TOML: ")
    assert f"line {REMOTE.splitlines().index('rate = 100') + 1}" in message


def test_missing_stage_file_path(root: pathlib.Path) -> None:
    with pytest.raises(ConfigError, match=r"stages/absent\.toml: stage file not found"):
        load_stage(str(root / "stages" / "absent.toml"), root=str(root), environ={})


def test_unknown_stage_name_lists_available(root: pathlib.Path) -> None:
    _write(root, EMBEDDED, name="alpha")
    _write(root, EMBEDDED, name="beta")
    with pytest.raises(ConfigError) as info:
        load_stage("gamma", root=str(root), environ={})
    assert str(info.value) == "stages/gamma.toml: no stage named 'gamma' (available: alpha, beta)"


def test_contract_falls_back_to_the_stage_file_directory(root: pathlib.Path, tmp_path: pathlib.Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "my.json").write_text("{}")
    text = EMBEDDED.replace("fixtures/clinic/portal.openapi.json", "my.json")
    (elsewhere / "s.toml").write_text(text)
    stage = load_stage(str(elsewhere / "s.toml"), root=str(root), environ={})
    assert stage.api("portal").contract_path == str(elsewhere / "my.json")


# -- records ------------------------------------------------------------------------------------


def test_secret_repr_and_str_never_show_the_value(root: pathlib.Path) -> None:
    secret = Secret("super-secret-value", "env:X")
    assert "super-secret-value" not in repr(secret)
    assert "super-secret-value" not in str(secret)
    assert "super-secret-value" not in f"{secret}"
    stage = load_stage(_write(root, REMOTE), root=str(root), environ=ENV)
    assert not any(value in repr(stage) for value in ENV.values())
    assert "env:T_PORTAL_TOKEN" in repr(stage)  # control: the origin is shown


def test_with_port_fills_every_base_url(root: pathlib.Path) -> None:
    stage = load_stage(str(REPO / "stages" / "local.toml"), root=str(root), environ={})
    started = stage.with_port(8123)
    assert [a.base_url for a in started.apis] == [
        "http://127.0.0.1:8123/portal",
        "http://127.0.0.1:8123/partner/v1",
    ]
    assert started.emulator is not None and started.emulator.port == 8123
    assert "{port}" in stage.apis[0].base_url  # the original is unchanged (frozen)
    assert dataclasses.replace(started, apis=stage.apis).apis == stage.apis
    with pytest.raises(ValueError):
        stage.with_port(0)


def test_with_port_leaves_a_remote_stage_unchanged(root: pathlib.Path) -> None:
    stage: StageConfig = load_stage(_write(root, REMOTE), root=str(root), environ=ENV)
    assert stage.with_port(8123).apis == stage.apis


def test_default_route_key_and_deviations_live_elsewhere(root: pathlib.Path) -> None:
    text = REMOTE.replace('routes."POST /calls/transcribe"', 'routes."$default"')
    stage = load_stage(_write(root, text), root=str(root), environ=ENV)
    assert stage.api("portal").throttle.routes == {"$default": Limit(10.0, 20)}
    # Known deviations are conformance data (conformance/expectations/<stage>.toml), not stage data.
    bad = REMOTE + '\n[deviations]\n"test_x" = "reason"\n'
    assert _error(root, bad).startswith("stages/t.toml: deviations: unknown key")


def test_local_stage_loads_by_name_from_the_repo() -> None:
    """What `--stage local` does: the shipped file with the shipped contracts."""
    stage = load_stage("local", environ={})
    assert stage.path == str(REPO / "stages" / "local.toml")
    assert [api.name for api in stage.apis] == ["portal", "partner"]
    assert all(pathlib.Path(api.contract_path).is_file() for api in stage.apis)


def test_message_stays_one_line_for_keys_with_control_characters(root: pathlib.Path) -> None:
    message = _error(root, REMOTE.replace("[apis.portal.throttle]", '[apis.portal."thr\\nottle"]'))
    assert 'apis.portal."thr\\nottle": unknown key' in message


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("pk-valid\r\nX-Injected: 1", "holds a CR, LF or other control character"),
        ("pk-\u20ac-euro", "holds a character an HTTP header cannot carry"),
    ],
)
def test_a_secret_that_no_header_can_carry_is_a_configuration_error(
    root: pathlib.Path, value: str, problem: str
) -> None:
    message = _error(root, REMOTE, {**ENV, "T_API_KEY": value})
    assert problem in message and "T_API_KEY" in message
    assert value not in message  # never echoed
    assert load_stage(_write(root, REMOTE), root=str(root), environ={**ENV, "T_API_KEY": "pk-\u00e9-ok"})
