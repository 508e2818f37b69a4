"""The `hub` command's sub-commands, one module per subject (composed in `hub.cli`)."""
