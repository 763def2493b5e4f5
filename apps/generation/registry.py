"""The registry of backends, by name. Adapters register with ``@register``."""

from __future__ import annotations

import importlib

from .backends.base import Backend

_BACKENDS: dict[str, Backend] = {}

# Modules that define backends; imported on first use.
BACKEND_MODULES = (
    "apps.generation.backends.local_animatic",
    "apps.generation.backends.local_speech",
    "apps.generation.backends.local_interpolate",
    "apps.generation.backends.local_upscale",
    "apps.generation.backends.openai_videos",
    "apps.generation.backends.runway",
    "apps.generation.backends.replicate",
    "apps.generation.backends.fal",
    "apps.generation.backends.luma",
    "apps.generation.backends.veo",
    "apps.generation.backends.comfyui",
    "apps.generation.backends.elevenlabs",
)
_loaded = False


def register(cls: type[Backend]) -> type[Backend]:
    _BACKENDS[cls.name] = cls()
    return cls


def _load() -> None:
    global _loaded
    if _loaded:
        return
    for module in BACKEND_MODULES:
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if exc.name != module:
                raise
    _loaded = True


def get_backend(name: str) -> Backend | None:
    _load()
    return _BACKENDS.get(name)


def all_backends() -> list[Backend]:
    _load()
    return list(_BACKENDS.values())


def register_instance(backend: Backend) -> None:
    """For tests: add (or replace) a backend instance."""
    _load()
    _BACKENDS[backend.name] = backend


def unregister(name: str) -> None:
    _BACKENDS.pop(name, None)
