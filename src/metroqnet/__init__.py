"""metroqnet: digital twin and design tool for metropolitan quantum networks.

Layers (a module imports only from layers listed before its own):
``config``, ``analysis`` (outcome conventions and estimators; never imports a
simulator, so it runs on a lab's counts), ``physics``, ``link``,
``experiments``, ``cli``. ``tests/test_import_direction.py`` checks this.
"""

__version__ = "0.1.0"
