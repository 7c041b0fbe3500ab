"""Configuration: the flat key space of every run, presets, typed values and path keys.

``keys``: the shared keys by group; ``core``: ``Config`` and the key listing; ``values``: every
key's range; ``options``: a method's own keys; ``method_keys``: the kit's own methods' keys and
names (registered here, without torch); ``build``: presets, YAML files and ``--set`` values
into a validated ``Config``; ``coerce``: typed values; ``paths``: path keys made absolute;
``presets/``: the shipped presets."""

from . import method_keys  # noqa: F401 - registers the kit's own methods' keys
from .build import *  # noqa: F401,F403
from .build import __all__ as _load_all
from .core import *  # noqa: F401,F403 - the wing's public names are core's
from .core import __all__ as _core_all
from .core import key_defaults  # noqa: F401

__all__ = [*_core_all, *_load_all, "key_defaults"]
