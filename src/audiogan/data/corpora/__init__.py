"""Readers of corpora in their real on-disk layouts, plus the embedded tiny_speech corpus."""

from audiogan.data.corpora.base import (
    Corpus,
    CorpusNotFoundError,
    HashSplitCorpus,
    SplitUnavailableError,
    Utterance,
    split_of,
)

__all__ = [
    "Corpus",
    "CorpusNotFoundError",
    "HashSplitCorpus",
    "SplitUnavailableError",
    "Utterance",
    "split_of",
]
