"""Oversight of the disclosure log: auditors' queries, proofs, and a person's disclosure
history (PIPA §35 subject access, audit under 감사원법 and PIPA §63). Every answer that shows
log entries is itself logged before it is released."""
