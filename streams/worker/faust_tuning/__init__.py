"""faust internals tranchewatch overrides for speed, each mirroring a pinned faust-streaming version (tests/unit/worker/test_faust_fingerprint.py guards them)."""
