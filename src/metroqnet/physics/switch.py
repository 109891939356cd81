"""The server's optical switch (QRNG-driven, picks 2 of N inputs): insertion loss only."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from metroqnet.physics.fibre import loss_db_to_transmission


def switch_transmission(switch_loss_db: ArrayLike) -> float | np.ndarray:
    """T = 10^(-loss_dB/10) (1 dB: ≈ 0.794)."""
    return loss_db_to_transmission(switch_loss_db)
