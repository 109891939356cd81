"""Fig. 3c,d,f,g: the two-mode density matrices that the weak-field tomography reconstructs, with errors.

Basis: the truncated photon-number basis |n_X n_Y⟩ ∈ {|00⟩, |01⟩, |10⟩, |11⟩} of the two read-out
fields (X's digit first), n = 1 meaning that node's H detector clicked in the Z basis (threshold
detectors: two or more photons count as 1). Per herald sign (docs/link_model.md, estimators):

* diagonal: p00, p01, p10, p11 from the Z table. They partition the sign's Z-basis heralded events,
  so the trace is 1 as estimated: no renormalisation;
* coherence ρ_{01,10} = d·e^{iφ} = ½(p01 + p10 + 2√(p00 p11))·E (the paper's bound; with
  ``general=True`` (√(p01 p10) + √(p00 p11))·E), E = ⟨XX⟩. Its modulus is the estimators' d,
  its phase φ = 0 where E > 0 (Ψ+: ⟨XX⟩ = ⟨YY⟩ = +1) and π where E < 0 (Ψ−: both −1), and
  ρ_{10,01} its conjugate. In this encoding ⟨YY⟩ reads the same quantity as ⟨XX⟩ (the Y basis
  turns both nodes' EP phase by −π/2, which cancels), so it checks the sign but adds no
  independent component; Im ρ_{01,10} would need ⟨XY⟩ − ⟨YX⟩, which the method does not measure,
  so φ ∈ {0, π} (the locked phase makes Im ρ_{01,10} zero in expectation);
* every other element is a structural zero: the heralded state commutes with the total photon
  number (no coherence between |00⟩ and |11⟩, or between different excitation numbers), and the
  method measures none of them.

The concurrence of this X state is C = max(0, 2|ρ_{01,10}| − 2√(ρ_{00,00} ρ_{11,11})), the
estimators' C (Wootters' formula where the matrix is positive semi-definite; the paper's bound on
an unbalanced link can overstate |ρ_{01,10}|² past p01·p10, see :attr:`DensityMatrix.minimum_eigenvalue`).

**Atomic state by loss deduction** (the transparent bars), exactly as C̃ in
:mod:`metroqnet.analysis.estimators`: P11 = p11/(η_Xη_Y), P10 = (p10 − η_X(1−η_Y)P11)/η_X,
P01 = (p01 − η_Y(1−η_X)P11)/η_Y, P00 = 1 − P01 − P10 − P11 (trace 1 by construction),
ρ_{01,10} = D = d·e^{iφ}/√(η_Xη_Y); C̃ = max(0, 2|D| − 2√(max(P00, 0)·max(P11, 0))). Counting
noise (or an overstated bound) can make an atomic population negative or the matrix
non-positive; it is reported as estimated, with its smallest eigenvalue.

**Errors**: from a :class:`~metroqnet.analysis.records.CountRecord`, the delta method of
:mod:`metroqnet.analysis.uncertainty` (multinomial covariance of the Z and X tables at the
Jeffreys-regularized fractions, central-difference gradients of the same estimators,
:func:`metroqnet.analysis.propagation.propagate`), giving the full covariance of the five
estimated elements of both matrices. From a :class:`~metroqnet.analysis.uncertainty.CountAnalysis`
only the read-out elements' errors are known (its figures' errors); the atomic ones need the
covariance of the p_ij, i.e. the counts.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

import numpy as np

from metroqnet.analysis.estimators import (
    UndefinedEstimate,
    atomic_coherence,
    atomic_populations,
    coherence_bound,
    general_coherence_bound,
    single_click_correlator,
    z_populations,
)
from metroqnet.analysis.outcomes import HERALD_SIGNS
from metroqnet.analysis.propagation import multinomial_covariance, propagate
from metroqnet.analysis.records import CountRecord
from metroqnet.analysis.uncertainty import JEFFREYS_PSEUDOCOUNT, CountAnalysis

#: The truncated photon-number basis |n_X n_Y⟩, X's digit first (row/column order of every matrix).
BASIS_STATES: tuple[str, ...] = ("00", "01", "10", "11")
#: The estimated elements: the four populations and Re ρ_{01,10} (the signed coherence ±d).
ELEMENTS: tuple[str, ...] = ("p00", "p01", "p10", "p11", "coherence")
#: The two matrices of Fig. 3: the read-out fields (solid bars) and the atoms, loss deducted (transparent).
STATES: tuple[str, ...] = ("read_out", "atomic")
CSV_COLUMNS = ("link", "sign", "state", "row", "column", "real", "imag", "stderr", "estimated")
STDERR_METHOD = (
    "delta method as analyze_counts: multinomial covariance of the sign's Z and X tables at the "
    "Jeffreys-regularized fractions (every cell + 1/2), central-difference gradients of the estimators "
    "(p_ij, signed coherence, and their loss-deducted versions); stderr of Re of each element, "
    "structural zeros carry none"
)
_CELL = {name: (BASIS_STATES.index(name[1:]),) * 2 for name in ELEMENTS[:4]}


@dataclass(frozen=True)
class DensityMatrix:
    """One herald sign's reconstructed matrix, of the read-out fields or of the atoms (``state``).

    ``elements``: p00, p01, p10, p11 and ``coherence`` = Re ρ_{01,10} (= ±d; its sign is the
    phase, module doc); ``stderr``: their standard errors where known, else None.
    """

    sign: str
    state: str
    elements: Mapping[str, float]
    stderr: Mapping[str, float] | None = None
    general: bool = False

    def __post_init__(self) -> None:
        if self.sign not in HERALD_SIGNS:
            raise ValueError(f"sign={self.sign!r} is not one of {HERALD_SIGNS}")
        if self.state not in STATES:
            raise ValueError(f"state={self.state!r} is not one of {STATES}")
        if set(self.elements) != set(ELEMENTS):
            raise ValueError(f"elements must be exactly {ELEMENTS}, got {sorted(self.elements)}")
        object.__setattr__(self, "elements", MappingProxyType({n: float(self.elements[n]) for n in ELEMENTS}))
        if self.stderr is not None:
            object.__setattr__(self, "stderr", MappingProxyType({n: float(self.stderr[n]) for n in ELEMENTS}))

    @property
    def matrix(self) -> np.ndarray:
        """ρ (4×4 complex, basis :data:`BASIS_STATES`): Hermitian, trace 1."""
        rho = np.zeros((4, 4), dtype=complex)
        for name, cell in _CELL.items():
            rho[cell] = self.elements[name]
        rho[1, 2] = rho[2, 1] = self.elements["coherence"]  # real: φ ∈ {0, π}, so ρ_{10,01} = conj = itself
        return rho

    @property
    def matrix_stderr(self) -> np.ndarray | None:
        """Standard errors of Re ρ (4×4; 0 at the structural zeros), or None where unknown."""
        if self.stderr is None:
            return None
        errors = np.zeros((4, 4))
        for name, cell in _CELL.items():
            errors[cell] = self.stderr[name]
        errors[1, 2] = errors[2, 1] = self.stderr["coherence"]
        return errors

    @property
    def d(self) -> float:
        """|ρ_{01,10}|: the estimators' d (d_general with ``general``), or D = d/√(η_Xη_Y) for the atoms."""
        return abs(self.elements["coherence"])

    @property
    def phase_rad(self) -> float:
        """φ of ρ_{01,10} = d·e^{iφ}: 0 (E ≥ 0, Ψ+-like) or π (E < 0, Ψ−-like)."""
        return 0.0 if self.elements["coherence"] >= 0 else math.pi

    @property
    def minimum_eigenvalue(self) -> float:
        """The smallest eigenvalue of ρ (< 0: not a physical state as estimated)."""
        return float(np.linalg.eigvalsh(self.matrix)[0])

    def concurrence(self) -> float:
        """max(0, 2|ρ_{01,10}| − 2√(max(ρ_00,0)·max(ρ_11,0))): C (read-out) or C̃ (atomic) of the estimators."""
        e = self.elements
        return max(0.0, 2.0 * abs(e["coherence"]) - 2.0 * math.sqrt(max(e["p00"], 0.0) * max(e["p11"], 0.0)))

    def to_dict(self) -> dict[str, object]:
        rho = self.matrix
        return {
            "sign": self.sign, "state": self.state, "basis": [f"|{b}>" for b in BASIS_STATES],
            "elements": dict(self.elements), "stderr": None if self.stderr is None else dict(self.stderr),
            "real": rho.real.tolist(), "imag": rho.imag.tolist(), "phase_rad": self.phase_rad,
            "concurrence": self.concurrence(), "minimum_eigenvalue": self.minimum_eigenvalue,
            "coherence_bound": "general" if self.general else "paper",
        }

    as_dict = to_dict


