"""The browser page: a thin layer over the runner, the run store and the metrics."""
