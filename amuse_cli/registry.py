"""Components chosen by name in recipes: `@register("model", "amuse")`, then `create(...)`.

A builder's keyword-only parameters are its recipe settings; positional parameters are supplied
by the engine (model inputs' sizes, the parameters to optimise, ...). Modules holding builders are
imported on first use of their kind, so `import amuse_cli` stays light.
"""
from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable

from amuse_cli.errors import ConfigError

_REGISTRY: dict[str, dict[str, Callable]] = {}
# kind -> modules whose import registers that kind's builders
_PROVIDERS = {
    "model": ("amuse_cli.models",),
    "optim": ("amuse_cli.engine.optim",),
    "sched": ("amuse_cli.engine.optim",),
    "source_labeler": ("amuse_cli.features.sources",),
}


def register(kind: str, name: str):
    def deco(fn: Callable) -> Callable:
        table = _REGISTRY.setdefault(kind, {})
        if name in table and table[name] is not fn:
            raise ValueError(f"{kind} {name!r} registered twice")
        table[name] = fn
        return fn
    return deco


def _load(kind: str) -> None:
    for mod in _PROVIDERS.get(kind, ()):
        try:
            importlib.import_module(mod)
        except ModuleNotFoundError as e:
            if e.name is None or not mod.startswith(e.name):  # a real missing dependency
                raise


def names(kind: str) -> list[str]:
    _load(kind)
    return sorted(_REGISTRY.get(kind, {}))


def get(kind: str, name: str, where: str = "") -> Callable:
    _load(kind)
    table = _REGISTRY.get(kind, {})
    if name not in table:
        where = where or f"{kind}.name"
        raise ConfigError(f"unknown {kind} {name!r} at '{where}'; registered: {', '.join(sorted(table)) or 'none'}")
    return table[name]


def settings(fn: Callable) -> dict[str, inspect.Parameter]:
    """The recipe settings of a builder: its keyword-only parameters."""
    return {p.name: p for p in inspect.signature(fn).parameters.values()
            if p.kind is inspect.Parameter.KEYWORD_ONLY}


def create(kind: str, section: dict, *args, where: str = ""):
    """Build `section['name']` with the section's other keys as keyword arguments."""
    kwargs = {k: v for k, v in section.items() if k != "name"}
    fn = get(kind, section["name"], where)
    return fn(*args, **kwargs)
