"""What every domain stands on: Redis, caches, limits, tasks, clock, audit, logging, errors."""
