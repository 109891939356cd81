"""The server's control loops: weak-field phase stabilization and the frequency calibration.

The noise they fight (lasers, fibres, cavity drift) is component physics
(:mod:`metroqnet.physics`), built on the generic processes of :mod:`metroqnet.noise`.
"""
