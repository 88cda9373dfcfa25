"""YAML accelerator configs shipped with sparsim (a package so they install with it)."""
