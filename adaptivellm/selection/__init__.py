"Selectors that pick a model from a prompt's embedding: the registry and the paper's XGBoost selector, the cost-aware selector, baselines, budget to cost weight."
