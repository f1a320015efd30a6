"""Choosing which records a report covers: some configurations, and/or only the questions
that every chosen configuration answered (so runs of different sizes compare fairly)."""

from __future__ import annotations

from collections.abc import Sequence

from livemind.eval.configs import parse_config
from livemind.eval.stats import ReportError, question_key


def canonical_config_names(specs: str) -> list[str]:
    """Comma-separated configuration names, short forms allowed (``livemind`` means
    ``livemind/ua-spi/sentence/10/v2``); a name the parser rejects is kept as written."""
    names: list[str] = []
    for spec in (s.strip() for s in specs.split(",")):
        if not spec:
            continue
        try:
            name = parse_config(spec).name
        except ValueError:
            name = spec
        if name not in names:
            names.append(name)
    return names


def select_records(
    records: Sequence[dict], *, configs: Sequence[str] = (), common: bool = False
) -> list[dict]:
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
