"""The residual polarization misalignment of a node's photon at the server, as a mode overlap.

The paper compensates each fibre's polarization drift at every switching (its ref. 32); what the
compensation leaves is a small misalignment θ between the linear polarization of node k's write-out
photon and the server's reference axis (the polarizing optics of the interferometer, shared by all
nodes). Only the component along that axis, of intensity cos²θ, interferes with the other node's
photon; the orthogonal part adds clicks without coherence. Taking θ Gaussian with rms ε (the
residual varies from one compensation to the next and along the run), the fraction of k's intensity
in the common mode is

    ⟨cos²θ⟩ = (1 + ⟨cos 2θ⟩)/2 = (1 + exp(−2ε²))/2,

exact for a Gaussian θ (its characteristic function at 2), so no small-angle approximation is made
(tested against numerical integration over the Gaussian). It multiplies the node's
``writeout_mode_overlap`` in :func:`metroqnet.physics.mapping.herald_mode_overlap`. Not modelled:
ellipticity (a retardance error acts the same way to second order) and a correlation between the two
nodes' misalignments (independent here).
"""

from __future__ import annotations

import math

import numpy as np

from metroqnet.config.validation import NonNegative, check_array, output


def polarization_overlap(residual_rad: float | np.ndarray) -> float | np.ndarray:
    """(1 + exp(−2ε²))/2: the mean of cos²θ over a Gaussian misalignment θ of rms ``residual_rad`` (ε)."""
    epsilon = check_array("residual_rad", residual_rad, NonNegative)
    return output(0.5 * (1.0 + np.exp(-2.0 * epsilon**2)))


def polarization_overlap_deg(residual_deg: float) -> float:
    """:func:`polarization_overlap` of a residual given in degrees (as the presets give it)."""
    return float(polarization_overlap(math.radians(check_array("residual_deg", residual_deg, NonNegative).item())))
