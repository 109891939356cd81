"""Outcome conventions shared by the engines, the sampler and a lab's count files.

At each node the verification measures one polarization basis per trial with two
threshold detectors. Ports and signs (``docs/link_model.md``), the same at both nodes:

* ``Z``: port +1 is H, port -1 is V;
* ``X``: port +1 is (H+V)/√2, port -1 is (H-V)/√2;
* ``Y``: port +1 is (H+iV)/√2, port -1 is (H-iV)/√2.

A node's outcome is one of four click patterns, indexed as below. A herald is
``plus`` when only D+ clicked (ideally Ψ+) and ``minus`` when only D- clicked.
"""

from __future__ import annotations

BASES: tuple[str, ...] = ("Z", "X", "Y")
HERALD_SIGNS: tuple[str, ...] = ("plus", "minus")
#: s in F = (1 - <ZZ> + s<XX> + s<YY>)/4 for each herald sign.
HERALD_SIGN_VALUE: dict[str, int] = {"plus": +1, "minus": -1}

NO_CLICK = 0
PLUS_ONLY = 1
MINUS_ONLY = 2
BOTH = 3
PATTERNS: tuple[str, ...] = ("none", "plus_only", "minus_only", "both")

#: Patterns in which the +1 port (H in the Z basis) clicked, whatever the other port did.
PLUS_PORT_CLICKED: tuple[int, ...] = (PLUS_ONLY, BOTH)
#: Patterns with exactly one click, and the sign each one reads.
SINGLE_CLICK_SIGN: dict[int, int] = {PLUS_ONLY: +1, MINUS_ONLY: -1}
