"""Department systems' signed server-to-server calls: certificates (later cases)."""
