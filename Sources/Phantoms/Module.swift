// Phantom HDF5 I/O, the synthetic phantom generator, cleaning rules and stratified splits. Imports CHDF5 only.
