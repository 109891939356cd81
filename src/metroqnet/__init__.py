"""metroqnet: digital twin and design tool for metropolitan quantum networks.

Layers (imports point one way, top to bottom):
``config`` -> ``physics`` -> ``link`` -> ``analysis`` -> ``cli``.
``analysis`` never imports the simulators: it works on probabilities or counts.
"""

__version__ = "0.1.0"
