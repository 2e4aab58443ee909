"""Recipes: YAML files with one `base:` key, dotted overrides, strict validation.

Precedence: code defaults < base recipe < recipe < command line. `a.b=value` sets (value parsed as
YAML), `~a.b` removes what the recipes set so the code default applies again. Unknown keys fail
with their full dotted path and the closest valid key; `???` marks a value that must be set.
Component sections (model, optim, sched) take the keyword-only settings of the builder their
`name` selects, with that builder's defaults filled in. Recipes and override values read exponent
floats without a dot (`lr: 2e-4`, `optim.lr=1E-3`) as floats, as YAML 1.2 does (PyYAML alone: strings).
"""
from __future__ import annotations

import copy
import difflib
import hashlib
import inspect
import json
import re
import sys
from pathlib import Path

import yaml

from amuse_cli import registry
from amuse_cli.errors import ConfigError

REQUIRED = "???"
COMPONENTS = {"model": "model", "optim": "optim", "sched": "sched"}
SOURCE = "_recipe"  # the recipe path the command line named; not a setting: never dumped nor hashed

# YAML 1.1 (PyYAML) reads `1e-4`, `2E+3` and `1.5e3` as strings; YAML 1.2 and every user read them as floats.
_FLOAT_EXP = re.compile(r"^[-+]?(?:\.[0-9]+|[0-9][0-9_]*(?:\.[0-9_]*)?)[eE][-+]?[0-9]+$")


class RecipeLoader(yaml.SafeLoader):
    """safe_load plus YAML 1.2's exponent floats (yaml.SafeLoader itself is left as it is)."""


class RecipeDumper(yaml.SafeDumper):
    """safe_dump that quotes strings RecipeLoader would read as floats, so dumps load back the same."""


for _cls in (RecipeLoader, RecipeDumper):
    _cls.add_implicit_resolver("tag:yaml.org,2002:float", _FLOAT_EXP, list("-+.0123456789"))


def load_yaml(text: str):
    """A recipe document or override value (safe: plain data only)."""
    return yaml.load(text, Loader=RecipeLoader)  # noqa: S506 - RecipeLoader is a SafeLoader


