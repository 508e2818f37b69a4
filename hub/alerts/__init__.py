"""Death and status-change alerts: need-to-know fan-out, signed webhooks and a pull feed.

DESIGN.md ("Alerts delivery"), DOMAIN.md (scenario C). Events enter the outbox with the change
they report (`outbox`, `intake`); `fanout` gives each entitled subscription (`audience`, through
the consent policy) one delivery row and a disclosure-log entry in the same transaction;
`worker` sends webhook deliveries (`queue`, `delivery`, `envelope`, `signing`, `targets`) and the
pull feed (`feed`) reads the same rows.
"""
