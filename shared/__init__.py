"""vi-failover domain package: alert parsing, decision core, state store, settings and wiring."""
