// The content-addressed store (.runner/): canonical JSON and SHA-256, objects written atomically, step records, incomplete markers, run manifests, locks, verify and gc.