DEFAULTS: dict = {
    "name": REQUIRED,            # recipe name; runs go to checkpoints/<name>/...
    "seed": 0,                   # null draws one and records it in the run's config.yaml
    "data": {
        "benchmark": "synthetic",     # synthetic | music-avqa-v1 | music-avqa-v2 | music-avqa-r
        "root": REQUIRED,             # folder holding videos/ and json/ (relative to the cwd)
        "videos": "videos",           # a folder, or a list: [Real, Synthetic] fill one cache
        "skip_missing": False,        # true: skip questions whose video is missing or failed (counted)
        "meta": "meta",               # ground truth of a synthetic set; absent on real data
        "train": "json/avqa-train.json",
        "val": "json/avqa-val.json",  # null: carved from train by video (v2.0 ships no val file)
        "val_fraction": None,         # ... this share of the train videos (null: 0.1, engine/datasets.py)
        "val_seed": None,             # ... chosen by this seed (null: 0); recorded in the run's val-split.json
        "test": "json/avqa-test.json",
        "free_text": False,           # accept rephrased (-R) questions outside the 33 templates
        "strict": True,               # false: skip bad records and report how many
        "max_tokens": 14,             # question length in tokens (v1's longest is 14)
    },
    "features": {
        "cache": "cache",             # cache root; the cache is <cache>/<dataset>-<hash8>/
        "frames": 8,                  # frames per clip, sampled evenly over the clip
        "frame_size": 256,            # pixels, square, antialiased resize
        "sample_rate": 16000,         # Hz, mono
        "n_mels": 128,
        "win_ms": 25.0,
        "hop_ms": 10.0,
        "audio_window_s": 1.0,        # log-mel window per frame, centred on the frame's time
        "clip_seconds": None,         # fixed time axis (pad or crop); null: each video's duration
        "segment_seconds": 3.0,       # rhythm/source label segments (released code: 3 s; paper: 6 s)
        "segments": 20,               # label segments per clip (fixed shape, masked): 20 x 3 s = 60 s
        "rhythm_theta": 0.25,         # tempo-change threshold as a fraction of mean BPM (paper 0.25)
        "source_method": "meta",      # meta (synthetic truth) | tagger (PANNs-style weights) | none
        "tagger_weights": None,       # file path for source_method=tagger
        "tagger_threshold": 0.2,
        "device": "auto",             # where the tagger runs: auto (CUDA if present) | cpu | cuda[:N];
                                      # not part of the cache's identity (same labels within float error)
    },
    "model": {"name": REQUIRED},
    "optim": {"name": "adamw"},
    "sched": {"name": "cosine"},
    "stage1": {                       # rhythm/source temporal encoders, pre-trained then frozen
        "epochs": 10,
        "lr": 1.0e-3,
        "batch_size": 32,
    },
    "pretrain": {                     # `amuse pretrain`: streams + scene heads on frame-level truth
        "root": "data/pretrain",      # a synthetic set of other seeds (amuse synth --seed 1 ...)
        "epochs": 30,
        "lr": 3.0e-3,
        "batch_size": 16,
        "columns": 4,                 # image columns the visual head reports (one performer each)
        "audio_epochs": 24,           # then the audio head alone on the frozen stream (heard classes)
        "audio_draws": 0,             # ... also on this many sound-only scenes of the set's world (engine/audio_draws.py)
        "audio_draws_seed": None,     # their seed: one no benchmark or pretraining set uses
        "frame_tagger": 0,            # width of the audio head's frame-by-frame tagger (0: none; models/perception.py)
        "init": None,                 # start from this perception file (pretrain.epochs=0: refit only)
        "detector_epochs": 0,         # performers found in frames (models/detector.py): the detector ...
        "crop_epochs": 0,             # ... and the crop network (class, performer, playing from motion)
        "performer_lr": 2.0e-3,
        "slots": 6,                   # performers the scene reports per clip, left to right
    },
    "train": {
        "epochs": 30,
        "batch_size": 16,             # per process; the global batch is logged
        "questions_per_video": 1,     # questions of one video per batch: its encoding is shared
        "grad_accum": 1,
        "grad_clip": 1.0,
        "precision": "bf16",          # fp32 | bf16 | fp16
        "device": "auto",             # auto | cpu | cuda
        "num_workers": 4,
        "deterministic": False,
        "keep_last": 2,               # epoch_NNN.pt files kept
        "tensorboard": False,         # event files in the run folder (pip install 'amuse[tensorboard]')
        "max_batches": None,          # cap batches per epoch (debugging)
    },
    "eval": {
        "batch_size": 64,
        "split": "test",
    },
}


def _closest(key: str, options, prefix: str = "") -> str:
    m = difflib.get_close_matches(key, list(options), n=1, cutoff=0.5)
    if m:
        return f" (did you mean '{prefix}{m[0]}'?)"
    return f" (valid keys under '{prefix[:-1] or 'the top level'}': {', '.join(sorted(options))})"


def deep_merge(base: dict, over: dict) -> dict:
    out = copy.deepcopy(base)
    for k, v in over.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = deep_merge(out[k], v)
        else:
            out[k] = copy.deepcopy(v)
    return out


def recipe_names() -> list[str]:
    """Every recipe findable by name: `amuse-tiny`, `baselines/lavish`, ... (./recipes/ and the package's)."""
    from amuse_cli.paths import PACKAGE_RECIPES, RECIPES_DIR
    names = set()
    for folder in (Path(RECIPES_DIR), PACKAGE_RECIPES):
        if folder.is_dir():
            names.update(p.relative_to(folder).with_suffix("").as_posix() for p in folder.rglob("*.yaml"))
    return sorted(names)


def find_recipe(name: str | Path) -> Path:
    """The file a RECIPE argument names, tried in order: the path as given; `<name>` or `<name>.yaml`
    under ./recipes/; the same under the installed package's recipes (amuse_cli/recipes/). A leading
    `recipes/` is optional, so `amuse-tiny`, `baselines/lavish` and `recipes/amuse.yaml` work anywhere."""
    from amuse_cli.paths import PACKAGE_RECIPES, RECIPES_DIR
    path = Path(name)
    if path.is_file():
        return path
    rel = path.as_posix()
    rel = rel[len(RECIPES_DIR) + 1:] if rel.startswith(RECIPES_DIR + "/") else rel
    for folder in (Path(RECIPES_DIR), PACKAGE_RECIPES):
        for candidate in (folder / rel, folder / f"{rel}.yaml"):
            if candidate.is_file():
                return candidate
    raise ConfigError(f"recipe {name} not found (a file, or a name under recipes/); "
                      f"available: {', '.join(recipe_names()) or 'none'}")


