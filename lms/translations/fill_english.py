"""Fill the English catalogue: msgids are English, so each msgstr is its msgid.

Run by ``make messages`` after new strings are extracted, so English never
shows as "untranslated" and the three catalogues stay the same shape.
"""

from pathlib import Path

from babel.messages.pofile import read_po, write_po

CATALOGUE = Path(__file__).parent / "en" / "LC_MESSAGES" / "messages.po"


def main() -> None:
    with CATALOGUE.open("rb") as fh:
        catalog = read_po(fh, locale="en")
    for message in catalog:
        if not message.id:
            continue
        if isinstance(message.id, tuple):
            message.string = tuple(message.id)
        else:
            message.string = message.id
        message.flags.discard("fuzzy")
    with CATALOGUE.open("wb") as fh:
        write_po(fh, catalog, sort_output=True, omit_header=False, width=100)


if __name__ == "__main__":
    main()
