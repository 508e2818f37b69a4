"""The programme catalogue as the hub serves it (loaded from `schemas/catalogue/`)."""
