"""``python -m trigger_async.demo``: two isolated clients, in parallel, side by side."""
