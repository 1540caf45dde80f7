"""The corpus stage's plain steps (flows/corpus.py wires them): the works table with every work's
fate, the rejects, and the converter's cache key."""

import pandas as pd

CONVERTER_CODE = ("emsync/real_music/convert.py", "emsync/real_music/works.py", "tasks/corpus.py", "emsync/labeling/midi.py")


def converter_digest() -> str:
    """Cache-key part of a conversion: the converter's source and the music21 version (not the
    labels or the card: editing those re-runs no conversion)."""
    import music21

    from emsync.pipeline.stages import code_files, digest

    return f"{digest(code_files(CONVERTER_CODE))}-music21-{music21.__version__}"


CHECK_COLUMNS = ("valid", "reason", "detail", "content_hash", "tempo", "duration", "n_instruments", "n_notes")


def works_tables(works: list, results: dict, skipped: list) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(works table, rejects table). A work is kept when it converted, the labelling stage's
    validation passed, and no earlier work (by id) has the same content hash; every other work is
    a reject with its reason (conversion error, validation reason, or 'duplicate of <id>')."""
    failed = {s["item"]: s["reason"] for s in skipped}
    rows, first_of = [], {}
    for w in sorted(works, key=lambda w: w["work_id"]):
        wid, r = w["work_id"], results.get(w["work_id"])
        if r is None:
            rows.append({**w, "kept": False, "reject_reason": f"conversion: {failed.get(wid, 'no result')}"})
            continue
        chk = {f"midi_{k}": r["check"].get(k) for k in CHECK_COLUMNS}
        row = {**r["facts"], **chk, "content_hash": r["check"].get("content_hash")}
        reason = None
        if not r["check"].get("valid"):
            reason = f"validation: {r['check'].get('reason')} ({r['check'].get('detail')})"
        elif row["content_hash"] in first_of:
            reason = f"duplicate of {first_of[row['content_hash']]}"
        else:
            first_of[row["content_hash"]] = wid
        rows.append({**row, "kept": reason is None, "reject_reason": reason})
    table = pd.DataFrame(rows)
    rejects = table.loc[~table["kept"], ["work_id", "source", "path", "tune", "reject_reason"]].rename(
        columns={"work_id": "midi_id", "reject_reason": "reason"}
    )
    return table.drop(columns=[c for c in ("midi_valid", "midi_content_hash") if c in table]), rejects.reset_index(drop=True)
