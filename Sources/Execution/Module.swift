// The scheduler (ready steps in parallel within a core budget) and executors (local processes, Slurm); progress leaves as typed events.
