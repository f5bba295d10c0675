"How hard a problem is for an LLM: chain-of-thought lengths from a reasoner, difficulty levels by k-means, the paper's cost-performance score and its splits."
