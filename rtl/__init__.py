"""Verilog sources shipped with sparsim (a package so they install with it)."""