@dataclass(frozen=True, eq=False)  # holds numpy covariances: compare the fields, not the records
class DensityMatrices:
    """Both signs' read-out and atomic matrices of one link (``matrices`` in sign, state order).

    ``covariance[sign]``: the 10×10 covariance of (read-out elements, atomic elements) in
    :data:`ELEMENTS` order, where the counts gave it (from a CountRecord with read efficiencies).
    """

    link: str
    matrices: tuple[DensityMatrix, ...]
    read_efficiency_x: float | None = None
    read_efficiency_y: float | None = None
    general: bool = False
    stderr_method: str | None = None
    covariance: Mapping[str, np.ndarray] = field(default_factory=dict)
    notes: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "matrices", tuple(self.matrices))
        object.__setattr__(self, "notes", tuple(self.notes))
        frozen = {}
        for sign, matrix in dict(self.covariance).items():
            matrix = np.array(matrix, dtype=float)
            matrix.setflags(write=False)
            frozen[sign] = matrix
        object.__setattr__(self, "covariance", MappingProxyType(frozen))

    def get(self, sign: str, state: str = "read_out") -> DensityMatrix:
        for matrix in self.matrices:
            if matrix.sign == sign and matrix.state == state:
                return matrix
        raise KeyError(f"no {state} matrix of sign {sign!r} ({'; '.join(self.notes) or 'not reconstructed'})")

    def concurrence_stderr(self, sign: str, state: str = "read_out") -> float | None:
        """First-order stderr of the matrix's C (C̃ for the atoms) from the elements' covariance.

        The gradient of 2|ρ_{01,10}| − 2√(ρ_00 ρ_11) (the unclipped value; at C = 0 the stderr
        of the unclipped one, as analyze_counts gives it) against :attr:`covariance`; None where
        no covariance was propagated (matrices from figures).
        """
        covariance = self.covariance.get(sign)
        offset = STATES.index(state) * len(ELEMENTS)
        if covariance is None or covariance.shape[0] < offset + len(ELEMENTS):
            return None
        e = self.get(sign, state).elements
        p00, p11 = max(e["p00"], 0.0), max(e["p11"], 0.0)
        root = math.sqrt(p00 * p11)
        # d√(p00 p11)/dp00 = p11/(2√·); clipped populations (≤ 0) contribute no slope.
        slope00 = p11 / root if root > 0 else 0.0
        slope11 = p00 / root if root > 0 else 0.0
        gradient = np.array([-slope00, 0.0, 0.0, -slope11, 2.0 if e["coherence"] >= 0 else -2.0])
        block = covariance[offset:offset + len(ELEMENTS), offset:offset + len(ELEMENTS)]
        return float(math.sqrt(max(gradient @ block @ gradient, 0.0)))

    def to_dict(self) -> dict[str, object]:
        return {
            "link": self.link, "read_efficiency_x": self.read_efficiency_x,
            "read_efficiency_y": self.read_efficiency_y, "coherence_bound": "general" if self.general else "paper",
            "matrices": [m.to_dict() for m in self.matrices],
            "covariance": {sign: c.tolist() for sign, c in self.covariance.items()},
            "covariance_order": [f"{state}.{name}" for state in STATES for name in ELEMENTS],
            "stderr_method": self.stderr_method, "notes": list(self.notes),
        }

    as_dict = to_dict

    def csv_rows(self) -> list[list[object]]:
        """The rows of :meth:`to_csv` (columns :data:`CSV_COLUMNS`), for tables that join several links."""
        rows = []
        for m in self.matrices:
            rho, errors = m.matrix, m.matrix_stderr
            for i, row in enumerate(BASIS_STATES):
                for j, column in enumerate(BASIS_STATES):
                    estimated = i == j or {i, j} == {1, 2}
                    error = "" if errors is None or not estimated else repr(float(errors[i, j]))
                    rows.append([self.link, m.sign, m.state, row, column, repr(float(rho[i, j].real)),
                                 repr(float(rho[i, j].imag)), error, int(estimated)])
        return rows

    def to_csv(self) -> str:
        """One row per matrix element (16 per matrix); ``estimated`` 0 marks a structural zero."""
        text = io.StringIO()
        writer = csv.writer(text, lineterminator="\n")
        writer.writerow(CSV_COLUMNS)
        writer.writerows(self.csv_rows())
        return text.getvalue()


