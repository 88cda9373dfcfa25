"""Design-space exploration: sweep specs, execution (local pool or Dask), a SQLite result store
that survives kills, Pareto fronts and plots (``sparsim dse``, ``sparsim dse-report``)."""
