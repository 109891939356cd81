"""Declared experiments of the paper, each one a function from a network to comparable rows."""
