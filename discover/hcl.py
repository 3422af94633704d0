"""Terraform modules read with python-hcl2, and the small part of HCL's expressions discover evaluates.

Evaluated: literals, string templates, `var.*` (from --var, --var-file, terraform.tfvars,
*.auto.tfvars and defaults), `local.*`, `path.module`, references to arguments set in the module's
own resources, local child modules (`source = "./..."`), `jsonencode(...)` and `file(...)`.
Anything else (another function call, a conditional, a data source, a remote state, an attribute
known only after apply) becomes an `Unresolved` value that names the expression: the caller writes
it as a marked placeholder and a warning, never a guess.

python-hcl2 keeps string literals quoted ('"dev"') and expressions wrapped ('${var.env}'), which is
how a literal is told from an expression here.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from discover.errors import HclError

_REF = re.compile(r"^(var|local)\.([A-Za-z_][\w-]*)((?:\.[\w-]+|\[\d+\]|\[\"[^\"]*\"\])*)$")
_RESOURCE_REF = re.compile(r"^([a-z][a-z0-9_]*)\.([A-Za-z_][\w-]*)\.([A-Za-z_][\w-]*)$")
_ADDRESS = re.compile(r"\b((?:aws|module|data)[a-z0-9_]*\.[A-Za-z_][\w-]*)\b")
_STEP = re.compile(r"\.([\w-]+)|\[(\d+)\]|\[\"([^\"]*)\"\]")
_CALL = re.compile(r"^([a-z][a-z0-9_]*)\((.*)\)$", re.S)
_NUMBER = re.compile(r"^-?\d+(\.\d+)?([eE][-+]?\d+)?$")
_META = ("__is_block__", "__start_line__", "__end_line__", "__comments__", "__inline_comments__")


@dataclass(frozen=True)
class Unresolved:
    """A value discover does not evaluate: the expression and why."""

    expression: str
    why: str

    def __str__(self) -> str:
        return f"UNRESOLVED {self.expression} ({self.why})"


@dataclass(frozen=True, eq=False)  # compared and hashed by identity: one object per resource block
class Resource:
    type: str
    name: str
    body: Mapping[str, Any]  # as python-hcl2 serialised it (evaluate with the module's evaluator)
    file: str  # shown in messages
    module: Module

    @property
    def address(self) -> str:
        return f"{self.type}.{self.name}"

    @property
    def where(self) -> str:
        prefix = "".join(f"module.{m}." for m in self.module.path)
        return f"{prefix}{self.address} ({self.file})"

    def get(self, name: str, default: Any = None) -> Any:
        """An argument, evaluated; `default` when absent."""
        if name not in self.body:
            return default
        return self.module.evaluate(self.body[name])

    def raw(self, name: str) -> Any:
        return self.body.get(name)

    def blocks(self, name: str) -> list[Mapping[str, Any]]:
        found = self.body.get(name) or []
        return [b for b in found if isinstance(b, dict)] if isinstance(found, list) else []

    def refs(self, name: str) -> list[str]:
        """The resource addresses an argument's expression names (`aws_x.y`), for linking resources."""
        return refs(self.body.get(name))


def refs(raw: Any) -> list[str]:
    return _ADDRESS.findall(json.dumps(raw)) if raw is not None else []


