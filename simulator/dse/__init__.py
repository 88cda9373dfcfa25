"""Design-space exploration: sweep specs, execution (local pool or Dask), a SQLite result store
that survives kills, Pareto fronts and plots (``sparsim dse``, ``sparsim dse-report``).

Import from the modules: ``sweep`` (``load_sweep``), ``execute`` (``run_sweep``), ``store``
(``Store``), ``pareto``, ``area`` (``design_area``), ``report`` (``write_report``). Nothing is
re-exported here so that ``sparsim run`` (whose CLI registers the ``dse`` subcommands) does not
load the sweep machinery.
"""

__all__: list[str] = []