def read_recipe(path: str | Path, _seen: tuple = ()) -> dict:
    """The recipe's own keys merged over its `base:` chain (paths relative to each file). The top
    recipe may be a bare name (find_recipe); `base:` paths are always relative to the naming file."""
    path = find_recipe(path) if not _seen else Path(path)
    if not path.is_file():
        raise ConfigError(f"recipe {_seen[-1]}: its base {path} not found ('base:' is relative to its folder)")
    if path.resolve() in _seen:
        raise ConfigError(f"recipe {path}: 'base:' chain loops back to itself")
    try:
        data = load_yaml(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        at = f" at line {mark.line + 1} column {mark.column + 1}" if mark else ""
        raise ConfigError(f"recipe {path}: invalid YAML{at}: {getattr(e, 'problem', e)}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"recipe {path}: expected a mapping of sections, got {type(data).__name__}")
    base = data.pop("base", None)
    if base is None:
        return data
    return deep_merge(read_recipe(path.parent / base, _seen + (path.resolve(),)), data)


def parse_overrides(tokens) -> tuple[dict, list[str]]:
    """`a.b=1` tokens -> nested dict of values; `~a.b` tokens -> list of paths to remove."""
    sets, removes = {}, []
    for tok in tokens:
        if tok.startswith("~"):
            removes.append(tok[1:])
            continue
        if "=" not in tok:
            raise ConfigError(f"override {tok!r} is not key=value (e.g. train.epochs=5) or ~key")
        key, text = tok.split("=", 1)
        try:
            value = load_yaml(text) if text != "" else None
        except yaml.YAMLError:
            value = text
        node = sets
        parts = key.split(".")
        for p in parts[:-1]:
            node = node.setdefault(p, {})
            if not isinstance(node, dict):
                raise ConfigError(f"override {tok!r} conflicts with an earlier override of '{p}'")
        node[parts[-1]] = value
    return sets, removes


def flatten(tree: dict, prefix: str = "") -> dict:
    """{'a.b': value} for every leaf of a nested mapping (a recipe, or parsed overrides)."""
    out = {}
    for key, value in tree.items():
        if isinstance(value, dict):
            out.update(flatten(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


def _check_removable(dotted: str) -> None:
    """`~a.b` must name a known setting: a typo would otherwise remove nothing, silently."""
    schema, prefix = DEFAULTS, ""
    for p in dotted.split("."):
        if not isinstance(schema, dict) or p not in schema:
            raise ConfigError(f"~{dotted}: unknown key '{prefix}{p}'"
                              f"{_closest(p, schema if isinstance(schema, dict) else {}, prefix)}")
        if prefix == "" and p in COMPONENTS:
            return                           # a component's keys are its builder's (checked when built)
        schema, prefix = schema[p], f"{prefix}{p}."


def _remove(cfg: dict, dotted: str) -> None:
    _check_removable(dotted)
    node, parts = cfg, dotted.split(".")
    for p in parts[:-1]:
        node = node.get(p) if isinstance(node, dict) else None
        if not isinstance(node, dict):
            return
    if isinstance(node, dict):
        node.pop(parts[-1], None)


ONE_OR_SEVERAL = {"data.videos"}     # a string, or a list of strings
# Keys that once existed: a run folder or recipe that still has one loads, with a note, instead of
# failing as an unknown key.
RETIRED = {"train.log_every": "progress lines now come every 10 s"}


def _drop_retired(cfg: dict) -> None:
    for dotted, why in RETIRED.items():
        section, key = dotted.rsplit(".", 1)
        if isinstance(cfg.get(section), dict) and key in cfg[section]:
            cfg[section] = {k: v for k, v in cfg[section].items() if k != key}
            print(f"note: {dotted} is retired ({why}); ignored", file=sys.stderr)


def _type_ok(default, value) -> bool:
    if default is None or value is None or default == REQUIRED or value == REQUIRED:
        return True
    if isinstance(default, bool):
        return isinstance(value, bool)
    if isinstance(default, int):
        return isinstance(value, int) and not isinstance(value, bool)
    if isinstance(default, float):
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if isinstance(default, (list, tuple)):
        return isinstance(value, (list, tuple))
    return isinstance(value, type(default))


def _check(section: dict, schema: dict, prefix: str) -> None:
    for key, value in section.items():
        path = f"{prefix}{key}"
        if key not in schema:
            raise ConfigError(f"unknown key '{path}'{_closest(key, schema, prefix)}")
        default = schema[key]
        if isinstance(default, dict) and default:
            if not isinstance(value, dict):
                raise ConfigError(f"'{path}' must be a mapping of settings, got {value!r}")
            _check(value, default, path + ".")
        elif path in ONE_OR_SEVERAL and isinstance(value, list) and value and all(isinstance(v, str) for v in value):
            continue
        elif not _type_ok(default, value):
            raise ConfigError(f"'{path}' must be {type(default).__name__} like {default!r}, got {value!r}; "
                              f"fix the recipe or pass {path}=<{type(default).__name__}>")


def _resolve_component(section, kind: str, path: str) -> dict:
    if not isinstance(section, dict) or "name" not in section:
        raise ConfigError(f"'{path}' must be a mapping with a 'name' (one of: {', '.join(registry.names(kind))})")
    if section["name"] == REQUIRED or not registry.names(kind):
        return section  # nothing registered for this kind yet: nothing to check against
    builder = registry.get(kind, section["name"], f"{path}.name")
    params = registry.settings(builder)
    schema = {"name": section["name"]}
    for p in params.values():
        default = REQUIRED if p.default is inspect.Parameter.empty else p.default
        schema[p.name] = list(default) if isinstance(default, tuple) else default  # YAML has no tuples
    _check(section, schema, path + ".")
    return {**schema, **section}


def _missing(cfg, prefix="") -> list[str]:
    if isinstance(cfg, dict):
        return [m for k, v in cfg.items() for m in _missing(v, f"{prefix}{k}.")]
    return [prefix[:-1]] if cfg == REQUIRED else []


def resolve(recipe: dict, overrides=(), check_required: bool = True) -> dict:
    """Defaults < recipe (with its bases) < overrides, validated; components get builder defaults."""
    sets, removes = parse_overrides(overrides)
    cfg = deep_merge(deep_merge({k: DEFAULTS[k] for k in COMPONENTS}, recipe), sets)
    for dotted in removes:
        _remove(cfg, dotted)
    _drop_retired(cfg)
    plain_schema = {k: v for k, v in DEFAULTS.items() if k not in COMPONENTS}
    _check({k: v for k, v in cfg.items() if k not in COMPONENTS},
           {**plain_schema, **{k: {} for k in COMPONENTS}}, "")
    out = deep_merge({k: v for k, v in DEFAULTS.items()}, {k: v for k, v in cfg.items() if k not in COMPONENTS})
    for key, kind in COMPONENTS.items():
        section = cfg.get(key, DEFAULTS[key])
        out[key] = _resolve_component(section, kind, key) if section is not None else None
    if check_required:
        missing = _missing(out)
        if missing:
            raise ConfigError(f"missing required value '{missing[0]}'; set it in the recipe "
                              f"or on the command line ({missing[0]}=...)")
    return out


def load(path: str | Path, overrides=(), check_required: bool = True) -> dict:
    return resolve(read_recipe(path), overrides, check_required)


def with_source(cfg: dict, path: str | Path) -> dict:
    """cfg plus the recipe path it was loaded from (for messages that print a command to run)."""
    return {**cfg, SOURCE: str(path)}


def dump(cfg: dict) -> str:
    """The resolved recipe as YAML (without SOURCE): itself a recipe that resolves to cfg."""
    return yaml.dump({k: v for k, v in cfg.items() if k != SOURCE}, Dumper=RecipeDumper,
                     sort_keys=False, default_flow_style=False)


# How a run logs changes nothing it trains: runs that differ only there are seeds of one recipe.
UNHASHED_TRAIN_KEYS = ("tensorboard",)


def config_hash(cfg: dict, drop=("seed",)) -> str:
    """8 hex digits identifying a resolved recipe (seed excluded: runs of one recipe share it)."""
    trimmed = {k: v for k, v in cfg.items() if k not in drop and k != SOURCE}
    if isinstance(trimmed.get("train"), dict):
        trimmed["train"] = {k: v for k, v in trimmed["train"].items() if k not in UNHASHED_TRAIN_KEYS}
    return hashlib.sha256(json.dumps(trimmed, sort_keys=True, default=str).encode()).hexdigest()[:8]
