"""The project's own documents that the app shows or links (About page): where they are in the repository."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Document:
    """One document kept in the repository: its title, what it holds and its path from the repository root."""

    title: str
    summary: str
    repo_path: str

    @property
    def path(self) -> Path:
        """The file on this installation."""
        return ROOT / self.repo_path

    def text(self) -> str | None:
        """The document's Markdown, or None when this installation does not include it."""
        return self.path.read_text(encoding="utf-8") if self.path.is_file() else None


DOCUMENTS: tuple[Document, ...] = (
    Document("Clinical rules reference",
             "Every score, band, flag, guideline check and threshold the hub uses, with its source and worked "
             "examples. Needs clinical sign-off before use with patients.", "docs/CLINICAL.md"),
    Document("Technical notes",
             "Library behaviour the code relies on, for engineers.", "docs/TECHNICAL-NOTES.md"),
)
