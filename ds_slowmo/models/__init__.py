"""Model registry. Each model module is imported only when that model is asked for, so the
engine, ``--help`` and ``blend`` never import Paddle.

A model module exposes ``create(options: ModelOptions) -> Interpolator``. ``create`` validates
the options (factor, weights, device) and raises :class:`~ds_slowmo.errors.UsageError` or
:class:`~ds_slowmo.errors.ModelError` *before* any decoding starts.
"""

from __future__ import annotations

import importlib
import logging

from ..errors import UsageError
from .base import Interpolator, ModelOptions

__all__ = ["ANY_TIME", "MODELS", "DEFAULT_MODEL", "load_model", "Interpolator", "ModelOptions"]

#: model name -> module (relative to this package) holding ``create``
MODELS: dict[str, str] = {
    "rife": ".rife",
    "rife4": ".rife4",
    "dain": ".dain",
    "blend": ".blend",
}

DEFAULT_MODEL = "rife"

#: a model that makes only some times -> the model that takes over when the plan needs any
#: time in (0, 1) (``ModelOptions.any_time``): HDv3 bisects to k/2^n, v4.25 takes t as input
ANY_TIME: dict[str, tuple[str, str]] = {"rife": ("rife4", "using RIFE v4.25 for non-dyadic times")}

log = logging.getLogger(__name__)


def load_model(name: str, options: ModelOptions) -> Interpolator:
    """Build the named model, validated against ``options``."""
    if name not in MODELS:
        raise UsageError(f"unknown --model {name!r}; choose one of: {', '.join(sorted(MODELS))}")
    if options.any_time and name in ANY_TIME:
        name, why = ANY_TIME[name]
        log.info(why)
    module = importlib.import_module(MODELS[name], __name__)
    model: Interpolator = module.create(options)
    return model
