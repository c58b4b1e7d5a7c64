import pytest

from anxin.cloud.care.barthel import ITEMS, BarthelError, band_of, score

FULL = {name: max(scores) for name, scores in ITEMS.items()}
NONE = {name: 0 for name in ITEMS}


def test_the_ten_items_and_their_allowed_scores() -> None:
    assert ITEMS == {
        "feeding": (0, 5, 10),
        "bathing": (0, 5),
        "grooming": (0, 5),
        "dressing": (0, 5, 10),
        "bowels": (0, 5, 10),
        "bladder": (0, 5, 10),
        "toilet_use": (0, 5, 10),
        "transfers": (0, 5, 10, 15),
        "mobility": (0, 5, 10, 15),
        "stairs": (0, 5, 10),
    }
    assert score(FULL) == 100
    assert score(NONE) == 0


@pytest.mark.parametrize(
    ("total", "band"),
    [
        (0, "total"),
        (20, "total"),
        (21, "severe"),
        (60, "severe"),
        (61, "moderate"),
        (90, "moderate"),
        (91, "slight"),
        (99, "slight"),
        (100, "independent"),
    ],
)
def test_dependency_bands_of_shah_1989(total: int, band: str) -> None:
    assert band_of(total).name == band


def test_a_typical_frail_person() -> None:
    items = NONE | {"feeding": 5, "bowels": 10, "bladder": 5, "transfers": 10, "mobility": 5}
    assert score(items) == 35
    assert band_of(35).label_zh == "重度依赖"


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        ({"walking": 10}, "items.walking", "'walking' is not a Barthel item"),
        ({"bathing": 10}, "items.bathing", "one of 0, 5, got 10"),
        ({"transfers": 7}, "items.transfers", "one of 0, 5, 10, 15, got 7"),
        ({"feeding": True}, "items.feeding", "one of 0, 5, 10, got True"),
        ({"stairs": "10"}, "items.stairs", "one of 0, 5, 10, got '10'"),
    ],
)
def test_wrong_items_and_scores_are_named(change: dict, field: str, words: str) -> None:
    with pytest.raises(BarthelError) as caught:
        score(FULL | change)
    assert caught.value.field == field
    assert words in str(caught.value)


def test_a_missing_item_is_named() -> None:
    items = dict(FULL)
    del items["grooming"]
    with pytest.raises(BarthelError, match="'grooming' is missing"):
        score(items)
