"""The consent registry: consents recorded by the organisations that collected them (issue 5)."""
