"""The paper regenerated end to end: every experiment, every published number beside the twin's, one HTML report.

``reproduce_paper`` (:mod:`.run`) runs the sections (the calibration with its leave-one-out
predictions, Fig. 2, Fig. 4 and Table 1, ...) each on its own child stream of the seed, keeps
every section's result even when another fails, and writes the data files and ``report.html``
(:mod:`.html`). The published numbers become :class:`.numbers.NumberRow` rows with their role:
``predicted`` (leave-one-out: the fit never saw the number), ``calibrated`` (the number was in
the fit: a fitted value, not a prediction) or ``model`` (no calibration behind it).
"""
