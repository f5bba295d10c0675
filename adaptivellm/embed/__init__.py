"Prompt embeddings: the encoder (CodeBERT or MiniLM) and its triplet fine-tuning by difficulty level."
