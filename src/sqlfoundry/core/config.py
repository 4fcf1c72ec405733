"""Config files: TOML, YAML or JSON, read into a plain dict.

Every command and the Python API read their config through :func:`read_config`,
so a file means the same thing to both. The sections (``[synth]``, ``[llm]``,
``[[steps]]``, ...) are checked by the pydantic models of the layers that use them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from sqlfoundry.core.errors import ConfigError, InputError
from sqlfoundry.core.io import is_stdio, read_text

SUFFIXES = (".toml", ".yaml", ".yml", ".json")


def read_config(path: str | Path) -> dict[str, Any]:
    """Read a TOML, YAML or JSON config file (told by its suffix; JSON otherwise).

    ``-`` reads standard input: JSON when it opens with ``{``, else TOML, else YAML.

    Raises:
        ConfigError: the file is missing, unreadable, malformed or not a mapping;
            the message names the file.
    """
    path = Path(path)
    if is_stdio(path):
        try:
            text = read_text(path)
        except InputError as error:
            raise ConfigError(error.message, file=error.file) from None
        return _mapping(_parse_stdin(text), "<stdin>")
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError("no such config file", file=str(path)) from None
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(f"cannot read config: {error}", file=str(path)) from None
    suffix = path.suffix.lower()
    try:
        if suffix == ".toml":
            import tomllib

            data: Any = tomllib.loads(text)
        elif suffix in (".yaml", ".yml"):
            import yaml

            data = yaml.safe_load(text) or {}
        else:
            data = json.loads(text)
    except Exception as error:  # noqa: BLE001 - every parser's error is reported the same way
        raise ConfigError(f"cannot read config: {error}", file=str(path)) from None
    return _mapping(data, str(path))


def _mapping(data: Any, name: str) -> dict[str, Any]:
    if not isinstance(data, Mapping):
        raise ConfigError("a config file must hold a mapping of sections", file=name)
    return dict(data)


def _parse_stdin(text: str) -> Any:
    import tomllib

    import yaml

    if text.lstrip().startswith("{"):
        try:
            return json.loads(text)
        except ValueError as error:
            raise ConfigError(f"cannot read config: {error}", file="<stdin>") from None
    try:
        return tomllib.loads(text)
    except ValueError as toml_error:
        try:  # not TOML: YAML, whose errors say less about a TOML-looking text
            return yaml.safe_load(text) or {}
        except yaml.YAMLError:
            raise ConfigError(f"cannot read config (as TOML): {toml_error}",
                              file="<stdin>") from None  # fmt: skip


def config_mapping(config: str | Path | Mapping[str, Any] | None) -> dict[str, Any]:
    """A config given as a file path, an already-read mapping, or nothing (``{}``)."""
    if config is None:
        return {}
    if isinstance(config, Mapping):
        return dict(config)
    return read_config(config)


def section_settings(model: Any, section: Mapping[str, Any] | None, overrides: Mapping[str, Any],
                     name: str) -> Any:  # fmt: skip
    """``model`` built from a config file's ``[name]`` section with the non-None
    ``overrides`` (CLI flags, keyword arguments) on top.

    Raises:
        ConfigError: ``bad [name] settings: field: problem; ...``.
    """
    from pydantic import ValidationError

    merged = dict(section or {})
    merged.update({k: v for k, v in overrides.items() if v is not None})
    try:
        return model(**merged)
    except ValidationError as err:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in err.errors())
        raise ConfigError(f"bad [{name}] settings: {problems}") from None
