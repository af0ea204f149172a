"""Blind answers read back: the files listeners saved from a blind page, decoded with the report's key, as
preferences per run (mean rating, ratings, wins)."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from audiogan.report.blind import AnswersError, BlindKey

FORMAT = "audiogan-report-answers/1"
RATINGS = range(1, 6)


@dataclass
class Preference:
    """A run's ratings over every clip and listener; ``wins``: (listener, clip) pairs where it alone was rated
    highest."""

    run: str
    ratings: list[int] = field(default_factory=list)
    wins: int = 0

    @property
    def mean(self) -> float:
        return sum(self.ratings) / len(self.ratings) if self.ratings else float("nan")


def read_answers(path: str | os.PathLike, key: str | os.PathLike | None = None) -> dict[str, dict[str, int]]:
    """{clip: {run label: rating}} of one answers file, decoded with ``key`` (a blind report's key.json;
    None: the key the file names). Ratings are integers 1-5; unrated columns are absent."""
    try:
        answers = json.loads(Path(path).read_text())
        if answers.get("format") != FORMAT:
            raise ValueError(f"format {answers.get('format')!r}")
        key_path, key_id, ratings = answers["key"], answers["key_id"], answers["ratings"]
    except (ValueError, KeyError, TypeError, AttributeError) as err:
        raise AnswersError(
            f"{path}: not an answers file saved from a blind report, expected {FORMAT} ({err})"
        ) from err
    blind = BlindKey.load(key or key_path)
    if key_id != blind.id:
        raise AnswersError(
            f"{path}: answers to the report with key id {key_id}, but {key or key_path} has id {blind.id}; "
            "pass key=<that blind report>/key.json"
        )
    decoded: dict[str, dict[str, int]] = {}
    for clip, columns in ratings.items():
        for letter, rating in columns.items():
            run = blind.columns.get(clip, {}).get(letter)
            if run is None or rating not in RATINGS or isinstance(rating, bool):
                raise AnswersError(
                    f"{path}: rating {rating!r} of clip {clip!r} column {letter!r}; expected a column of the "
                    f"key and a rating in 1-5"
                )
            decoded.setdefault(clip, {})[run] = rating
    return decoded


def preferences(paths: list[str], key: str | None = None) -> list[Preference]:
    """Every run's preference over the answers files at ``paths``, best mean rating first."""
    table: dict[str, Preference] = {}
    for path in paths:
        for ratings in read_answers(path, key).values():
            for run, rating in ratings.items():
                table.setdefault(run, Preference(run)).ratings.append(rating)
            best = max(ratings.values())
            top = [run for run, rating in ratings.items() if rating == best]
            if len(top) == 1:
                table[top[0]].wins += 1
    return sorted(table.values(), key=lambda p: -p.mean)


def preference_table(rows: list[Preference]) -> str:
    """A plain-text table: run, mean rating, ratings, wins."""
    width = max([len("run"), *(len(row.run) for row in rows)])
    lines = [f"{'run':<{width}}  mean  ratings  wins"]
    lines += [f"{row.run:<{width}}  {row.mean:4.2f}  {len(row.ratings):7d}  {row.wins:4d}" for row in rows]
    return "\n".join(lines)
