"""A broken catalogue stops start-up with a message naming the file and the entry."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

import schemas
from hub.main import create_app
from schemas.catalogue import CatalogueError
from tests.conftest import make_settings


def test_broken_catalogue_stops_create_app(
    database_url: str, keys_file: Path, tmp_path: Path
) -> None:
    broken = tmp_path / "catalogue"
    shutil.copytree(Path(schemas.__file__).parent / "catalogue", broken)
    rules = broken / "duplicate_rules.yaml"
    rules.write_text(rules.read_text(encoding="utf-8").replace("KFS-FOREST-TENDING", "KFS-GONE", 1))
    settings = make_settings(database_url, keys_file).model_copy(update={"catalogue_dir": broken})
    with pytest.raises(CatalogueError) as raised:
        create_app(settings)
    message = str(raised.value)
    assert "duplicate_rules.yaml" in message
    assert "DUP-02" in message
    assert "KFS-GONE" in message
