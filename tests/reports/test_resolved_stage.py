"""The port-filled embedded stage for the parts: attached to the running emulator, no secret in the file."""

from __future__ import annotations

import tomllib
from pathlib import Path

from fixtures.stage import load_stage
from fixtures.stage.copies import dumps, env_name, private_stage, write_resolved_stage


def test_resolved_stage_loads_as_remote_with_the_same_secrets_from_env(tmp_path: Path) -> None:
    stage = load_stage("local")
    for api in stage.apis:  # the emulator generates these at start; a remote stage needs them to exist
        assert api.credentials.signing_key is not None
        Path(api.credentials.signing_key.key_file).parent.mkdir(parents=True, exist_ok=True)
    keys = [Path(a.credentials.signing_key.key_file) for a in stage.apis if a.credentials.signing_key]
    created = [k for k in keys if not k.exists()]
    for key in created:
        key.write_text("placeholder")
    try:
        path, env = write_resolved_stage(stage, 45678, tmp_path)
        text = path.read_text()
        assert "{port}" not in text and "port = 45678" in text
        for secret in stage.secrets():
            assert secret not in text
        resolved = load_stage(str(path), environ=env)
    finally:
        for key in created:
            key.unlink(missing_ok=True)
    # Still the emulator (its exact answers are asserted), but running: no part starts another one.
    assert resolved.embedded and not resolved.needs_emulator and stage.needs_emulator
    assert [a.base_url for a in resolved.apis] == [
        "http://127.0.0.1:45678/portal",
        "http://127.0.0.1:45678/partner/v1",
    ]
    assert set(resolved.secrets()) == set(stage.secrets())
    assert [a.load_allowed for a in resolved.apis] == [a.load_allowed for a in stage.apis]
    assert all(name.startswith("STAGEGATE_LOCAL_") for name in env)
    # The parts read the stage's deviations and waivers beside the file they are given.
    from fixtures.stage.deviations import load_deviations

    assert load_deviations(resolved).path == str(path).removesuffix(".toml") + ".deviations.toml"
    assert load_deviations(resolved).deviations == load_deviations(stage).deviations


def test_env_names_are_upper_case_identifiers() -> None:
    assert env_name("local", "partner", "key", "quota-test-plan", "disabled key") == (
        "STAGEGATE_LOCAL_PARTNER_KEY_QUOTA_TEST_PLAN_DISABLED_KEY"
    )
    # One rule for the copies and discover's suggestions: a part with no letter or digit is dropped
    # (discover meets AWS key names such as "--" or non-Latin ones), never a doubled "_".
    assert env_name("partner", "key", "--", "Partner 7 (prod)") == "STAGEGATE_PARTNER_KEY_PARTNER_7_PROD"
    assert env_name("portal", "lambda_token") == "STAGEGATE_PORTAL_LAMBDA_TOKEN"


def test_toml_writer_round_trips_nested_tables_arrays_and_quoted_keys() -> None:
    data = {
        "name": 'a "quoted" name',
        "n": 1.5,
        "ok": True,
        "apis": {
            "portal": {
                "throttle": {"routes": {"POST /calls/transcribe": {"rate": 10, "burst": 20}}},
                "samples": {"path_params": {"id": "x"}, "list": ["a", "b"]},
                "plans": {
                    "p": {"keys": [{"name": "k1", "value_env": "E1"}, {"name": "k2", "enabled": False}]}
                },
            }
        },
    }
    assert tomllib.loads(dumps(data)) == data


def test_private_stage_moves_only_the_signing_keys_into_the_runs_folder(tmp_path: Path) -> None:
    stage = load_stage("local")
    own = load_stage(str(private_stage(stage, tmp_path)))
    keys = [a.credentials.signing_key.key_file for a in own.apis if a.credentials.signing_key]
    assert keys == [str(tmp_path / f"{a.name}-signing-key.pem") for a in own.apis]
    shared = [a.credentials.signing_key.key_file for a in stage.apis if a.credentials.signing_key]
    assert not set(keys) & set(shared)  # control: the shared stage still points elsewhere
    assert own.embedded and own.name == stage.name
    assert [a.contract_path for a in own.apis] == [a.contract_path for a in stage.apis]
    assert [a.throttle for a in own.apis] == [a.throttle for a in stage.apis]
    assert set(own.secrets()) == set(stage.secrets())


def test_resolved_stage_of_the_started_emulator_points_at_its_own_keys(tmp_path: Path) -> None:
    own = load_stage(str(private_stage(load_stage("local"), tmp_path))).with_port(45679)
    for api in own.apis:
        Path(api.credentials.signing_key.key_file).write_text("placeholder")  # the emulator makes these
    path, env = write_resolved_stage(own, 45679, tmp_path / "out")
    resolved = load_stage(str(path), environ=env)
    assert [a.credentials.signing_key.key_file for a in resolved.apis] == [
        str(tmp_path / f"{a.name}-signing-key.pem") for a in resolved.apis
    ]
    assert resolved.apis[0].base_url == "http://127.0.0.1:45679/portal"


def test_literal_token_sources_of_an_embedded_stage_travel_in_the_environment(tmp_path: Path) -> None:
    source = Path("stages/local.toml").read_text()
    extra = '\nwrong_issuer = { token = "planted-wrong-issuer-token-9f2" }\n'
    text = source.replace('kid = "stagegate-local-portal"', 'kid = "stagegate-local-portal"' + extra, 1)
    assert text != source
    copy = tmp_path / "local.toml"
    copy.write_text(text)
    stage = load_stage(str(copy))
    path, env = write_resolved_stage(stage, 45679, tmp_path)
    assert "planted-wrong-issuer-token-9f2" not in path.read_text()
    assert "planted-wrong-issuer-token-9f2" in env.values()
