"""What every disclosing feature shares: who asks, the decision through consent.policy, and
the disclosure-log entry that must commit before anything is released (DESIGN.md)."""
