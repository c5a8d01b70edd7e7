"""The alert of the wire contract, its fingerprint, the lifecycle and anti-noise. Pure: no I/O."""
