"""A seeded generator of one consistent synthetic population and every source's native file.

    from connectors.synthetic import generate, Manifest

    manifest = generate(Path("var/synthetic"), persons=20_000, mappings=load_mappings(catalogue))

Persons live in households with ages, sexes, regions, names, valid RRNs, disabilities,
incomes and basic-livelihood status; they are enrolled in programmes as their situation
suggests, and each source's file is written in its own native format (mappings). Planted
cases (duplicate-benefit pairs for every rule, adjacent periods that must not be flagged,
deaths, 말소 and moves) and about 1% bad rows of many kinds are listed in manifest.json by
source record id only. Memory stays small (compact arrays; rows stream to the writers).

Modules: `korea` (regions, names), `population`, `entitlements` (who gets what), `periods`
(when and how much), `facts` (attribute facts), `planting`, `damage` (bad rows), `rendering`
(native spelling), `manifest`, `generation` (the files).
"""

from __future__ import annotations

from connectors.synthetic.generation import EXTENSIONS, Progress, generate, planned_files
from connectors.synthetic.manifest import BadRow, Manifest, PlantedEvent, SourceFile

__all__ = [
    "EXTENSIONS",
    "BadRow",
    "Manifest",
    "PlantedEvent",
    "Progress",
    "SourceFile",
    "generate",
    "planned_files",
]
