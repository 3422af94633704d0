"""Read the load part's results from out/<stage>/load/ (written by load/locustfile.py).

The schema is load/README.md (load/results.py): `summary.json` is the list of scenario records,
each also in `<api>.<scenario>.json` with "id", "verdict", "reasons", "configured" {rate, burst,
quota}, "fitted" {rate, burst}, "offered", "sent", "duration_s", "series" {offered, accepted,
throttled, quota_rejected, model_accepted: per-second counts}, "checks" (the failed comparisons),
"chart" (series at the scale of the behaviour, reports/write/charts.py) and "locust" {name: file}.
Also accepted (older draft): a summary object {"verdict", "reasons", "scenarios": [...]} and
"per_second" rows. Unknown keys are ignored; missing ones become None.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from reports.gate import LoadResult, ScenarioResult, SecondSample

PARAMS = ("rate", "burst", "quota", "offered_rate", "achieved_rate", "fitted_rate", "fitted_burst")
POWER = ("margin", "required_margin", "requests", "default_requests")  # load/README.md "power"
_SECTIONS = ("params", "configured", "observations", "fit", "model")
OBSERVATION_KEYS = (
    "rule", "offered", "sent", "dropped", "late", "late_share", "accepted", "throttled", "quota_rejected",
    "expected_accepted", "expected_band", "statuses", "duration_s", "model",
)  # fmt: skip
_THROTTLED = ("throttled", "rejected", "status_429", "429")
_MODEL = ("model_accepted", "expected_accepted", "model")
ATTACH_SUFFIXES = (".csv", ".html")
LOCUST_NOT_ATTACHED = ("history_csv", "exceptions_csv", "csv_prefix")  # long or rarely useful


def _pick(data: Mapping[str, Any], name: str) -> Any:
    if name in data:
        return data[name]
    for section in _SECTIONS:
        inner = data.get(section)
        if isinstance(inner, Mapping) and name in inner:
            return inner[name]
    return None


def _first(row: Mapping[str, Any], names: tuple[str, ...]) -> Any:
    return next((row[n] for n in names if n in row), None)


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def parse_seconds(rows: Any) -> tuple[SecondSample, ...]:
    """Per-second rows -> samples; rows without numbers are dropped, not guessed."""
    out = []
    for index, row in enumerate(rows if isinstance(rows, list) else []):
        if not isinstance(row, Mapping):
            continue
        offered, accepted = _number(row.get("offered")), _number(row.get("accepted"))
        throttled = _number(_first(row, _THROTTLED))
        if offered is None or accepted is None:
            continue
        t = _number(row.get("t"))
        out.append(
            SecondSample(
                t=float(index) if t is None else t,
                offered=int(offered),
                accepted=int(accepted),
                throttled=int(throttled or 0),
                model_accepted=_number(_first(row, _MODEL)),
            )
        )
    return tuple(out)


def series_rows(series: Any) -> list[dict[str, Any]]:
    """{"offered": [..], "accepted": [..], ...} per second -> rows; 429s = throttled + quota_rejected."""
    if not isinstance(series, Mapping) or not isinstance(series.get("offered"), list):
        return []

    def at(name: str, i: int) -> Any:
        values = series.get(name)
        return values[i] if isinstance(values, list) and i < len(values) else None

    return [
        {
            "t": i,
            "offered": at("offered", i),
            "accepted": at("accepted", i),
            "throttled": (at("throttled", i) or 0) + (at("quota_rejected", i) or 0),
            "model_accepted": at("model_accepted", i),
        }
        for i in range(len(series["offered"]))
    ]


def _rate(count: Any, seconds: Any) -> float | None:
    c, s = _number(count), _number(seconds)
    return round(c / s, 2) if c is not None and s else None


def _params(data: Mapping[str, Any]) -> dict[str, Any]:
    params = {name: _pick(data, name) for name in PARAMS}
    fitted = data.get("fitted")
    if isinstance(fitted, Mapping):
        params["fitted_rate"] = (
            params["fitted_rate"] if params["fitted_rate"] is not None else fitted.get("rate")
        )
        params["fitted_burst"] = (
            params["fitted_burst"] if params["fitted_burst"] is not None else fitted.get("burst")
        )
    if params["offered_rate"] is None:
        params["offered_rate"] = _rate(data.get("offered"), data.get("duration_s"))
    if params["achieved_rate"] is None:
        params["achieved_rate"] = _rate(data.get("sent"), data.get("duration_s"))
    power = data.get("power")  # the scenario's power to tell enforcement from none (null: not judged so)
    if isinstance(power, Mapping):
        params.update({f"power_{k}": power.get(k) for k in POWER})
    return params


def _files(data: Mapping[str, Any], load_dir: Path, api: str, scenario: str) -> tuple[str, ...]:
    given = list(data.get("files") or [])
    if isinstance(data.get("locust"), Mapping):
        given += [v for k, v in data["locust"].items() if k not in LOCUST_NOT_ATTACHED]
    named = [Path(f) if Path(f).is_absolute() else load_dir / f for f in given if isinstance(f, str)]
    globbed = sorted(p for p in load_dir.glob(f"{api}.{scenario}*") if p.suffix in ATTACH_SUFFIXES)
    return tuple(dict.fromkeys(str(p) for p in [*named, *globbed] if p.is_file()))


def _count(value: Any) -> int:
    return int(value) if isinstance(value, int | float) and not isinstance(value, bool) else 0


def fallback_detail(data: Mapping[str, Any]) -> str:
    """A compact line from the counts, for records that do not carry their own "detail"."""
    offered, accepted = _pick(data, "offered"), _pick(data, "accepted")
    if _number(offered) is None or _number(accepted) is None:
        return ""
    line = f"accepted {_count(accepted)}/{_count(offered)}"
    model = _number(_pick(data, "expected_accepted"))
    line += f" (model {model:g})" if model is not None else ""
    line += f", 429: {_count(_pick(data, 'throttled')) + _count(_pick(data, 'quota_rejected'))}"
    raw_fitted = data.get("fitted")
    fitted: Mapping[str, Any] = raw_fitted if isinstance(raw_fitted, Mapping) else {}
    rate, burst = _number(fitted.get("rate")), _number(fitted.get("burst"))
    line += f", fitted rate {rate:.4g}/s" if rate is not None else ""
    return line + (f", fitted burst {burst:.4g}" if burst is not None else "")


def parse_scenario(data: Mapping[str, Any], load_dir: Path, fallback_key: str = "") -> ScenarioResult:
    """One scenario record -> ScenarioResult (files made absolute, missing ones dropped)."""
    api, _, scenario = str(data.get("id") or fallback_key).partition(".")
    api = str(data.get("api") or api or "?")
    scenario = str(data.get("scenario") or scenario or "?")
    reasons = data.get("reasons") or ()
    observations = data.get("observations")
    if not isinstance(observations, Mapping):
        observations = {k: data[k] for k in OBSERVATION_KEYS if k in data}
    return ScenarioResult(
        api=api,
        scenario=scenario,
        verdict=str(data.get("verdict") or "inconclusive"),
        reasons=tuple(str(r) for r in (reasons if isinstance(reasons, list | tuple) else [reasons])),
        params=_params(data),
        per_second=parse_seconds(data.get("per_second") or series_rows(data.get("series"))),
        observations=dict(observations),
        files=_files(data, load_dir, api, scenario),
        detail=str(data.get("detail") or fallback_detail(data)),
        checks=tuple(c for c in data.get("checks") or () if isinstance(c, Mapping)),
        chart=data["chart"] if isinstance(data.get("chart"), Mapping) else {},
    )


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def read_load(load_dir: Path, exit_code: int | None = None) -> LoadResult | None:
    """None when summary.json is absent or unreadable (the part left no results)."""
    summary = _read_json(load_dir / "summary.json")
    if isinstance(summary, list):  # load/results.py: the list of scenario records itself
        summary = {"scenarios": summary}
    if not isinstance(summary, Mapping):
        return None
    listed = [s for s in summary.get("scenarios") or () if isinstance(s, Mapping)]
    entries = {
        str(s.get("file") or f"{s.get('id') or str(s.get('api')) + '.' + str(s.get('scenario'))}.json"): s
        for s in listed
    }
    if not entries:  # no list: every <api>.<scenario>.json beside summary.json
        entries = {p.name: {} for p in sorted(load_dir.glob("*.*.json"))}
    scenarios = []
    for name, entry in entries.items():
        data = _read_json(load_dir / name)
        merged = {**entry, **data} if isinstance(data, Mapping) else dict(entry)
        if merged:
            scenarios.append(parse_scenario(merged, load_dir, name.removesuffix(".json")))
    reasons = summary.get("reasons") or ()
    run = _read_json(load_dir / "run.json")  # load/results.py RUN_FILE: the run's scenario selection
    selection = run.get("selection") if isinstance(run, Mapping) else None
    return LoadResult(
        selection=tuple(str(s) for s in selection) if isinstance(selection, list) else (),
        scenarios=tuple(scenarios),
        verdict=str(summary["verdict"]) if summary.get("verdict") else None,
        reasons=tuple(str(r) for r in reasons) if isinstance(reasons, list | tuple) else (str(reasons),),
        exit_code=exit_code,
    )
