"""One flat key space shared by the CLI (``--set key=value``), YAML presets and notebook
parameters. Inside, the keys every run has form the ``Config`` dataclass below; each method's own
keys form a small options dataclass (a subclass of ``Options``) that the method registers with
``register_options``, the way a peft tuner owns its config. Users never see the split:
``bottleneck_a`` or ``lora_rank`` is set like ``lr``, ``cfg.lora_rank`` reads it, and
``to_dict()`` (what ``config.yaml`` holds) is flat. A preset is a YAML file in
``mosaic_kit/config/presets`` holding a subset of the keys; ``load_config`` applies preset, then
YAML file, then ``--set`` overrides, and validates it.
"""

from __future__ import annotations

import dataclasses
import difflib
from dataclasses import dataclass, field
from typing import Any, Dict, List, Mapping, Optional, Sequence, Type

from .coerce import type_problems
from .keys import DataKeys, ModelKeys, SpeedKeys, TrainingKeys
from .options import (
    O,
    Options,
    option,
    register_options,
    registered_options,
    reserve_shared_keys,
    unregister_options,
)
from .options import option_fields as _option_fields
from .values import value_problems

__all__ = [
    "Config",
    "Options",
    "option",
    "register_options",
    "unregister_options",
    "all_keys",
    "key_help",
    "path_keys",
    "LEGACY_DEFAULTS",
    "recorded_defaults",
]


#: Keys whose default changed after they were added, with the value a run recorded without them had:
#: such a run counts at this value, not at today's default (a new key's default keeps the old
#: behaviour).
LEGACY_DEFAULTS: Dict[str, Any] = {"tokenizer_3d_init": "random"}


def recorded_defaults() -> Dict[str, Any]:
    """The value of every key for a run whose recorded configuration lacks it (written before the
    key existed)."""
    return {**Config().to_dict(), **LEGACY_DEFAULTS}


_f = option  # a shared key: default, help text, path=True for files and folders


@dataclass
class Config(SpeedKeys, TrainingKeys, ModelKeys, DataKeys):
    """Every key of a run: the shared groups (``keys``), then each method's options, flat."""

    # every method's own keys, flat
    method_options: Dict[str, Any] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        if isinstance(self.datasets, str):
            self.datasets = [d for d in self.datasets.split(",") if d.strip()]
        if self.tokenizer_3d_init == "auto":  # recorded as what ran: config.yaml never says "auto"
            self.tokenizer_3d_init = "inflate" if self.weights else "random"
        problems = type_problems(self)
        if problems:  # range checks below assume the right types
            raise ValueError("Invalid configuration: " + "; ".join(problems))
        problems = value_problems(self)
        if problems:
            raise ValueError("Invalid configuration: " + "; ".join(problems))
        # (the registry reads medmnist, which imports torch: imported here, not at the top)
        from ..data.specs import register_spec_files

        register_spec_files(self.custom_datasets)  # their names become valid in `datasets`
        self._check_method_options()

    def _check_method_options(self) -> None:
        """Fill every registered method key (defaults for the unset), validated by its options
        class."""
        values = dict(self.method_options)
        _check_keys(list(values), "method options", valid=list(_option_fields()))
        checked: Dict[str, Any] = {}
        for cls in registered_options():
            names = [f.name for f in dataclasses.fields(cls)]
            opts = cls(**{k: values[k] for k in names if k in values})
            checked.update({k: getattr(opts, k) for k in names})
        self.method_options = checked

    def __getattr__(self, name: str) -> Any:  # flat read access to the methods' keys: cfg.lora_rank
        opts = self.__dict__.get("method_options")
        if opts is not None and name in opts:
            return opts[name]
        raise AttributeError(f"'Config' has no key '{name}'")

    def options(self, cls: Type[O]) -> O:
        """The typed options of one method, e.g. ``cfg.options(LoraOptions)``."""
        return cls(**{f.name: self.method_options[f.name] for f in dataclasses.fields(cls)})

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> "Config":
        """A Config from flat keys (shared and method keys mixed, as in ``config.yaml``)."""
        shared = {f.name for f in dataclasses.fields(cls) if f.name != "method_options"}
        _check_keys(list(values), "the configuration")
        return cls(
            **{k: v for k, v in values.items() if k in shared},
            method_options={k: v for k, v in values.items() if k not in shared},
        )

    def to_dict(self) -> Dict[str, Any]:
        out = {
            f.name: getattr(self, f.name)
            for f in dataclasses.fields(self)
            if f.name != "method_options"
        }
        out = {
            k: (list(v) if isinstance(v, list) else dict(v) if isinstance(v, dict) else v)
            for k, v in out.items()
        }
        return {**out, **self.method_options}


reserve_shared_keys([f.name for f in dataclasses.fields(Config) if f.name != "method_options"])


def _shared_fields() -> Dict[str, dataclasses.Field]:
    return {f.name: f for f in dataclasses.fields(Config) if f.name != "method_options"}


def all_keys() -> List[str]:
    """Every configuration key: the shared ones, then each registered method's."""
    return list(_shared_fields()) + list(_option_fields())


def key_defaults() -> Dict[str, Any]:
    """Every key's declared default (before ``Config`` resolves values such as ``auto``)."""
    return {
        name: f.default if f.default is not dataclasses.MISSING else f.default_factory()
        for name, f in {**_shared_fields(), **_option_fields()}.items()
    }


def key_help() -> Dict[str, str]:
    return {
        name: f.metadata["help"] for name, f in {**_shared_fields(), **_option_fields()}.items()
    }


def path_keys() -> List[str]:
    """Keys whose values are files or folders."""
    return [
        name
        for name, f in {**_shared_fields(), **_option_fields()}.items()
        if f.metadata.get("path")
    ]


def _check_keys(keys: Sequence[str], where: str, valid: Optional[Sequence[str]] = None) -> None:
    valid = all_keys() if valid is None else list(valid)
    for key in keys:
        if key not in valid:
            close = difflib.get_close_matches(key, valid, n=1, cutoff=0.5)  # "lrate" -> "lr"
            hint = f" Did you mean '{close[0]}'?" if close else ""
            raise ValueError(
                f"Unknown configuration key '{key}' in {where}.{hint} "
                f"Run `python -m mosaic_kit keys` to list all keys."
            )
