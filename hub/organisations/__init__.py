"""Organisations that use the hub: ministries, the civil registry, local governments,
welfare centres and auditors."""
