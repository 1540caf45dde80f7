"""Prefect task of the corpus stage: one cached conversion per music21 work."""

from emsync.pipeline.flowkit import cached_task


@cached_task(name="convert-work")
def convert_work_task(work: dict, file_digest: str, code: str) -> dict:
    """Convert one work to MIDI and check it with the labelling stage's validation and content
    hash -> {"midi": bytes, "facts": {...}, "check": {...}}; a work music21 cannot use raises
    (a recorded reject). The key holds the work, its file's md5 and the converter's source digest."""
    from emsync.labeling.midi import inspect_bytes
    from emsync.real_music.convert import convert_work
    from emsync.real_music.works import Work, corpus_root

    out = convert_work(Work(**work), corpus_root())
    check = inspect_bytes(out.midi)
    check.pop("programs", None)
    return {"midi": out.midi, "facts": out.facts, "check": check}
