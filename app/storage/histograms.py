"""Fixed log-bucket latency histograms, merged across rollups to read percentiles.

Histogram error bound: bucket ``i >= 1`` holds values in ``[G**(i-1), G**i)`` ms, with
their count and sum; a percentile reads back the mean of the bucket the nearest rank falls
in. Mean and exact value share that bucket, so for any value of at least 1 ms the relative
error is below ``G - 1`` (5 % with ``G = 1.05``; far less in practice, as the mean sits
near the middle), and exact when the bucket's values are equal. Bucket 0 holds everything
under 1 ms. At most ``MAX_BUCKET + 1`` cells: the cost of merging is bounded by the
number of days, never by the number of records.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping

from app.storage.models import nearest_rank

#: Growth factor between histogram bucket edges.
GROWTH = 1.05
#: The worst relative error of a histogram percentile (values of 1 ms and more).
MAX_RELATIVE_ERROR = GROWTH - 1
_LOG_G = math.log(GROWTH)
#: Values beyond ~3.3 hours share the last bucket (its mean is still theirs).
MAX_BUCKET = 400

#: bucket index (a string: BSON keys) -> {"n": count, "s": sum of the values in ms}
Histogram = dict[str, dict[str, float]]


def bucket_of(value_ms: float) -> int:
    if value_ms < 1.0:
        return 0
    return min(MAX_BUCKET, math.floor(math.log(value_ms) / _LOG_G) + 1)


def _mean(cell: Mapping[str, float]) -> float:
    return round(cell["s"] / cell["n"], 3) if cell["n"] else 0.0


def hist_percentile(hist: Mapping[str, Mapping[str, float]], p: float) -> float | None:
    """Nearest-rank percentile (as ``nearest_rank``) read from a merged histogram."""
    n = sum(int(cell["n"]) for cell in hist.values())
    if n == 0:
        return None
    rank = max(1, math.ceil(p * n))
    seen = 0
    ordered = sorted(hist.items(), key=lambda kv: int(kv[0]))
    for _index, cell in ordered:
        seen += int(cell["n"])
        if seen >= rank:
            return _mean(cell)
    return _mean(ordered[-1][1])  # unreachable: the counts add up to n


class FlatHistogram:
    """A merge target: counts and sums in two dense lists (merging many rollups' sparse
    histograms without a dict per cell)."""

    __slots__ = ("counts", "sums")

    def __init__(self) -> None:
        self.counts = [0] * (MAX_BUCKET + 1)
        self.sums = [0.0] * (MAX_BUCKET + 1)

    def merge(self, other: Mapping[str, Mapping[str, float]]) -> None:
        counts, sums = self.counts, self.sums
        for k, cell in other.items():
            i = int(k)
            counts[i] += int(cell["n"])
            sums[i] += cell["s"]

    def percentiles(self, *ps: float) -> list[float | None]:
        n = sum(self.counts)
        if n == 0:
            return [None for _ in ps]
        out: list[float | None] = []
        for p in ps:
            rank, seen = max(1, math.ceil(p * n)), 0
            for i, c in enumerate(self.counts):
                seen += c
                if c and seen >= rank:
                    out.append(round(self.sums[i] / c, 3))
                    break
        return out


def hist_merge(into: Histogram, other: Mapping[str, Mapping[str, float]]) -> None:
    for k, cell in other.items():
        mine = into.setdefault(k, {"n": 0, "s": 0.0})
        mine["n"] += cell["n"]
        mine["s"] += cell["s"]


def exact_percentile(values: Iterable[float], p: float) -> float | None:
    return nearest_rank(sorted(values), p)


# ---------------------------------------------------------------------------- the model
