"""Build the package's ``tokenizer.json`` (Hugging Face ``tokenizers`` format).

Sources, as the original code would load them: the slow T5 SentencePiece files
(``spiece.model`` + ``tokenizer_config.json``/``added_tokens.json``) when the config says
``tokenizer_use_fast: false`` (the published checkpoints), otherwise an existing
``tokenizer.json``. Random-weight packages get a synthetic Unigram vocabulary.

The original slow tokenizer runs with ``legacy=False``: only the start of the text gets the
SentencePiece word-boundary prefix, not every chunk that follows an added token. The
converted tokenizer reproduces that (``Metaspace`` with ``prepend_scheme="first"`` and no
stripping of leading spaces per chunk), and :class:`SentencePieceReference` re-derives the
slow behaviour from ``sentencepiece`` itself so the conversion can be checked.
"""

from __future__ import annotations

import itertools
import json
import string
from dataclasses import dataclass
from pathlib import Path

from tokenizers import AddedToken, Regex, Tokenizer, decoders, normalizers, pre_tokenizers, processors
from tokenizers.models import Unigram

from .config import ModelConfig
from .errors import ExportError

SPIECE_UNDERLINE = "▁"


@dataclass
class AddedSpec:
    """One added (special) token: its id, text and whitespace handling."""

    id: int
    content: str
    lstrip: bool = False
    rstrip: bool = False


def _pipeline(tok: Tokenizer, legacy: bool, precompiled: bytes | None, eos_id: int) -> None:
    parts = []
    if precompiled:
        parts.append(normalizers.Precompiled(precompiled))
    else:
        parts += [normalizers.NFKC(), normalizers.Replace(Regex(r"[\t\n\r]"), " ")]
    parts += [normalizers.Replace(Regex(r" +$"), ""), normalizers.Replace(Regex(r" {2,}"), " ")]
    if legacy:
        parts.append(normalizers.Replace(Regex(r"^ +"), ""))
    tok.normalizer = normalizers.Sequence(parts)
    scheme = "always" if legacy else "first"
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement=SPIECE_UNDERLINE, prepend_scheme=scheme, split=True)
    tok.decoder = decoders.Metaspace(replacement=SPIECE_UNDERLINE, prepend_scheme=scheme, split=True)
    tok.post_processor = processors.TemplateProcessing(
        single="$A </s>", pair="$A </s> $B </s>", special_tokens=[("</s>", eos_id)]
    )


def _add(tok: Tokenizer, specs: list[AddedSpec]) -> None:
    for spec in sorted(specs, key=lambda s: s.id):
        tok.add_special_tokens(
            [
                AddedToken(
                    spec.content,
                    special=True,
                    normalized=False,
                    lstrip=spec.lstrip,
                    rstrip=spec.rstrip,
                    single_word=False,
                )
            ]
        )
        got = tok.token_to_id(spec.content)
        if got != spec.id:
            raise ExportError(f"tokenizer: special token {spec.content!r} would get id {got}, expected {spec.id}")


def _load_proto(spiece: Path):
    from sentencepiece import sentencepiece_model_pb2 as pb

    proto = pb.ModelProto()
    try:
        proto.ParseFromString(spiece.read_bytes())
    except Exception as exc:  # protobuf raises its own DecodeError type
        raise ExportError(f"cannot parse SentencePiece model {spiece}: {exc}") from exc
    if not proto.pieces:
        raise ExportError(f"SentencePiece model {spiece} has no pieces")
    if proto.trainer_spec.model_type != 1:
        raise ExportError(f"SentencePiece model {spiece} is not a Unigram model (T5 uses Unigram)")
    return proto


def from_sentencepiece(spiece: Path, extra_ids: int, legacy: bool, added: list[AddedSpec]) -> Tokenizer:
    """Convert a T5 ``spiece.model`` plus its added tokens into a ``tokenizers`` Unigram tokenizer."""
    proto = _load_proto(spiece)
    vocab = [(p.piece, p.score) for p in proto.pieces]
    vocab += [(f"<extra_id_{i}>", 0.0) for i in range(extra_ids - 1, -1, -1)]
    tok = Tokenizer(Unigram(vocab, unk_id=proto.trainer_spec.unk_id, byte_fallback=False))
    precompiled = proto.normalizer_spec.precompiled_charsmap or None
    eos = [i for i, p in enumerate(proto.pieces) if p.piece == "</s>"]
    if not eos:
        raise ExportError(f"SentencePiece model {spiece} has no '</s>' piece")
    _pipeline(tok, legacy, precompiled, eos[0])
    _add(tok, added)
    return tok


