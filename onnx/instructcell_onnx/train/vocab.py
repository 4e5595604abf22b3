"""A small Unigram (SentencePiece-style) tokenizer trained on the model's own instruction text.

It uses the package's tokenizer pipeline (``tokenizer._pipeline``: NFKC, whitespace folding,
``Metaspace`` with the word prefix only at the text start, ``</s>`` appended), so it behaves
like the converted T5 tokenizers. Ids: ``<pad>`` 0, ``</s>`` 1, ``<unk>`` 2, the learned pieces,
then ``<CELL> </CELL> <CELL0> <CELL1>`` (added by :func:`tokenizer.add_cell_tokens`).
"""

from __future__ import annotations

from tokenizers import Tokenizer, trainers
from tokenizers.models import Unigram

from .. import tokenizer as tokenization

BASE_SPECIALS = ["<pad>", "</s>", "<unk>"]


def train_tokenizer(corpus: list[str], vocab_size: int) -> Tokenizer:
    """Train the Unigram vocabulary on ``corpus``; cell tokens are not added yet."""
    tok = Tokenizer(Unigram())
    tokenization._pipeline(tok, legacy=False, precompiled=None, eos_id=1)
    trainer = trainers.UnigramTrainer(
        vocab_size=vocab_size,
        special_tokens=BASE_SPECIALS,
        unk_token="<unk>",
        shrinking_factor=0.75,
        n_sub_iterations=2,
        show_progress=False,
    )
    tok.train_from_iterator(corpus, trainer=trainer)
    vocab = [(piece, score) for piece, score in _pieces(tok)]
    final = Tokenizer(Unigram(vocab, unk_id=2, byte_fallback=False))
    tokenization._pipeline(final, legacy=False, precompiled=None, eos_id=1)
    tokenization._add(final, [tokenization.AddedSpec(i, t) for i, t in enumerate(BASE_SPECIALS)])
    return final


def _pieces(tok: Tokenizer) -> list[tuple[str, float]]:
    import json

    model = json.loads(tok.to_str())["model"]
    pieces = [(p, float(s)) for p, s in model["vocab"]]
    for i, name in enumerate(BASE_SPECIALS):
        if pieces[i][0] != name:
            raise RuntimeError(f"tokenizer training put {pieces[i][0]!r} at id {i}, expected {name!r}")
    return pieces
