"The study: evaluation against baselines, the full `reproduce` run with its report and figures, the answer-aware cascade. Nothing outside it imports it."
