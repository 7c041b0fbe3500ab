"""Method options: each method's own configuration keys, a small dataclass it registers (the way
a peft tuner owns its config); ``mosaic_kit.config`` merges them with the shared keys into one
flat key space."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Dict, List, Type, TypeVar

from .coerce import range_problems, type_problems

__all__ = [
    "Options",
    "option",
    "register_options",
    "unregister_options",
    "option_fields",
    "registered_options",
]

O = TypeVar("O", bound="Options")


def _f(default: Any, help: str, *, path: bool = False) -> Any:  # noqa: A002 - mirrors dataclasses' metadata idiom
    """A field with help text; ``path=True`` marks a file or folder (resolved against a plan's
    folder)."""
    meta = {"help": help, "path": path}
    if isinstance(default, (list, dict)):
        return field(default_factory=lambda d=default: type(d)(d), metadata=meta)
    return field(default=default, metadata=meta)


@dataclass
class Options:
    """Base of a method's own keys: fields declared with ``_f``-style help text
    (``option(default, help)``), types checked on construction, then ``problems()`` (override it
    for range checks)."""

    def __post_init__(self) -> None:
        problems = type_problems(self)
        problems = problems or self.problems()
        if problems:
            raise ValueError("Invalid configuration: " + "; ".join(problems))

    def problems(self) -> List[str]:
        return []

    def check_positive(self, *keys: str) -> List[str]:
        return range_problems(self, positive=keys)

    def check_non_negative(self, *keys: str) -> List[str]:
        return range_problems(self, non_negative=keys)


#: A method options field: ``lora_rank: int = option(8, "LoRA rank")``.
option = _f

#: Registered options classes, in registration order; their fields are top-level keys.
_OPTIONS: List[Type[Options]] = []
#: Keys every run has (``Config``'s fields), reserved by ``config.core`` when it defines them: a
#: method's key must be new. Kept here so that this module imports nothing of the wing above it.
_SHARED_KEYS: List[str] = []


def reserve_shared_keys(names: List[str]) -> None:
    """Called once by ``config.core`` with ``Config``'s field names."""
    _SHARED_KEYS[:] = list(names)


def register_options(cls: Type[O]) -> Type[O]:
    """Add a method's options dataclass to the flat key space; its field names must be new keys."""
    if not (dataclasses.is_dataclass(cls) and issubclass(cls, Options)):
        raise TypeError(
            f"{cls.__name__} must be a dataclass subclassing mosaic_kit.config.Options."
        )
    if cls in _OPTIONS:
        return cls
    taken = {name: "Config" for name in _SHARED_KEYS}
    taken.update({f.name: c.__name__ for c in _OPTIONS for f in dataclasses.fields(c)})
    for f in dataclasses.fields(cls):
        if f.name in taken:
            raise ValueError(
                f"Option '{f.name}' of {cls.__name__} is already a key of {taken[f.name]}; "
                "give it a method-specific name (e.g. a prefix)."
            )
        if not f.metadata.get("help"):
            raise ValueError(
                f"Option '{f.name}' of {cls.__name__} has no help text; declare it with option()."
            )
    _OPTIONS.append(cls)
    return cls


def unregister_options(cls: Type[Options]) -> None:
    """Remove a method's options from the key space (a method defined for a test or a notebook
    session)."""
    _OPTIONS.remove(cls)


def _with_builtin_methods() -> List[Type[Options]]:
    """The registered options classes, the kit's own methods' first (``method_keys``, registered
    when the ``config`` wing is imported; it imports no torch)."""
    return _OPTIONS


def option_fields() -> Dict[str, dataclasses.Field]:
    return {f.name: f for c in _with_builtin_methods() for f in dataclasses.fields(c)}


def registered_options() -> List[Type[Options]]:
    """The registered options classes, in registration order."""
    return _with_builtin_methods()
