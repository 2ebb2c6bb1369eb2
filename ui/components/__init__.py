"""Reusable rendering pieces of the pages, one module per concern.

- ``tables``: the tables (caseload, loads, suggestions, handoffs, addresses, flows, …);
- ``case``: one case on the Caseload page (its heading, a person's opened record);
- ``lookup_card``: the answer of a boundary lookup;
- ``maps``: the offline lookup map (and its clicks) and a person's address timeline;
- ``network``: the handoff network of a period and its drawing;
- ``review``: joint review tables, texts, the meeting and item panels, the pack export;
- ``batch``: resolving an uploaded file and showing the result;
- ``signin``: the sign-in form, the signed-in sidebar, sign-out;
- ``notice``: the synthetic demo notice.

Components import ``ui.session`` and ``ui.text``, never a page and never ``ui.navigation``.
"""
