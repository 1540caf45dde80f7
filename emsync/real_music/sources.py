"""The music21 corpus's sources, their terms, and which of them the shipped generator trains on.

music21 (BSD-3) ships a corpus of encodings "distributed with the permission of the encoders ...
Some encodings included in the corpus may not be used for commercial uses or have other
restrictions: please see the licenses embedded in individual compositions or directories"
(`music21/corpus/license.txt`). The rule applied here: a source is used for the shipped weights
only if the wheel itself (license.txt, the source folder's licence, or the rights statement
embedded in its files) places no restriction on use, and its compositions are in the public
domain. A source with a stated restriction is left out, and so is one whose style does not fit
tonal film scoring (stated below). Every entry quotes what the wheel says; the data card
(reports/corpus.md) and the model card print this table.

`sources` in the `real_music` params names the sources to convert; SHIPPED is the default and what
the packaged checkpoint was trained on. Adding a restricted source is possible for local research
(its terms then bind the weights you train).
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class Source:
    name: str  # the music21 corpus folder
    suffixes: tuple  # file kinds converted from it (others in the folder are ignored)
    what: str  # repertoire
    terms: str  # what the wheel says about use (quoted or summarised with where it is said)
    licence: str  # short licence class for tables
    shipped: bool  # in the default training set
    why: str  # reason for the decision


SOURCES = {
    s.name: s
    for s in (
        Source(
            "bach",
            (".mxl",),
            "J. S. Bach, 4-part chorale harmonisations (some with obbligato instrument parts); composer d. 1750",
            "files embed 'PDF (c) 2004 Margaret Greentree [- used by permission]' (the engraving of her "
            "jsbchorales.net edition); no use restriction in the files or the folder; license.txt: distributed "
            "with the encoder's permission",
            "public-domain music; encoding by permission, no stated restriction",
            True,
            "no restriction stated in the wheel. Caveat: Greentree's (now defunct) site is reported to have "
            "reserved commercial rights to its content; commercial users should check or retrain without 'bach'",
        ),
        Source(
            "beethoven",
            (".mxl", ".xml"),
            "Beethoven string quartets (op. 18 no. 1, op. 59) and other movements; composer d. 1827",
            "no rights statement in the files or the folder",
            "public-domain music; no stated restriction",
            True,
            "no restriction stated in the wheel",
        ),
        Source(
            "mozart",
            (".mxl", ".xml"),
            "Mozart string quartets (K. 80, 155, 156, 458) and the K. 545 sonata; composer d. 1791",
            "no rights statement in the files or the folder",
            "public-domain music; no stated restriction",
            True,
            "no restriction stated in the wheel",
        ),
        Source(
            "haydn",
            (".mxl", ".xml"),
            "Haydn string quartets (op. 1 no. 1, op. 74 no. 1); composer d. 1809",
            "no rights statement in the files or the folder",
            "public-domain music; no stated restriction",
            True,
            "no restriction stated in the wheel",
        ),
        Source(
            "oneills1850",
            (".abc",),
            "O'Neill's Music of Ireland (1903, '1850 melodies'), single-line tunes",
            "ABC transcriptions credited per tune (Z: 'Transcribed by ...'), no licence or restriction stated",
            "public-domain music; volunteer transcriptions, no stated restriction",
            True,
            "no restriction stated in the wheel",
        ),
        Source(
            "ryansMammoth",
            (".abc",),
            "Ryan's Mammoth Collection (1883), single-line fiddle tunes",
            "ABC transcriptions credited per tune (Z: 'Contributed by ...'), no licence or restriction stated",
            "public-domain music; volunteer transcriptions, no stated restriction",
            True,
            "no restriction stated in the wheel",
        ),
        Source(
            "airdsAirs",
            (".abc",),
            "Aird's Selection of Scotch, English, Irish and Foreign Airs (1778-1803), single-line tunes",
            "ABC transcriptions 'Z:Jack Campin * www.campin.me.uk * 2009', no licence or restriction stated",
            "public-domain music; transcription credited, no stated restriction",
            True,
            "no restriction stated in the wheel",
        ),
        Source(
            "miscFolk",
            (".abc",),
            "folk tunes collected by Jack Campin (Scottish, Balkan and others), single-line",
            "ABC transcriptions 'Z:Jack Campin, http://www.campin.me.uk/', no licence or restriction stated",
            "traditional music; transcription credited, no stated restriction",
            True,
            "no restriction stated in the wheel",
        ),
        Source(
            "essenFolksong",
            (".abc",),
            "Essen folksong collection (EsAC), about 8,500 melodies",
            "essenFolksong/license.txt: permission 'for non-commercial distribution and use of these files in music21'",
            "non-commercial only",
            False,
            "non-commercial terms: weights trained on it could not ship in a package anyone may use",
        ),
        Source(
            "palestrina",
            (".krn",),
            "Palestrina masses and motets (1,318 movements, 3-8 voices)",
            "every file: '!!!YEC: Copyright 2000, John Miller', '!!!YEM: Rights to all derivative electronic "
            "formats reserved', 'This file must be accompanied by the licensing agreement' (the agreement is not in the wheel)",
            "restricted (licence agreement not shipped)",
            False,
            "rights to derivative electronic formats reserved under an agreement we cannot read",
        ),
        Source(
            "monteverdi",
            (".mxl",),
            "Monteverdi madrigals",
            "files embed '(c) UT ORPHEUS EDIZIONI 2003' (a commercial publisher's edition)",
            "publisher's copyright",
            False,
            "copyright of a modern commercial edition",
        ),
        Source(
            "trecento",
            (".xml", ".mxl"),
            "14th-century Italian polyphony encoded by M. S. Cuthbert",
            "some files: '2010 Michael Scott Cuthbert -- freely distributed under a CC-BY-SA 3.0 license'; most state nothing",
            "CC-BY-SA 3.0 (where stated)",
            False,
            "style: medieval modal polyphony, far from tonal film scoring; share-alike terms",
        ),
        Source(
            "josquin",
            (".abc",),
            "Josquin masses",
            "files embed the GNU General Public License, version 2 or later",
            "GPL-2.0-or-later",
            False,
            "copyleft terms on the encodings; style (renaissance polyphony)",
        ),
    )
}

SHIPPED = tuple(n for n, s in SOURCES.items() if s.shipped)
LEFT_OUT_OF_THE_WHEEL = (
    "the Bach .krn files and chorale analyses (CCARH 1994: 'Rights to all derivative electronic formats "
    "reserved'), and single works and folders not listed (demos, theory exercises, lead sheets with "
    "'All Rights Reserved', 20th-century works, single pieces with mixed terms)"
)


def check_sources(names) -> tuple:
    """The named sources, validated against SOURCES (a clear error naming the bad one)."""
    from emsync.core.errors import ParamsError

    names = tuple(names)
    bad = [n for n in names if n not in SOURCES]
    if bad or not names:
        raise ParamsError(f"real_music.sources {list(bad) or names}: choose from {', '.join(SOURCES)}")
    return names
