"""The pilot evaluation: participants, anonymous surveys, usage figures, the cost model and the board's report."""
