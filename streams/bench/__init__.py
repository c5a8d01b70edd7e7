"""`tranchewatch bench`: throughput, latency, memory and alert-set equality of tranchewatch against the raw
consumer, an empty faust agent and a naive baseline, on the same generated data. See BENCHMARKS.md."""
