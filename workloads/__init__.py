"""sparsim package."""
