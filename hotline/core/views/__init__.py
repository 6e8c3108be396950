"""Pages of the core context. Thin: parse input, call a service or selector, render."""
