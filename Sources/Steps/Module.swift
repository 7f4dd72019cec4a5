// What each step kind does (generate, ingest, clean, split, train, evaluate, report), behind one protocol (StepProtocol.swift) and one registry.