@dataclass
class Module:
    """One Terraform module: its variables, locals and resources, and its child modules."""

    directory: str
    shown: str  # the directory as messages show it
    variables: dict[str, Any] = field(default_factory=dict)  # evaluated values
    locals_raw: dict[str, Any] = field(default_factory=dict)
    resources: list[Resource] = field(default_factory=list)
    path: tuple[str, ...] = ()  # module names from the root
    warnings: list[str] = field(default_factory=list)
    _locals: dict[str, Any] = field(default_factory=dict)

    def resource(self, address: str) -> Resource | None:
        return next((r for r in self.resources if r.address == address and r.module is self), None)

    # -- evaluation ---------------------------------------------------------------------------
    def evaluate(self, value: Any) -> Any:
        if isinstance(value, bool | int | float) or value is None:
            return value
        if isinstance(value, list):
            return [self.evaluate(v) for v in value]
        if isinstance(value, dict):
            return {_unquote_key(k): self.evaluate(v) for k, v in value.items() if k not in _META}
        text = str(value)
        if len(text) >= 2 and text.startswith('"') and text.endswith('"'):
            return self._template(text[1:-1])
        if text.startswith("${") and text.endswith("}"):
            return self.expression(text[2:-1])
        return self.expression(text)

    def _template(self, body: str) -> Any:
        """A quoted string: escapes undone, each ${...} interpolated (an Unresolved part spoils the whole)."""
        out: list[str] = []
        index = 0
        while index < len(body):
            if body.startswith("$${", index) or body.startswith("%%{", index):
                out.append(body[index + 1 : index + 3])
                index += 3
            elif body.startswith("${", index):
                end = _closing(body, index + 2)
                inner = body[index + 2 : end]
                value = self.expression(inner)
                if isinstance(value, Unresolved):
                    return Unresolved(f'"{body}"', value.why)
                if isinstance(value, dict | list):
                    return Unresolved(f'"{body}"', "a collection inside a string")
                out.append(_text(value))
                index = end + 1
            elif body.startswith("%{", index):
                return Unresolved(f'"{body}"', "a template directive")
            elif body[index] == "\\" and index + 1 < len(body):
                out.append({"n": "\n", "t": "\t", "r": "\r"}.get(body[index + 1], body[index + 1]))
                index += 2
            else:
                out.append(body[index])
                index += 1
        return "".join(out)

    def expression(self, text: str) -> Any:
        text = text.strip()
        while text.startswith("(") and _closing(text, 1, "(", ")") == len(text) - 1:
            text = text[1:-1].strip()
        if text in ("true", "false"):
            return text == "true"
        if text == "null":
            return None
        if _NUMBER.match(text):
            return float(text) if any(c in text for c in ".eE") else int(text)
        if (
            len(text) >= 2
            and text.startswith('"')
            and text.endswith('"')
            and _closing_quote(text) == len(text) - 1
        ):
            return self._template(text[1:-1])
        if text == "path.module":
            return self.directory
        match = _REF.match(text)
        if match:
            kind, name, steps = match.groups()
            if kind == "var":
                if name not in self.variables:
                    return Unresolved(
                        text, f"variable {name} has no value (--var {name}=..., a .tfvars file)"
                    )
                base = self.variables[name]
            else:
                base = self._local(name)
            return _index(base, steps, text)
        call = _CALL.match(text)
        if call:
            return self._call(call.group(1), call.group(2), text)
        if text.startswith("data.terraform_remote_state."):
            return Unresolved(text, "a remote state")
        if text.startswith("data."):
            return Unresolved(text, "a data source, read only at plan time")
        if text.startswith("module."):
            return Unresolved(text, "a module output")
        resource = _RESOURCE_REF.match(text)
        if resource:
            type_, name, attribute = resource.groups()
            return self._attribute(type_, name, attribute, text)
        if text.startswith("[") or text.startswith("{"):
            return self._collection(text)
        return Unresolved(text, "an expression stagegate does not evaluate")

    def _local(self, name: str) -> Any:
        if name not in self._locals:
            if name not in self.locals_raw:
                return Unresolved(f"local.{name}", "no such local value")
            self._locals[name] = Unresolved(f"local.{name}", "refers to itself")  # cycle guard
            self._locals[name] = self.evaluate(self.locals_raw[name])
        return self._locals[name]

    def _collection(self, text: str) -> Any:
        """A tuple or object literal inside an expression (e.g. a jsonencode argument), parsed as HCL."""
        import hcl2

        try:
            parsed = hcl2.loads(f"x = {text}\n", serialization_options=_options())
        except Exception:
            return Unresolved(text, "an expression stagegate does not evaluate")
        return self.evaluate(parsed.get("x"))

    def _call(self, function: str, argument: str, text: str) -> Any:
        if function == "jsonencode":
            value = self.expression(argument)
            if _has_unresolved(value):
                return Unresolved(text, "jsonencode of a value stagegate cannot evaluate")
            return json.dumps(value, separators=(",", ":"))
        if function == "file":
            path = self.expression(argument)
            if isinstance(path, Unresolved):
                return Unresolved(text, path.why)
            full = path if os.path.isabs(str(path)) else os.path.join(self.directory, str(path))
            try:
                with open(full, encoding="utf-8") as handle:
                    return handle.read()
            except OSError as exc:
                return Unresolved(text, f"cannot read {path}: {exc.strerror}")
        return Unresolved(text, f"a function call ({function})")

    def _attribute(self, type_: str, name: str, attribute: str, text: str) -> Any:
        found = self.resource(f"{type_}.{name}")
        if found is None:
            return Unresolved(text, f"{type_}.{name} is not a resource of this module")
        if attribute in found.body and attribute not in ("id", "arn"):
            return found.get(attribute)
        if type_ == "aws_lambda_function" and attribute in ("arn", "invoke_arn"):
            function = found.get("function_name")
            if isinstance(function, str):
                arn = f"arn:aws:lambda:REGION:ACCOUNT_ID:function:{function}"
                if attribute == "arn":
                    return arn
                return f"arn:aws:apigateway:REGION:lambda:path/2015-03-31/functions/{arn}/invocations"
        return Unresolved(text, "known only after apply")