def synthetic(base_pieces: int, extra_ids: int = 100) -> Tokenizer:
    """A deterministic Unigram vocabulary of ``base_pieces`` pieces (pad, eos, unk first), for random models.

    Pieces are printable ASCII characters and letter n-grams, with and without the word
    prefix; every piece has the same score so segmentation prefers fewer, longer pieces.
    """
    pieces = ["<pad>", "</s>", "<unk>", SPIECE_UNDERLINE]
    chars = [c for c in string.printable if not c.isspace()]
    pieces += [SPIECE_UNDERLINE + c for c in chars] + chars
    letters = string.ascii_lowercase
    for n in (2, 3, 4):
        for combo in itertools.product(letters, repeat=n):
            word = "".join(combo)
            pieces += [SPIECE_UNDERLINE + word, word]
            if len(pieces) >= base_pieces:
                break
        if len(pieces) >= base_pieces:
            break
    pieces = pieces[:base_pieces]
    vocab = [(p, 0.0 if i < 3 else -1.0) for i, p in enumerate(pieces)]
    vocab += [(f"<extra_id_{i}>", 0.0) for i in range(extra_ids - 1, -1, -1)]
    tok = Tokenizer(Unigram(vocab, unk_id=2, byte_fallback=False))
    _pipeline(tok, legacy=False, precompiled=None, eos_id=1)
    specs = [AddedSpec(0, "<pad>"), AddedSpec(1, "</s>"), AddedSpec(2, "<unk>")]
    specs += [AddedSpec(base_pieces + extra_ids - 1 - i, f"<extra_id_{i}>", True, True) for i in range(extra_ids)]
    _add(tok, specs)
    return tok


def add_cell_tokens(tok: Tokenizer, cfg: ModelConfig) -> None:
    """Make sure ``<CELL> </CELL> <CELL0> <CELL1>`` are special tokens with the config's ids."""
    sp = cfg.special
    wanted = [
        (sp.texts["start_tag"], sp.start_tag),
        (sp.texts["end_tag"], sp.end_tag),
        (sp.texts["placeholder"], sp.placeholder),
    ]
    # num_signal_tokens may exceed the named signal tokens: only the named ones are checked here.
    wanted += list(zip(sp.texts["signal_tokens"], sp.signal_tokens, strict=False))
    for content, ident in sorted(wanted, key=lambda w: w[1]):
        have = tok.token_to_id(content)
        if have is None:
            _add(tok, [AddedSpec(ident, content)])
        elif have != ident:
            raise ExportError(f"tokenizer: {content!r} has id {have} but config.json says {ident}")
    special_contents = {t.content for t in tok.get_added_tokens_decoder().values() if t.special}
    for content, _ in wanted:
        if content not in special_contents:
            raise ExportError(f"tokenizer: {content!r} exists but is not a special token")
    size = tok.get_vocab_size(with_added_tokens=True)
    if size > cfg.t5.vocab_size:
        raise ExportError(f"tokenizer has {size} tokens but the model's embedding has only {cfg.t5.vocab_size} rows")
    for name, ident in (("pad", cfg.t5.pad_token_id), ("eos", cfg.t5.eos_token_id)):
        if tok.id_to_token(ident) is None:
            raise ExportError(f"tokenizer has no token with the {name} id {ident}")


def _read_json(path: Path) -> dict:
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ExportError(f"cannot read {path}: {exc}") from exc
    if not isinstance(data, dict):
        raise ExportError(f"{path}: expected a JSON object")
    return data


def slow_tokenizer_settings(directory: Path) -> tuple[int, bool, list[AddedSpec]]:
    """``(extra_ids, legacy, added tokens)`` of a slow T5 tokenizer saved in ``directory``."""
    tcfg = _read_json(directory / "tokenizer_config.json")
    extra_ids = int(tcfg.get("extra_ids", 100))
    legacy = bool(tcfg.get("legacy", True)) if "legacy" in tcfg else True
    specs: dict[int, AddedSpec] = {}
    for key, entry in (tcfg.get("added_tokens_decoder") or {}).items():
        specs[int(key)] = AddedSpec(
            int(key), entry["content"], bool(entry.get("lstrip", False)), bool(entry.get("rstrip", False))
        )
    for content, ident in _read_json(directory / "added_tokens.json").items():
        specs.setdefault(int(ident), AddedSpec(int(ident), content))
    return extra_ids, legacy, list(specs.values())


