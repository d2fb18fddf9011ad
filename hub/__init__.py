"""MSK Pain Hub domain layer: services and clinical rules (never imports streamlit)."""

