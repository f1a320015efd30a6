"""Choosing which records a report covers: some configurations, and/or only the questions
that every chosen configuration answered (so runs of different sizes compare fairly)."""

from __future__ import annotations

import argparse
from collections.abc import Collection, Sequence

from livemind.eval.configs import parse_config
from livemind.eval.stats import Record, ReportError, load_records, question_key


def canonical_config_names(specs: str | Sequence[str], present: Collection[str] = ()) -> list[str]:
    """Configuration names (comma-separated or a list), short forms allowed (``livemind``
    means ``livemind/aligned/sentence/10/v2+auto+notes-auto``); a name the parser rejects
    is kept as written. With ``present`` (the names in the records), a name found there
    as written is kept, and a name that is absent but whose pre-answer-mode meaning
    (``+short+notes-free``) is present resolves to that, so the report commands written
    before answer modes existed still select the same records."""
    items = specs.split(",") if isinstance(specs, str) else specs
    names: list[str] = []
    for spec in (s.strip() for s in items):
        if not spec:
            continue
        name = spec if spec in present else _parsed(spec) or spec
        if present and name not in present:
            head, _, model = spec.partition("@")
            legacy = _parsed(f"{head}+short+notes-free" + (f"@{model}" if model else ""))
            if legacy is not None and legacy in present:
                name = legacy
        if name not in names:
            names.append(name)
    return names


def _parsed(spec: str) -> str | None:
    try:
        return parse_config(spec).name
    except ValueError:
        return None


def select_records(
    records: Sequence[Record], *, configs: Sequence[str] = (), common: bool = False
) -> list[Record]:
    """Records of the given configurations (all when empty; order kept), and with
    ``common`` only the questions (dataset, qid) that each of them has a record for.
    Raises :class:`ReportError` naming a configuration with no records, or when ``common``
    leaves nothing."""
    present = {str(r["config"]) for r in records}
    missing = [c for c in configs if c not in present]
    if missing:
        known = ", ".join(sorted(present))
        raise ReportError(f"no records for {', '.join(missing)} (configs: {known})")
    chosen = [r for r in records if not configs or r["config"] in configs]
    if not common:
        return chosen
    questions: dict[str, set[tuple[str, str]]] = {}
    for r in chosen:
        questions.setdefault(str(r["config"]), set()).add(question_key(r))
    shared = set.intersection(*questions.values()) if questions else set()
    if not shared:
        raise ReportError("the chosen configurations have no question in common")
    return [r for r in chosen if question_key(r) in shared]


def answered_by_config(
    paths: Sequence[str], configs: str = "", common: bool = False
) -> dict[str, list[Record]]:
    """The answered records (no ``error``) of the run files ``paths``, per configuration in
    order of appearance, chosen as ``livemind report`` chooses them (``configs``, comma-
    separated, short forms allowed; ``common``). For scripts that read bench records."""
    records = select_records(
        load_records(list(paths)), configs=canonical_config_names(configs), common=common
    )
    by_config: dict[str, list[Record]] = {}
    for r in records:
        if not r.get("error"):
            by_config.setdefault(str(r["config"]), []).append(r)
    return by_config


def add_selection_arguments(parser: argparse.ArgumentParser) -> None:
    """The run files and the record choice of a script that reads bench records
    (``records``, ``--configs``, ``--common``), as :func:`answered_by_config` takes them."""
    parser.add_argument("records", nargs="+", help="bench JSONL files")
    parser.add_argument("--configs", default="", help="configurations (comma-separated)")
    parser.add_argument("--common", action="store_true", help="only questions all answered")