# --- from counts: values and the delta-method covariance ------------------------------------------


def _elements_function(etas: Mapping[str, float] | None, general: bool):
    """Tables (Z, X) -> the estimated elements of the read-out (and atomic) matrix, vectorized."""
    bound = general_coherence_bound if general else coherence_bound

    def elements(points: list[np.ndarray]) -> np.ndarray:
        z, x = (np.asarray(p, dtype=float).reshape(-1, 4, 4) for p in points)
        populations = z_populations(z)
        # sign(E)·d = bound(p, 1)·E: smooth through E = 0, so no kink to unfold.
        coherence = bound(populations, 1.0) * single_click_correlator(x, "X")
        out = [populations[name] for name in ELEMENTS[:4]] + [coherence]
        if etas is not None:
            atoms = atomic_populations(populations, **etas)
            out += [atoms[name] for name in ELEMENTS[:4]] + [atomic_coherence(coherence, **etas)]
        return np.stack([np.broadcast_to(np.asarray(v, dtype=float), z.shape[:1]) for v in out], axis=-1)

    return elements


def _etas(read_efficiency_x: float | None, read_efficiency_y: float | None) -> dict[str, float] | None:
    if read_efficiency_x is None or read_efficiency_y is None:
        return None
    etas = {"read_efficiency_x": read_efficiency_x, "read_efficiency_y": read_efficiency_y}
    atomic_coherence(0.0, **etas)  # refuses a read efficiency of 0 (UndefinedEstimate)
    return etas


