// Pure planning: variants → graph of steps with content keys → plan (new / cached / changed and why) against a read-only store snapshot.
