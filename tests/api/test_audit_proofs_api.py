"""Checkpoints, proofs and entries over HTTP, on a log of its own: the checkpoint verifies with
the hub's public log key, proofs verify with audit.merkle, and pymerkle, an independent RFC
9162 implementation, recomputes the same roots from the entries the API returns."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import rfc8785
from fastapi import FastAPI
from pymerkle import InmemoryTree

from audit import checkpoint, merkle
from hub.main import create_app
from tests.api.audit_support import (
    auditor_headers,
    disclosure,
    entry_count,
    new_person,
    org_code,
    record,
    sequence,
)
from tests.api.test_problems import assert_problem
from tests.conftest import make_settings
from tests.factories import asgi_client

AUDIT = "/v1/audit"


def b64(text: str) -> bytes:
    return base64.b64decode(text, validate=True)


@pytest.fixture
async def fresh_app(fresh_database_url: str, keys_file: Path) -> AsyncIterator[FastAPI]:
    """The app on an empty database: the log is this test's alone."""
    app = create_app(make_settings(fresh_database_url, keys_file))
    async with app.router.lifespan_context(app):
        yield app


@pytest.fixture
async def fresh_api(fresh_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with asgi_client(fresh_app) as client:
        yield client


async def test_checkpoint_proofs_and_entries_verify_independently(
    fresh_app: FastAPI, fresh_api: httpx.AsyncClient
) -> None:
    db = fresh_app.state.db
    api = fresh_api
    _, headers = await auditor_headers(api, db)
    none_yet = await api.get(f"{AUDIT}/checkpoint", headers=headers)
    assert_problem(none_yet, 404, "not-found")
    assert_problem(
        await api.get(f"{AUDIT}/proof/inclusion", params={"index": 0, "size": 1}, headers=headers),
        422,
        "invalid-input",
    )

    person = await new_person(fresh_app, db)
    org = org_code()
    await record(db, *(disclosure(org, subject_ref=person.log_ref) for _ in range(6)))
    await record(db, *(disclosure(org) for _ in range(7)))
    await sequence(fresh_app)

    response = await api.get(f"{AUDIT}/checkpoint", headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/plain; charset=utf-8"
    keyset = fresh_app.state.keyring.current()
    public_key = keyset.log_public_keys()[keyset.log_signing_key().kid]
    origin = fresh_app.state.settings.log_origin
    signed = checkpoint.verify(response.text, origin, public_key, origin=origin)
    assert signed.size >= 13

    # Every entry, as the API returns it, hashes to its leaf; pymerkle rebuilds the tree.
    independent = InmemoryTree(algorithm="sha256")
    leaves = []
    for index in range(signed.size):
        got = await api.get(f"{AUDIT}/entries/{index}", headers=headers)
        assert got.status_code == 200, got.text
        body = got.json()
        assert body["index"] == index
        canonical = rfc8785.dumps(body["entry"])
        leaf = merkle.leaf_hash(canonical)
        assert b64(body["leaf_hash"]) == leaf
        leaves.append(leaf)
        independent.append_entry(canonical)
    assert independent.get_root(signed.size) == signed.root == merkle.root(leaves)
    assert person.rrn not in str(leaves)

    for index, size in [(0, 1), (0, signed.size), (5, 6), (12, 13), (7, signed.size), (3, 11)]:
        got = await api.get(
            f"{AUDIT}/proof/inclusion", params={"index": index, "size": size}, headers=headers
        )
        assert got.status_code == 200, got.text
        proof = got.json()
        assert (proof["index"], proof["size"]) == (index, size)
        root = b64(proof["root"])
        assert root == independent.get_root(size)
        assert b64(proof["leaf_hash"]) == leaves[index]
        merkle.verify_inclusion(leaves[index], index, size, [b64(p) for p in proof["proof"]], root)

    for old, new in [(1, 1), (1, 2), (3, 7), (4, 8), (6, 13), (7, signed.size), (13, signed.size)]:
        got = await api.get(
            f"{AUDIT}/proof/consistency", params={"old": old, "new": new}, headers=headers
        )
        assert got.status_code == 200, got.text
        proof = got.json()
        old_root, new_root = b64(proof["old_root"]), b64(proof["new_root"])
        assert (old_root, new_root) == (independent.get_root(old), independent.get_root(new))
        merkle.verify_consistency(old, new, [b64(p) for p in proof["proof"]], old_root, new_root)


async def test_proof_parameters_out_of_range_are_422_naming_them(
    fresh_app: FastAPI, fresh_api: httpx.AsyncClient
) -> None:
    db = fresh_app.state.db
    _, headers = await auditor_headers(fresh_api, db)
    await record(db, *(disclosure(org_code()) for _ in range(4)))
    await sequence(fresh_app)
    note = (await fresh_api.get(f"{AUDIT}/checkpoint", headers=headers)).text
    size = checkpoint.parse_body(note[: note.index("\n\n") + 1]).size
    cases = [
        ("inclusion", {"index": 0, "size": size + 1}, "query.size"),
        ("inclusion", {"index": size, "size": size}, "query.index"),
        ("inclusion", {"index": -1, "size": size}, "query.index"),
        ("inclusion", {"index": 0, "size": 0}, "query.size"),
        ("inclusion", {"index": 0}, "query.size"),
        ("consistency", {"old": 0, "new": size}, "query.old"),
        ("consistency", {"old": 3, "new": 2}, "query.old"),
        ("consistency", {"old": 1, "new": size + 1}, "query.new"),
        ("consistency", {"old": 1, "new": "x"}, "query.new"),
    ]
    for kind, params, field in cases:
        response = await fresh_api.get(f"{AUDIT}/proof/{kind}", params=params, headers=headers)
        body = assert_problem(response, 422, "invalid-input")
        assert [e["field"] for e in body["errors"]] == [field], (kind, params)
    assert_problem(
        await fresh_api.get(f"{AUDIT}/entries/{size + 100}", headers=headers), 404, "not-found"
    )
    assert_problem(
        await fresh_api.get(f"{AUDIT}/entries/-1", headers=headers), 422, "invalid-input"
    )


async def test_entry_reads_are_logged_and_proofs_are_not(
    fresh_app: FastAPI, fresh_api: httpx.AsyncClient
) -> None:
    db = fresh_app.state.db
    auditor, headers = await auditor_headers(fresh_api, db)
    person = await new_person(fresh_app, db)
    await record(db, disclosure(org_code(), subject_ref=person.log_ref))
    await sequence(fresh_app)
    before = await entry_count(db)
    await fresh_api.get(f"{AUDIT}/checkpoint", headers=headers)
    await fresh_api.get(f"{AUDIT}/proof/inclusion", params={"index": 0, "size": 1}, headers=headers)
    await fresh_api.get(f"{AUDIT}/proof/consistency", params={"old": 1, "new": 1}, headers=headers)
    assert await entry_count(db) == before
    read = await fresh_api.get(f"{AUDIT}/entries/0", headers=headers)
    assert read.status_code == 200
    assert await entry_count(db) == before + 1
    page = await fresh_api.get(
        f"{AUDIT}/disclosures", params={"organisation": auditor}, headers=headers
    )
    [logged] = page.json()["items"]
    assert logged["action"] == "audit.entries.read"
    assert logged["subject_ref"] == person.log_ref
    assert logged["data_categories"] == ["audit.disclosure", "identity.pseudonym"]
