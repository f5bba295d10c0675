"The replication data: the benchmarks, the pool's recorded answers (read once, checked field by field) and the chain-of-thought lengths; fetching and summarising it."
