"""Pure clinical functions of CLINICAL.md: no I/O, no database, no streamlit."""
