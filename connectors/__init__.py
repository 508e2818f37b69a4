"""One adapter per source: native files and feeds in, canonical records (schemas) out."""
