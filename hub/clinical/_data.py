"""Loader for the rule and band tables bundled beside the clinical code (read once at import)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

# Not named "data": the repository .gitignore ignores every directory called data/.
DATA_DIR = Path(__file__).with_name("tables")


def load_yaml(name: str) -> dict[str, Any]:
    """Read one bundled YAML data file from hub/clinical/tables and return its mapping."""
    path = DATA_DIR / name
    with path.open(encoding="utf-8") as fh:
        data = yaml.safe_load(fh)
    if not isinstance(data, dict):
        raise ValueError(f"{name}: expected a mapping at the top level")
    return data
