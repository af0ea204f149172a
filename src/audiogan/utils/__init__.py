"""Small helpers shared across layers: config handling, checkpoint I/O, console output."""
