"""Monte Carlo of heralded trials: compile a link once, then sample counts or time tags in blocks."""
