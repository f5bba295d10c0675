"Cascades of models: the acceptance rule, the replay of recorded answers through chains, and the router of chains."
