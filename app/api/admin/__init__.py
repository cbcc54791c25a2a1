"""Admin console resources: catalog upkeep, the audit log (later tags, push rules, ratings)."""
