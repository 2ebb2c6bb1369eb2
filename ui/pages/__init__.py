"""The page scripts, one per page, run by ``st.navigation`` in ``app.py`` (never imported).

Each is thin: it reads its widgets, calls one service through ``ui.session``, and hands the
answer to ``ui.components``. ``ui.navigation`` says which roles see which page.
"""
