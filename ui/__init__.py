"""Streamlit pages of crossforce; ``app.py`` builds the navigation over them."""
