"""Regenerate the golden files: a small synthetic population (one native file per source) and
the canonical records each must yield. Run only when a change to a mapping or the generator is
intended, then review the diff of the *.expected.json files before committing:

    .venv/bin/python tests/connectors/golden/regenerate.py
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE.parent.parent.parent))

from connectors.registry import load_mappings  # noqa: E402
from connectors.synthetic import generate  # noqa: E402
from schemas.catalogue import load_catalogue  # noqa: E402
from tests.connectors.golden.canonical import NOW, canonical_records  # noqa: E402


def main() -> None:
    catalogue = load_catalogue()
    mappings = load_mappings(catalogue)
    with tempfile.TemporaryDirectory() as tmp:
        manifest = generate(Path(tmp), persons=300, seed=4242, mappings=mappings, workers=1)
        for old in HERE.glob("*.expected.json"):
            old.unlink()
        for entry in manifest.files:
            shutil.copy(Path(tmp) / entry.file, HERE / entry.file)
            records = canonical_records(
                HERE / entry.file, mappings[entry.source], catalogue, entry.organisation, NOW
            )
            expected = {"source": entry.source, "organisation": entry.organisation, "rows": records}
            target = HERE / f"{entry.file}.expected.json"
            target.write_text(json.dumps(expected, ensure_ascii=False, indent=1) + "\n", "utf-8")
            print(f"{entry.file}: {len(records)} rows")


if __name__ == "__main__":
    main()
