"""Client of vi-failover: read the active Video Indexer account before every indexing call."""