def _from_record(record: CountRecord, *, general: bool) -> DensityMatrices:
    notes: list[str] = []
    try:
        etas = _etas(record.read_efficiency_x, record.read_efficiency_y)
    except UndefinedEstimate as error:
        etas = None
        notes.append(f"atomic matrices omitted: {error}")
    if etas is None and not notes:
        notes.append("atomic matrices omitted: no read_efficiency_x/read_efficiency_y (needed to deduct the "
                     "read-out loss)")
    function = _elements_function(etas, general)
    matrices: list[DensityMatrix] = []
    covariances: dict[str, np.ndarray] = {}
    for sign in HERALD_SIGNS:
        tables = [record.table(sign, basis) for basis in ("Z", "X")]
        try:
            values = function(tables)[0]
        except UndefinedEstimate as error:
            notes.append(f"{sign}: no matrix: {error}")
            continue
        sizes = [int(t.sum()) for t in tables]
        regularized = [(t.ravel() + JEFFREYS_PSEUDOCOUNT) / (n + JEFFREYS_PSEUDOCOUNT * t.size)
                       for t, n in zip(tables, sizes)]
        _, covariance = propagate(function, regularized,
                                  [multinomial_covariance(f, n) for f, n in zip(regularized, sizes)])
        errors = np.sqrt(np.clip(np.diag(covariance), 0.0, None))
        covariances[sign] = covariance
        for index, state in enumerate(STATES[: 2 if etas is not None else 1]):
            part = slice(5 * index, 5 * index + 5)
            matrices.append(DensityMatrix(sign=sign, state=state, elements=dict(zip(ELEMENTS, values[part])),
                                          stderr=dict(zip(ELEMENTS, errors[part])), general=general))
        notes += _sign_checks(sign, values, record)
    return DensityMatrices(link=record.link, matrices=tuple(matrices), read_efficiency_x=record.read_efficiency_x,
                           read_efficiency_y=record.read_efficiency_y, general=general, stderr_method=STDERR_METHOD,
                           covariance=covariances, notes=tuple(notes))


def _sign_checks(sign: str, values: np.ndarray, record: CountRecord) -> list[str]:
    """Notes: ⟨YY⟩ disagreeing in sign with ⟨XX⟩; negative atomic populations."""
    notes = []
    try:
        yy = float(single_click_correlator(record.table(sign, "Y"), "Y"))
    except UndefinedEstimate:
        yy = None
    if yy is not None and values[4] * yy < 0:
        notes.append(f"{sign}: <YY> = {yy:.4g} has the opposite sign of <XX> (the phase is taken from <XX>, "
                     "as d is): counting noise at a small coherence (the two read the same Re ρ_{01,10})")
    if values.size > 5 and np.any(values[5:9] < 0):
        notes.append(f"{sign}: a loss-deducted population is negative (counting noise); shown as estimated")
    return notes


# --- from the estimators' figures ---------------------------------------------------------------


