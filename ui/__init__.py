"""Streamlit-only helpers shared by app.py and the pages (login gate, runtime, messages)."""
