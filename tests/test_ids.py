"""arXiv id normalisation."""

import pytest

from newsletter.errors import FeedError
from newsletter.sources.ids import split_arxiv_id


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2406.11944", ("2406.11944", None)),
        ("2406.11944v3", ("2406.11944", 3)),
        ("arXiv:2406.11944v2", ("2406.11944", 2)),
        ("http://arxiv.org/abs/2406.11944v1", ("2406.11944", 1)),
        ("https://arxiv.org/pdf/2406.11944v4.pdf", ("2406.11944", 4)),
        ("oai:arXiv.org:2406.11944v5", ("2406.11944", 5)),
        ("hep-th/9901001", ("hep-th/9901001", None)),
        ("math.AG/0601001v2", ("math.AG/0601001", 2)),
        ("0704.0001", ("0704.0001", None)),
    ],
)
def test_split(raw: str, expected: tuple[str, int | None]) -> None:
    assert split_arxiv_id(raw) == expected


# Other scripts' digits would store a second copy of 2611.00001 under a link arXiv does not know.
@pytest.mark.parametrize(
    "raw", ["", "hello", "2406", "2406.11944x", "２６１１.００００１", "٢٦١١.٠٠٠٠١", "2406.11944v٣"]
)
def test_rejects_non_ids(raw: str) -> None:
    with pytest.raises(FeedError, match="not an arXiv id"):
        split_arxiv_id(raw)
