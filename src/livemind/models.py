"""The public entry of the model catalog: ``from livemind.models import ...``.

The names live in three modules, re-exported here unchanged:

* :mod:`livemind.model_catalog` - the presets (:data:`PRESETS`, :class:`Preset`), their
  packages, install commands, :class:`ModelError`;
* :mod:`livemind.model_files` - :func:`resolve_model`: a preset or a path -> a verified
  local GGUF, assembled and SHA-256-stamped in :func:`cache_dir`;
* :mod:`livemind.model_table` - :func:`list_models` and :func:`format_model_table`
  (``livemind models``).

See docs/MODELS.md.
"""

from __future__ import annotations

from livemind.model_catalog import (
    DEFAULT_MODEL,
    PRESETS,
    TEST_MODEL,
    Locate,
    ModelError,
    Preset,
    install_command,
    locate_part,
)
from livemind.model_files import GGUF_MAGIC, Progress, cache_dir, resolve_model
from livemind.model_table import ModelStatus, format_model_table, list_models

__all__ = [
    "DEFAULT_MODEL",
    "GGUF_MAGIC",
    "PRESETS",
    "TEST_MODEL",
    "Locate",
    "ModelError",
    "ModelStatus",
    "Preset",
    "Progress",
    "cache_dir",
    "format_model_table",
    "install_command",
    "list_models",
    "locate_part",
    "resolve_model",
]
