"The runtime: a fitted router saved and loaded, `solve` (route, call, check, escalate) and the OpenAI-compatible gateway. Imports nothing of the study."
