"""The state in Redis: key names, pipelined loads, the one atomic commit per batch, the cache, migrations, and read-back for the views.

The only stream-side package (besides views' readers) that talks to Redis."""