def from_checkpoint(directory: Path, cfg: ModelConfig) -> tuple[Tokenizer, str]:
    """The checkpoint's tokenizer and a word saying where it came from (``spiece`` or ``tokenizer.json``)."""
    spiece = directory / "spiece.model"
    fast = directory / "tokenizer.json"
    use_fast = cfg.tokenizer_use_fast and fast.is_file()
    if spiece.is_file() and not use_fast:
        extra_ids, legacy, added = slow_tokenizer_settings(directory)
        tok, source = from_sentencepiece(spiece, extra_ids, legacy, added), "spiece"
    elif fast.is_file():
        try:
            tok, source = Tokenizer.from_file(str(fast)), "tokenizer.json"
        except Exception as exc:  # tokenizers raises a bare Exception on malformed files
            raise ExportError(f"cannot read {fast}: {exc}") from exc
    else:
        raise ExportError(f"no tokenizer in {directory}: looked for spiece.model and tokenizer.json")
    add_cell_tokens(tok, cfg)
    return tok, source


class SentencePieceReference:
    """The slow T5 tokenizer's encoding, re-derived from ``sentencepiece`` for checking conversions.

    Text is split on added tokens (honouring their ``lstrip``/``rstrip``); with ``legacy=False``
    only the text start gets the word prefix and chunks that start with a space keep it, as
    in ``transformers``' slow ``T5Tokenizer``. ``</s>`` is appended.
    """

    def __init__(self, spiece: Path, added: list[AddedSpec], legacy: bool, eos_id: int):
        import sentencepiece as spm

        proto = _load_proto(spiece)
        if not legacy:
            proto.normalizer_spec.add_dummy_prefix = False
        self.sp = spm.SentencePieceProcessor(model_proto=proto.SerializeToString())
        self.legacy = legacy
        self.eos_id = eos_id
        self.added = sorted(added, key=lambda s: len(s.content), reverse=True)
        self.unk = self.sp.id_to_piece(self.sp.unk_id())
        self.unk_len = len(self.sp.encode(self.unk, out_type=str))

    def _split(self, text: str) -> list[str | AddedSpec]:
        out: list[str | AddedSpec] = []
        i = start = 0
        while i < len(text):
            spec = next((s for s in self.added if text.startswith(s.content, i)), None)
            if spec is None:
                i += 1
                continue
            before = text[start:i]
            out.append(before.rstrip() if spec.lstrip else before)
            out.append(spec)
            i += len(spec.content)
            if spec.rstrip:
                while i < len(text) and text[i].isspace():
                    i += 1
            start = i
        out.append(text[start:])
        return [c for c in out if not (isinstance(c, str) and c == "")]

    def _chunk(self, text: str) -> list[int]:
        if self.legacy or not text.startswith((SPIECE_UNDERLINE, " ")):
            return self.sp.encode(text)
        return self.sp.encode(self.unk + text)[self.unk_len :]

    def encode(self, text: str) -> list[int]:
        """Token ids of ``text`` followed by ``</s>``."""
        if not self.legacy:
            text = SPIECE_UNDERLINE + text.replace(SPIECE_UNDERLINE, " ")
        chunks = self._split(text)
        if not self.legacy and len(chunks) > 1 and chunks[0] == SPIECE_UNDERLINE and isinstance(chunks[1], AddedSpec):
            chunks = chunks[1:]
        ids: list[int] = []
        for chunk in chunks:
            ids += [chunk.id] if isinstance(chunk, AddedSpec) else self._chunk(chunk)
        return ids + [self.eos_id]


#: Strings that exercise the places where conversions go wrong: text right after added
#: tokens, repeated/odd whitespace, punctuation, digits and non-ASCII letters.
PARITY_SAMPLES = [
    "User:\nWhat is the type of <CELL><CELL0></CELL> from human liver?\n\nAssistant:\n",
    "User:\nClassify <CELL><CELL0></CELL>. Options: (Alpha, Beta, Delta)\n\nAssistant:\n",
    "User:\n<CELL><CELL0></CELL>is it sensitive to drug X-42?\n\nAssistant:\n",
    "<CELL>start with a tag   and  spaces\t\ttabs",
    "Generate a mouse <CELL1> cell: T cell, 10x Genomics; Smart-seq2 (n=12)",
    "Naïve B cells — CD4+ / CD8+ µm 3.5% ü é",
    "extra <extra_id_0> token <extra_id_1>x",
    "trailing spaces   ",
    " leading space",
    "line1\nline2\r\nline3",
]


def check_against_slow(tok: Tokenizer, ref: SentencePieceReference, samples: list[str] | None = None) -> int:
    """Raise if ``tok`` encodes any sample differently from the slow reference; return the count checked."""
    samples = samples if samples is not None else PARITY_SAMPLES
    for text in samples:
        fast = tok.encode(text).ids
        slow = ref.encode(text)
        if fast != slow:
            raise ExportError(
                f"tokenizer conversion differs from the SentencePiece tokenizer on {text!r}: "
                f"converted {fast} vs original {slow}"
            )
    return len(samples)
