"""Count and event files (docs/count_files.md): exact round trips and refusals that name file, row and field.

Records here are built by hand (no simulator); row numbers in the expected
messages are counted in the file texts written below.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from metroqnet.analysis.count_files import CountFileError, read_count_file, write_count_file
from metroqnet.analysis.events import EventRecord, read_event_file, write_event_file
from metroqnet.analysis.outcomes import BOTH, MINUS_ONLY, NO_CLICK, PLUS_ONLY
from metroqnet.analysis.records import COUNT_SHAPE, CountRecord
from metroqnet.config.errors import ConfigError

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "counts_example.csv"
HEADER = "link,herald,basis,outcome_x,outcome_y,events\n"


def hand_record(link="ab", seed=7, **settings) -> CountRecord:
    """Every cell non-zero (values from a seeded generator), trials well above the heralds."""
    counts = np.random.default_rng(seed).integers(1, 50, size=COUNT_SHAPE)
    return CountRecord(
        link=link,
        counts=counts,
        trials_per_basis=[10_000, 20_000, 30_000],
        metadata={"source": "hand", "batch": seed, "scale": 1 / 3, "note": "a: b, c", "tags": ["x", 2, None],
                  "calibrated": True, "id_text": "12345", "lines": "two\nlines", "padded": " padded "},
        **settings,
    )


def write(tmp_path, text, name="counts.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


# --- round trip ---------------------------------------------------------------------------


def test_round_trip_one_record_with_settings_and_metadata(tmp_path):
    record = hand_record(read_efficiency_x=0.27, read_efficiency_y=0.1 + 0.2, repetition_rate_hz=2760.0)
    path = tmp_path / "one.csv"
    write_count_file(path, record)
    back = read_count_file(path)
    assert list(back) == ["ab"]
    assert back["ab"] == record
    assert back["ab"].read_efficiency_y == 0.1 + 0.2  # floats exactly, not rounded
    assert dict(back["ab"].metadata) == dict(record.metadata)
    # Typed: integers stay integers, a string of digits stays a string, floats exactly.
    assert back["ab"].metadata["batch"] == 7 and isinstance(back["ab"].metadata["batch"], int)
    assert back["ab"].metadata["id_text"] == "12345" and back["ab"].metadata["scale"] == 1 / 3


def test_round_trip_several_links_with_different_settings(tmp_path):
    records = {
        "alice-bob": hand_record("alice-bob", 1, read_efficiency_x=0.27, read_efficiency_y=0.27),
        "alice-charlie": hand_record("alice-charlie", 2, read_efficiency_x=0.27, repetition_rate_hz=1000.0),
        "bob-charlie": hand_record("bob-charlie", 3),
    }
    path = tmp_path / "three.csv"
    write_count_file(path, records)
    assert read_count_file(path) == records
    text = path.read_text(encoding="utf-8")
    # Shared provenance once for the file, the rest scoped to its link.
    assert "# source: hand\n" in text
    assert "# [alice-charlie] repetition_rate_hz: 1000.0\n" in text
    assert "# [bob-charlie] batch: 3\n" in text


def test_round_trip_sparse_counts_and_record_without_extras(tmp_path):
    counts = np.zeros(COUNT_SHAPE, dtype=np.int64)
    counts[1, 2, PLUS_ONLY, MINUS_ONLY] = 5
    record = CountRecord(link="x-y", counts=counts, trials_per_basis=[0, 0, 9])
    path = tmp_path / "sparse.csv"
    write_count_file(path, record)
    assert read_count_file(path) == {"x-y": record}
    # Three trials rows and one events row: zero cells are not written.
    assert len([line for line in path.read_text().splitlines() if line.startswith("x-y,")]) == 4


def test_missing_cells_are_zero_and_a_hand_written_file_reads(tmp_path):
    text = (
        "# format: metroqnet-counts/1\n"
        "# a free comment without a key\n"
        "# read_efficiency_x: 0.5\n"
        "# [ab] read_efficiency_x: 0.25\n"
        "\n"
        "basis, link, herald, outcome_x, outcome_y, events\n"  # any column order, spaces around cells
        "Z, ab, *, *, *, 100\n"
        "Z, ab, plus, none, both, 3\n"
        "Z, ab, minus, both, none, 4\n"
    )
    record = read_count_file(write(tmp_path, "\ufeff" + text))["ab"]
    expected = np.zeros(COUNT_SHAPE, dtype=np.int64)
    expected[0, 0, NO_CLICK, BOTH] = 3
    expected[1, 0, BOTH, NO_CLICK] = 4
    assert np.array_equal(record.counts, expected)
    assert record.trials_per_basis.tolist() == [100, 0, 0]
    assert record.read_efficiency_x == 0.25  # the link's own line overrides the file-wide one
    assert record.read_efficiency_y is None and record.repetition_rate_hz is None
    assert dict(record.metadata) == {}


def test_example_file_parses():
    records = read_count_file(EXAMPLE)
    assert list(records) == ["alice-bob"]
    record = records["alice-bob"]
    assert record.heralds > 0 and record.trials > record.heralds
    assert record.read_efficiency_x and record.read_efficiency_y and record.repetition_rate_hz
    assert "seed" in record.metadata


# --- refusals -----------------------------------------------------------------------------

GOOD = "ab,*,Z,*,*,100\nab,plus,Z,none,plus_only,5\n"
#: name -> (file text, fragments the message must hold). Row numbers count every line of the text.
REFUSALS = {
    "missing column": ("link,herald,basis,outcome_x,events\nab,*,Z,*,100\n", ["row 1", "'outcome_y'", "missing"]),
    "unknown column": (HEADER.strip() + ",comment\n" + "ab,*,Z,*,*,100,x\n", ["row 1", "'comment'", "unknown column"]),
    "unknown herald": (HEADER + GOOD + "ab,plu,Z,none,none,1\n", ["row 4", "'herald'", "'plu'", "plus, minus"]),
    "unknown basis": (HEADER + GOOD + "ab,plus,W,none,none,1\n", ["row 4", "'basis'", "'W'", "Z, X, Y"]),
    "unknown outcome": (HEADER + GOOD + "ab,plus,Z,none,plus,1\n", ["row 4", "'outcome_y'", "'plus'", "plus_only"]),
    "negative events": (HEADER + GOOD + "ab,plus,Z,none,none,-3\n", ["row 4", "'events'", "'-3'", "non-negative integer"]),
    "fractional events": (HEADER + GOOD + "ab,plus,Z,none,none,1.5\n", ["row 4", "'events'", "'1.5'"]),
    "empty events": (HEADER + GOOD + "ab,plus,Z,none,none,\n", ["row 4", "'events'", "''"]),
    "text events": (HEADER + GOOD + "ab,plus,Z,none,none,many\n", ["row 4", "'events'", "'many'"]),
    "too few fields": (HEADER + GOOD + "ab,plus,Z,none,none\n", ["row 4", "expected 6 fields"]),
    "duplicate row": (HEADER + GOOD + "ab,plus,Z,none,plus_only,6\n", ["row 4", "'events'", "duplicate of row 3"]),
    "duplicate trials row": (HEADER + GOOD + "ab,*,Z,*,*,100\n", ["row 4", "duplicate of row 2"]),
    "no trials row": (HEADER + GOOD + "ab,minus,X,none,both,2\n", ["row 4", "'herald'", "basis X", "no trials row"]),
    "heralds exceed trials": (HEADER + "ab,*,Z,*,*,7\nab,plus,Z,none,none,5\nab,minus,Z,none,none,3\n",
                              ["row 2", "'events'", "8 heralded events exceed 7 trials"]),
    "empty herald set": (HEADER + "ab,*,Z,*,*,100\nab,plus,Z,none,none,0\n",
                         ["row 2", "'events'", "empty herald set"]),
    "header only": (HEADER, ["'events'", "empty herald set"]),
    "no header": ("# only comments\n", ["no header row"]),
    "star outcome on events row": (HEADER + GOOD + "ab,plus,Z,*,none,1\n", ["row 4", "'outcome_x'", "trials row"]),
    "outcome on trials row": (HEADER + GOOD + "ab,*,X,none,*,100\n", ["row 4", "'outcome_x'", "'none'"]),
    "empty link": (HEADER + GOOD + ",plus,Z,none,none,1\n", ["row 4", "'link'"]),
    "bad read efficiency": ("# read_efficiency_x: 1.5\n" + HEADER + GOOD, ["row 1", "'read_efficiency_x'", "1.5", "[0, 1]"]),
    "bad repetition rate": ("# repetition_rate_hz: fast\n" + HEADER + GOOD, ["row 1", "'repetition_rate_hz'", "'fast'"]),
    "unknown format": ("# format: metroqnet-counts/9\n" + HEADER + GOOD, ["row 1", "'format'", "metroqnet-counts/9"]),
    "metadata twice": ("# seed: 1\n# seed: 2\n" + HEADER + GOOD, ["row 2", "'seed'", "first on row 1"]),
    "metadata of an absent link": ("# [cd] seed: 1\n" + HEADER + GOOD, ["row 1", "'seed'", "'cd'"]),
    # Sums beyond int64 must not wrap around into negative herald probabilities.
    "heralds overflow int64": (HEADER + f"ab,*,Z,*,*,{2**63 - 1}\nab,plus,Z,none,none,{2**63 - 1}\n"
                               f"ab,plus,Z,none,both,{2**63 - 1}\n", ["row 2", "'events'", "exceed"]),
    "trials overflow int64": (HEADER + GOOD + f"ab,*,X,*,*,{2**63 - 1}\n", ["row 4", "'events'", "trials in all"]),
}


@pytest.mark.parametrize("case", list(REFUSALS))
def test_refusals_name_file_row_and_field(tmp_path, case):
    text, fragments = REFUSALS[case]
    path = write(tmp_path, text, name="lab_counts.csv")
    with pytest.raises(CountFileError) as info:
        read_count_file(path)
    message = str(info.value)
    assert isinstance(info.value, ValueError)
    assert message.startswith(str(path)), message
    for fragment in fragments:
        assert fragment in message, f"{fragment!r} not in {message!r}"


def test_refuses_non_utf8_and_missing_files(tmp_path):
    path = tmp_path / "binary.csv"
    path.write_bytes(HEADER.encode() + b"ab,*,Z,*,*,\xff\xfe\n")
    with pytest.raises(CountFileError, match="binary.csv.*not UTF-8"):
        read_count_file(path)
    with pytest.raises(CountFileError, match="nowhere.csv.*does not exist"):
        read_count_file(tmp_path / "nowhere.csv")


@pytest.mark.parametrize(
    "metadata, fragment",
    [
        ({"read_efficiency_x": "0.3"}, "'read_efficiency_x'"),
        ({"strong_id": "abc"}, "'strong_id'"),
        ({"bad key": "x"}, "'bad key'"),
    ],
)
def test_write_refuses_metadata_that_would_not_read_back(tmp_path, metadata, fragment):
    record = CountRecord(link="ab", counts=np.ones(COUNT_SHAPE), trials_per_basis=[99] * 3, metadata=metadata)
    with pytest.raises(CountFileError, match=fragment):
        write_count_file(tmp_path / "out.csv", record)
    assert not (tmp_path / "out.csv").exists()  # nothing half-written


@pytest.mark.parametrize("value", [float("nan"), {1, 2}, object()])
def test_records_refuse_metadata_that_is_not_json_data(value):
    with pytest.raises(ConfigError, match="metadata.note"):
        CountRecord(link="ab", counts=np.ones(COUNT_SHAPE), trials_per_basis=[99] * 3, metadata={"note": value})


@pytest.mark.parametrize("key", ["read_eficiency_x", "repetition_rate", "strongid", "run"])
def test_typo_of_a_reserved_metadata_key_is_refused(tmp_path, key):
    # A misspelt reserved key would otherwise be kept as free metadata and silently ignored.
    path = write(tmp_path, f"# {key}: 0.3\n" + HEADER + "ab,*,Z,*,*,100\nab,plus,Z,none,none,3\n")
    with pytest.raises(CountFileError, match=rf"row 1, field '{key}'.*close to"):
        read_count_file(path)


def test_counts_beyond_int64_say_so(tmp_path):
    path = write(tmp_path, HEADER + f"ab,*,Z,*,*,{2**63}\nab,plus,Z,none,none,3\n")
    with pytest.raises(CountFileError, match="exceeds 9223372036854775807, the largest count"):
        read_count_file(path)


@pytest.mark.parametrize("kind", ["directory", "device"])
def test_a_path_that_is_not_a_file_says_what_it_is(tmp_path, kind):
    path = tmp_path if kind == "directory" else Path("/dev/null")
    with pytest.raises(CountFileError, match="is a directory" if kind == "directory" else "character device"):
        read_count_file(path)


def test_write_refuses_bad_link_names_and_mismatched_keys(tmp_path):
    record = CountRecord(link="a,b", counts=np.ones(COUNT_SHAPE), trials_per_basis=[99] * 3)
    with pytest.raises(CountFileError, match="'link'"):
        write_count_file(tmp_path / "out.csv", record)
    with pytest.raises(CountFileError, match="'cd'"):
        write_count_file(tmp_path / "out.csv", {"cd": hand_record("ab")})


# --- event files ----------------------------------------------------------------------------


def hand_events(**settings) -> EventRecord:
    return EventRecord(
        link="ab",
        trial_index=[3, 17, 18, 40],
        sign=[0, 1, 0, 0],
        basis=[0, 1, 2, 0],
        outcome_x=[NO_CLICK, PLUS_ONLY, MINUS_ONLY, BOTH],
        outcome_y=[PLUS_ONLY, PLUS_ONLY, NO_CLICK, BOTH],
        trials_per_basis=[20, 15, 10],
        metadata={"seed": "5"},
        **settings,
    )


def test_event_record_to_counts():
    record = hand_events(repetition_rate_hz=2760.0).to_counts()
    expected = np.zeros(COUNT_SHAPE, dtype=np.int64)
    expected[0, 0, NO_CLICK, PLUS_ONLY] = 1
    expected[1, 1, PLUS_ONLY, PLUS_ONLY] = 1
    expected[0, 2, MINUS_ONLY, NO_CLICK] = 1
    expected[0, 0, BOTH, BOTH] = 1
    assert np.array_equal(record.counts, expected)
    assert record.trials_per_basis.tolist() == [20, 15, 10]
    assert record.repetition_rate_hz == 2760.0 and dict(record.metadata) == {"seed": "5"}


def test_event_file_round_trip(tmp_path):
    events = hand_events(read_efficiency_x=0.27, read_efficiency_y=0.3, repetition_rate_hz=2760.0)
    path = tmp_path / "events.csv"
    write_event_file(path, events)
    assert read_event_file(path) == events
    assert read_event_file(path).to_counts() == events.to_counts()


EVENT_HEAD = "# link: ab\n# trials_Z: 20\n# trials_X: 15\n# trials_Y: 10\ntrial_index,herald,basis,outcome_x,outcome_y\n"


@pytest.mark.parametrize(
    "text, fragments",
    [
        (EVENT_HEAD + "3,plus,Z,none,none\n3,plus,Z,none,none\n", ["row 7", "'trial_index'", "increasing"]),
        (EVENT_HEAD + "45,plus,Z,none,none\n", ["row 6", "'trial_index'", "45"]),
        (EVENT_HEAD + "3,both,Z,none,none\n", ["row 6", "'herald'", "'both'"]),
        (EVENT_HEAD + "-1,plus,Z,none,none\n", ["row 6", "'trial_index'", "'-1'"]),
        (EVENT_HEAD, ["'trial_index'", "empty herald set"]),
        (EVENT_HEAD.replace("# link: ab\n", ""), ["'link'", "missing"]),
        (EVENT_HEAD.replace("trials_Y: 10", "trials_Y: 0") + "3,plus,Y,none,none\n", ["row 4", "'trials_Y'", "exceed"]),
    ],
)
def test_event_file_refusals(tmp_path, text, fragments):
    path = write(tmp_path, text, name="tags.csv")
    with pytest.raises(CountFileError) as info:
        read_event_file(path)
    message = str(info.value)
    assert message.startswith(str(path))
    for fragment in fragments:
        assert fragment in message, f"{fragment!r} not in {message!r}"


def test_event_record_validates_arrays():
    with pytest.raises(ValueError, match="trial_index"):
        EventRecord(link="ab", trial_index=[5, 2], sign=[0, 0], basis=[0, 0], outcome_x=[0, 0], outcome_y=[0, 0],
                    trials_per_basis=[10, 0, 0])
    with pytest.raises(ValueError, match="outcome_y"):
        EventRecord(link="ab", trial_index=[1], sign=[0], basis=[0], outcome_x=[0], outcome_y=[300],
                    trials_per_basis=[10, 0, 0])


def test_record_refuses_totals_beyond_int64():
    counts = np.zeros(COUNT_SHAPE, dtype=np.int64)
    with pytest.raises(ValueError, match="trials_per_basis"):
        CountRecord(link="ab", counts=counts, trials_per_basis=[2**63 - 1, 2**63 - 1, 0])
    counts[0, 0, 0, 0] = counts[0, 0, 0, 1] = 2**63 - 1
    with pytest.raises(ValueError, match="exceed"):
        CountRecord(link="ab", counts=counts, trials_per_basis=[2**63 - 1, 0, 0])
