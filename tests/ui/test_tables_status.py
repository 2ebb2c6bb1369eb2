"""Handoff status cells: words first, a colour fill second, no emoji."""

from __future__ import annotations

import re

import pandas as pd

from ui.components.tables import RAG_CELL_STYLES, RAG_LABELS, rag_styled

EMOJI = re.compile("[\U0001f300-\U0001faff\u2600-\u27bf\u2b00-\u2bff]")


def test_status_words_have_no_emoji() -> None:
    assert RAG_LABELS == {"red": "overdue", "amber": "due soon", "green": "on time", None: ""}
    assert not any(EMOJI.search(label) for label in RAG_LABELS.values())


def test_status_cells_are_filled_and_keep_their_text() -> None:
    frame = pd.DataFrame(
        {"status": ["overdue", "due soon", "on time", ""], "handoff": [1, 2, 3, 4]}
    )
    styled = rag_styled(frame)
    assert styled.data.equals(frame)  # the words are untouched
    html = styled.to_html()
    for style in RAG_CELL_STYLES.values():
        fill = style.split(";")[0].split(":")[1].strip()
        assert fill in html
    # Only the status column is filled; a frame without one is returned as it is.
    assert "#T_" in html and "row0_col1" not in html.split("</style>")[0]
    plain = pd.DataFrame({"other": [1]})
    assert rag_styled(plain) is plain
