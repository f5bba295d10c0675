"Checking answers: the sandbox, the judge outside it, a statement's example tests, verdicts, labels from hidden tests and the gate over the recorded answers."
