"""Pages of the knowledge base, one module per area."""
