"""Design sweeps and optimisation: many design points on local processes or a Dask cluster, into a crash-safe store."""
