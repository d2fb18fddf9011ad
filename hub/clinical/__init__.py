"""Pure clinical functions of docs/CLINICAL.md: no I/O, no database, no streamlit."""
