"""The service catalog's domain logic: versions, queries, hot ranking, search, home, upkeep."""