def _figure(figures: object, name: str) -> float | None:
    value = figures.get(name) if isinstance(figures, Mapping) else getattr(figures, name, None)
    return None if value is None else float(value)


def _from_figures(
    figures: Mapping[str, object],
    *,
    figures_stderr: Mapping[str, Mapping[str, float]] | None,
    read_efficiency_x: float | None,
    read_efficiency_y: float | None,
    general: bool,
    link: str,
) -> DensityMatrices:
    notes: list[str] = []
    try:
        etas = _etas(read_efficiency_x, read_efficiency_y)
    except UndefinedEstimate as error:
        etas = None
        notes.append(f"atomic matrices omitted: {error}")
    if etas is None and not notes:
        notes.append("atomic matrices omitted: no read efficiencies given (needed to deduct the read-out loss)")
    name_d = "d_general" if general else "d"
    matrices = []
    for sign in HERALD_SIGNS:
        if sign not in figures:
            notes.append(f"{sign}: no figures, no matrix")
            continue
        source = figures[sign]
        values = {name: _figure(source, name) for name in (*ELEMENTS[:4], "E", name_d)}
        if any(value is None for value in values.values()):
            notes.append(f"{sign}: the figures do not define p_ij, E and {name_d}; no matrix")
            continue
        coherence = values[name_d] * (1.0 if values["E"] >= 0 else -1.0)
        read_out = {**{n: values[n] for n in ELEMENTS[:4]}, "coherence": coherence}
        errors = None
        if figures_stderr is not None and sign in figures_stderr:
            known = figures_stderr[sign]
            if all(n in known for n in (*ELEMENTS[:4], name_d)):
                errors = {**{n: known[n] for n in ELEMENTS[:4]}, "coherence": known[name_d]}
        matrices.append(DensityMatrix(sign=sign, state="read_out", elements=read_out, stderr=errors,
                                      general=general))
        if etas is not None:
            atoms = atomic_populations(read_out, **etas)
            matrices.append(DensityMatrix(
                sign=sign, state="atomic", general=general,
                elements={**atoms, "coherence": atomic_coherence(coherence, **etas)}))
    if figures_stderr is not None and etas is not None:
        notes.append("atomic matrices carry no stderr: it needs the covariance of the p_ij, i.e. the counts "
                     "(pass the CountRecord)")
    return DensityMatrices(link=link, matrices=tuple(matrices), read_efficiency_x=read_efficiency_x,
                           read_efficiency_y=read_efficiency_y, general=general,
                           stderr_method=None if figures_stderr is None else "the figures' own stderr (p_ij, d)",
                           notes=tuple(notes))


def density_matrices(
    source: CountRecord | CountAnalysis | Mapping[str, object],
    *,
    general: bool = False,
    read_efficiency_x: float | None = None,
    read_efficiency_y: float | None = None,
    link: str = "x-y",
) -> DensityMatrices:
    """The read-out and (with read efficiencies) atomic density matrices of both herald signs.

    ``source``: a :class:`CountRecord` (values and delta-method errors of every element,
    read efficiencies from the record); a :class:`CountAnalysis` (values and the read-out
    elements' errors); or the estimators' figures by sign (``{sign: EntanglementFigures}``,
    e.g. ``evaluate_link(params).figures``, or plain mappings), no errors, with the read
    efficiencies given here. ``general=True`` uses d_general (C from the matrix is then
    ``concurrence_general``). The formulas are in the module doc.
    """
    if isinstance(source, CountRecord):
        if read_efficiency_x is not None or read_efficiency_y is not None:
            raise ValueError("a CountRecord carries its own read efficiencies; do not pass read_efficiency_x/_y")
        return _from_record(source, general=general)
    if isinstance(source, CountAnalysis):
        if read_efficiency_x is not None or read_efficiency_y is not None:
            raise ValueError("a CountAnalysis carries its own read efficiencies; do not pass read_efficiency_x/_y")
        return _from_figures(source.figures, figures_stderr=source.figures_stderr,
                             read_efficiency_x=source.read_efficiency_x, read_efficiency_y=source.read_efficiency_y,
                             general=general, link=source.link)
    if isinstance(source, Mapping):
        return _from_figures(source, figures_stderr=None, read_efficiency_x=read_efficiency_x,
                             read_efficiency_y=read_efficiency_y, general=general, link=link)
    raise TypeError(f"source must be a CountRecord, a CountAnalysis or figures by sign, not {type(source).__name__}")
