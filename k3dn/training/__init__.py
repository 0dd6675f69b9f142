"""Training: the loop (trainer), losses, weight diagnostics and data-parallel helpers."""
