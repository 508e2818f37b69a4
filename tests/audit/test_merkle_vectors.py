"""Every RFC 6962 / RFC 9162 proof vector in `vectors/` (see its README): the happy paths verify,
every mutation (`wantErr: true`) raises ProofError, and the happy paths are what we generate."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest

from audit import merkle

VECTORS = Path(__file__).parent / "vectors"
INCLUSION = sorted((VECTORS / "inclusion").rglob("*.json"))
CONSISTENCY = sorted((VECTORS / "consistency").rglob("*.json"))

# The eight leaves the vectors' trees are built from (the RFC 6962 reference test data).
LEAVES = [
    bytes.fromhex(h)
    for h in [
        *("", "00", "10", "2021", "3031", "40414243"),
        *("5051525354555657", "606162636465666768696a6b6c6d6e6f"),
    ]
]
LEAF_HASHES = [merkle.leaf_hash(leaf) for leaf in LEAVES]


def _load(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def _b64(text: str) -> bytes:
    return base64.b64decode(text)


def _proof(vector: dict[str, Any]) -> list[bytes]:
    return [_b64(element) for element in vector["proof"] or []]


def _name(path: Path) -> str:
    return str(path.relative_to(VECTORS))


def test_every_vector_file_is_collected() -> None:
    assert len(INCLUSION) + len(CONSISTENCY) == len(list(VECTORS.rglob("*.json"))) > 150
    assert (VECTORS / "LICENSE").is_file()
    assert (VECTORS / "README.md").is_file()


@pytest.mark.parametrize("path", INCLUSION, ids=_name)
def test_inclusion_vector(path: Path) -> None:
    v = _load(path)

    def check() -> None:
        merkle.verify_inclusion(
            _b64(v["leafHash"]), v["leafIdx"], v["treeSize"], _proof(v), _b64(v["root"])
        )

    if v["wantErr"]:
        with pytest.raises(merkle.ProofError):
            check()
    else:
        check()


@pytest.mark.parametrize("path", CONSISTENCY, ids=_name)
def test_consistency_vector(path: Path) -> None:
    v = _load(path)

    def check() -> None:
        merkle.verify_consistency(
            v["size1"], v["size2"], _proof(v), _b64(v["root1"]), _b64(v["root2"])
        )

    if v["wantErr"]:
        with pytest.raises(merkle.ProofError):
            check()
    else:
        check()


HAPPY_INCLUSION = [p for p in INCLUSION if p.name == "happy-path.json"]
HAPPY_CONSISTENCY = [p for p in CONSISTENCY if p.name == "happy-path.json"]


@pytest.mark.parametrize("path", HAPPY_INCLUSION, ids=_name)
def test_generated_inclusion_proof_equals_the_vector(path: Path) -> None:
    v = _load(path)
    index, size = v["leafIdx"], v["treeSize"]
    assert LEAF_HASHES[index] == _b64(v["leafHash"])
    assert merkle.root(LEAF_HASHES[:size]) == _b64(v["root"])
    assert merkle.inclusion_proof(LEAF_HASHES, index, size) == _proof(v)


@pytest.mark.parametrize("path", HAPPY_CONSISTENCY, ids=_name)
def test_generated_consistency_proof_equals_the_vector(path: Path) -> None:
    v = _load(path)
    old, new = v["size1"], v["size2"]
    assert merkle.root(LEAF_HASHES[:old]) == _b64(v["root1"])
    assert merkle.root(LEAF_HASHES[:new]) == _b64(v["root2"])
    assert merkle.consistency_proof(LEAF_HASHES, old, new) == _proof(v)


def test_there_are_happy_paths_and_mutations() -> None:
    wanted = [_load(p)["wantErr"] for p in INCLUSION + CONSISTENCY]
    assert wanted.count(False) >= len(HAPPY_INCLUSION) + len(HAPPY_CONSISTENCY) == 10
    assert wanted.count(True) > 150
