"""Delivery metrics: DORA's five and the team's own figures, read from daily aggregates."""
