"""``wirewatch dedup check``: would these two reports be one? The near-duplicate decision, explained.

The same model, facts and threshold the sequencer uses (``dedup.near_threshold``
of the config): for each pair, the cosine of the two texts' embeddings, every
fact feature, the probability, the rule that overrode the model, and the
decision. Pairs in, one JSON object or one line out per pair, in order.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from monitor.cli.common import ConfigOption, load, say, tell

dedup_app = typer.Typer(help="The near-duplicate decision on pairs of texts.", no_args_is_help=True)


def _pairs(pairs: Path | None, a: str | None, b: str | None) -> list[tuple[str, str]]:
    if (a is None) != (b is None):
        raise typer.BadParameter("give both --a and --b", param_hint="--a/--b")
    out = [(a, b)] if a is not None and b is not None else []
    if pairs is not None:
        for number, line in enumerate(pairs.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                texts = (_text(row, "a"), _text(row, "b"))
            except (json.JSONDecodeError, KeyError, TypeError) as exc:
                message = f'{pairs}:{number}: not a pair {{"a": …, "b": …}} ({exc})'
                raise typer.BadParameter(message, param_hint="--pairs") from None
            out.append(texts)
    if not out:
        raise typer.BadParameter("give --pairs FILE or --a TEXT --b TEXT")
    return out


def _text(row: dict[str, Any], side: str) -> str:
    """Title and optional summary, as the sequencer compares them."""
    from streams.dedup.sequencer import MAX_TEXT  # the sequencer's own cut, one home for it

    title, summary = str(row[side]), str(row.get(f"{side}_summary") or "")
    return f"{title}\n{summary}".strip()[:MAX_TEXT]


@dedup_app.command("check")
def check(
    pairs: Annotated[
        Path | None,
        typer.Option(
            "--pairs",
            exists=True,
            help='Pairs, one JSON object per line: {"a", "b", "a_summary", "b_summary"}.',
        ),
    ] = None,
    a: Annotated[str | None, typer.Option("--a", help="One text (a title).")] = None,
    b: Annotated[str | None, typer.Option("--b", help="The other text.")] = None,
    config_file: ConfigOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per pair, for piping.")] = False,
    model: Annotated[
        str | None,
        typer.Option(
            "--model",
            help=(
                "Embed with this model (all-MiniLM-L6-v2, multilingual-e5-small, or a sentence-transformers "
                "directory) instead of pipeline.embed.model, to compare; the shipped thresholds were fitted "
                "on all-MiniLM-L6-v2, and multilingual-e5-small's cosines are centered onto its scale."
            ),
        ),
    ] = None,
) -> None:
    """For each pair: cosine, fact features, probability, the rule that fired, and same or not."""
    from streams.dedup.decision import explain_pair
    from streams.embedder import Embedder

    texts = _pairs(pairs, a, b)
    config = load(config_file, required=False)
    threshold = config.pipeline.dedup.near_threshold
    embed = config.pipeline.embed
    if model is not None:
        embed = embed.model_copy(update={"model": model})
    say(f"embedding {2 * len(texts)} texts with {embed.model}…")
    vectors = Embedder(embed).encode([t for pair in texts for t in pair])
    same = 0
    for index, (left, right) in enumerate(texts):
        va, vb = vectors[2 * index], vectors[2 * index + 1]
        cosine = float(va @ vb) / max(float((va @ va) ** 0.5 * (vb @ vb) ** 0.5), 1e-12)
        verdict = explain_pair(left, right, cosine, threshold)
        same += verdict["same"]
        if as_json:
            typer.echo(json.dumps(verdict, ensure_ascii=False))
        else:
            word = "SAME" if verdict["same"] else "different"
            why = f", overridden by {verdict['rule']}" if verdict["rule"] else ""
            tell(
                f"{word:<9} p={verdict['probability']:.3f} (threshold {threshold}) cosine={cosine:.3f}{why}\n"
                f"          a: {left.splitlines()[0]}\n          b: {right.splitlines()[0]}\n          "
                + "  ".join(f"{k}={v:g}" for k, v in verdict["features"].items())
                + "\n          places: a "
                + (", ".join(verdict["places"]["a"]) or "-")
                + "; b "
                + (", ".join(verdict["places"]["b"]) or "-")
            )
    say(f"{same} of {len(texts)} pairs the same report")
