"""Deduplication logic without Kafka: fact agreement, the near-duplicate decision (and, to come,
the time-sharded vector index and stories). The dedup agent in ``streams/agents`` drives it."""
