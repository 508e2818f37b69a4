"""The hub: an interagency welfare data-exchange hub (the application and its only HTTP layer)."""
