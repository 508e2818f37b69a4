"""Domain events about persons, for fan-out to the organisations that serve them (issue 7)."""
