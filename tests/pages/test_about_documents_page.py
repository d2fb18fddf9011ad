"""The About page shows the project's own documents (clinical rules reference, technical notes) from the repository."""

from __future__ import annotations

from page_support import login


def test_about_page_shows_the_clinical_rules_and_technical_notes(hub):
    at = login("physio")
    at.switch_page("pages/about.py").run()
    assert not at.exception
    labels = [e.label for e in at.expander]
    assert any("docs/CLINICAL.md" in label for label in labels), labels
    assert any("docs/TECHNICAL-NOTES.md" in label for label in labels), labels
    shown = "\n".join(m.value for m in at.markdown)
    # the documents' own text is on the page, not only their names
    assert "## 4. Opioid stewardship" in shown and "### Navigation before the authenticator" in shown