def _options() -> Any:
    from hcl2 import SerializationOptions

    return SerializationOptions(with_comments=False, preserve_heredocs=False)


def _has_unresolved(value: Any) -> bool:
    if isinstance(value, Unresolved):
        return True
    if isinstance(value, dict):
        return any(_has_unresolved(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_unresolved(v) for v in value)
    return False


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def _unquote_key(key: str) -> str:
    return key[1:-1] if len(key) >= 2 and key.startswith('"') and key.endswith('"') else key


def _index(base: Any, steps: str, text: str) -> Any:
    value = base
    for attr, number, quoted in _STEP.findall(steps):
        if isinstance(value, Unresolved):
            return value
        step: str | int = attr or quoted or int(number)
        try:
            value = value[step]
        except (KeyError, IndexError, TypeError):
            return Unresolved(text, f"no element {step!r}")
    return value


def _closing(text: str, start: int, open_: str = "{", close: str = "}") -> int:
    """The index of the bracket that closes the one before `start` (quotes respected)."""
    depth, index, quoted = 1, start, False
    while index < len(text):
        char = text[index]
        if quoted:
            if char == "\\":
                index += 1
            elif char == '"':
                quoted = False
        elif char == '"':
            quoted = True
        elif char == open_:
            depth += 1
        elif char == close:
            depth -= 1
            if depth == 0:
                return index
        index += 1
    return len(text)


def _closing_quote(text: str) -> int:
    """The index of the quote that closes the string opened at text[0] (templates may nest quotes)."""
    index = 1
    while index < len(text):
        if text[index] == "\\":
            index += 2
            continue
        if text.startswith("${", index):
            index = _closing(text, index + 2) + 1
            continue
        if text[index] == '"':
            return index
        index += 1
    return len(text)


# -- loading ----------------------------------------------------------------------------------------
def _parse(path: str, shown: str) -> dict[str, Any]:
    import hcl2
    from lark.exceptions import LarkError

    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    except OSError as exc:
        raise HclError(f"{shown}: cannot read it ({exc.strerror})") from None
    try:
        return dict(hcl2.loads(text, serialization_options=_options()))
    except LarkError as exc:
        line, column = getattr(exc, "line", "?"), getattr(exc, "column", "?")
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise HclError(
            f"{shown}: line {line}, column {column}: does not parse as HCL ({first[:120]}); fix it "
            "(`terraform validate` shows the same place)"
        ) from None
    except Exception as exc:  # python-hcl2 raises plain errors for some constructs
        raise HclError(f"{shown}: does not parse as HCL ({str(exc)[:160]}); fix it") from None


def parse_var(given: str) -> tuple[str, Any]:
    """--var NAME=VALUE: the value as Terraform takes it on the command line (a string; HCL for [..]/{..})."""
    name, sep, value = given.partition("=")
    if not sep or not re.match(r"^[A-Za-z_][\w-]*$", name):
        raise HclError(f"--var {given}: expected NAME=VALUE (e.g. --var env=staging)")
    return name, value


def _tfvars(path: str, shown: str, into: dict[str, Any]) -> None:
    root = Module(os.path.dirname(path), shown)
    for name, raw in _parse(path, shown).items():
        if name not in _META:
            into[name] = root.evaluate(raw)


def load_module(
    directory: str,
    cli_vars: Mapping[str, Any] | None = None,
    var_files: tuple[str, ...] = (),
    shown: str | None = None,
    path: tuple[str, ...] = (),
    given: Mapping[str, Any] | None = None,
) -> Module:
    """Parse every *.tf of a directory and its local child modules. Raises HclError."""
    shown = shown or directory
    if not os.path.isdir(directory):
        raise HclError(f"--terraform {shown}: not a directory; give the Terraform module of one environment")
    files = sorted(n for n in os.listdir(directory) if n.endswith(".tf"))
    if not files:
        raise HclError(f"--terraform {shown}: no *.tf files; give the Terraform module of one environment")
    module = Module(directory, shown, path=path)
    parsed = [(name, _parse(os.path.join(directory, name), os.path.join(shown, name))) for name in files]
    defaults: dict[str, Any] = {}
    for _, doc in parsed:
        for block in doc.get("variable", []):
            for name, body in block.items():
                if isinstance(body, dict) and "default" in body:
                    defaults[_unquote_key(name)] = module.evaluate(body["default"])
                else:
                    defaults.setdefault(
                        _unquote_key(name), Unresolved(f"var.{_unquote_key(name)}", "no value")
                    )
        for block in doc.get("locals", []):
            module.locals_raw.update({k: v for k, v in block.items() if k not in _META})
    values = {k: v for k, v in defaults.items() if not isinstance(v, Unresolved)}
    if given is not None:  # a child module: its arguments
        values.update(given)
    else:
        auto = ["terraform.tfvars"] + sorted(n for n in os.listdir(directory) if n.endswith(".auto.tfvars"))
        for name in auto:
            if os.path.isfile(os.path.join(directory, name)):
                _tfvars(os.path.join(directory, name), os.path.join(shown, name), values)
        for var_file in var_files:
            if not os.path.isfile(var_file):
                raise HclError(f"--var-file {var_file}: no such file")
            _tfvars(var_file, var_file, values)
        values.update(cli_vars or {})
    module.variables = values
    for file_name, doc in parsed:
        for block in doc.get("resource", []):
            for type_, named in block.items():
                for name, body in named.items():
                    if isinstance(body, dict):
                        resource = Resource(_unquote_key(type_), _unquote_key(name), body, file_name, module)
                        if "count" in body or "for_each" in body:
                            module.warnings.append(
                                f"{resource.where}: count/for_each is not expanded; read as one instance"
                            )
                        module.resources.append(resource)
    children: list[Module] = []
    for file_name, doc in parsed:
        for block in doc.get("module", []):
            for name, body in block.items():
                children += _child(module, _unquote_key(name), body, file_name)
    for child in children:
        module.resources += child.resources
        module.warnings += child.warnings
    return module


def _child(parent: Module, name: str, body: Mapping[str, Any], file_name: str) -> list[Module]:
    source = parent.evaluate(body.get("source"))
    where = f"module.{name} ({os.path.join(parent.shown, file_name)})"
    if not isinstance(source, str) or not source.startswith(("./", "../")):
        parent.warnings.append(
            f"{where}: source {source} is not a local directory; its resources are not read"
        )
        return []
    arguments = {
        _unquote_key(k): parent.evaluate(v)
        for k, v in body.items()
        if k not in (*_META, "source", "version", "providers", "depends_on", "count", "for_each")
    }
    directory = os.path.normpath(os.path.join(parent.directory, source))
    shown = os.path.normpath(os.path.join(parent.shown, source))
    return [load_module(directory, shown=shown, path=(*parent.path, name), given=arguments)]
