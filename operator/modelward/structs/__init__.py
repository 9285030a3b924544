"""Plain typed data passed between pipeline steps; no I/O, stdlib only."""
