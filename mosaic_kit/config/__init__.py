"""Configuration: the flat key space of every run, presets, typed values and path keys.

Configuration: the flat key space of every run (shared keys and each method's options), presets,
typed values and path keys.

``Config`` and ``load_config`` live in ``core``; ``options`` holds a method's own keys,
``coerce`` turns strings into typed values, ``paths`` makes path keys absolute, ``presets/`` the
shipped YAML presets."""

from .core import *  # noqa: F401,F403 - the wing's public names are core's
from .core import __all__ as _core_all
from .core import key_defaults  # noqa: F401
from .load import *  # noqa: F401,F403
from .load import __all__ as _load_all

__all__ = [*_core_all, *_load_all, "key_defaults"]
