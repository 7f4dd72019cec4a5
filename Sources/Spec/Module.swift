// YAML experiment files → typed, validated experiments (with file:line:column diagnostics), extends, matrix / ablate / variants / seeds expansion. Imports Yams only.
