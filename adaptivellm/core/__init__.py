"What every job uses: files written whole, JSON lines read with errors that say where, the pool's prices and endpoints, the LLM client, the machine (cores, device)."
