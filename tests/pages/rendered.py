"""What an AppTest run put on screen, as the strings Streamlit renders as Markdown (bodies of markdown,
captions, alerts and headings; labels and help of widgets, page links, expanders and tabs; radio
options) and as plain text (everything else), for tests about what users can see."""

from __future__ import annotations

import re

# Elements whose body Streamlit shows as plain text, never as Markdown.
_PLAIN_BODY = {"text", "code", "json", "exception", "dataframe", "arrow_data_frame", "table"}
_MARKDOWN_OPTIONS = {"radio", "select_slider", "button_group"}


def _walk(node, markdown: list[str], plain: list[str]) -> None:
    ty = getattr(node, "type", "")
    proto = getattr(node, "proto", None)
    if proto is not None and hasattr(proto, "ListFields"):
        for desc, value in proto.ListFields():
            if not isinstance(value, str):
                if desc.name == "options" and ty in _MARKDOWN_OPTIONS:
                    markdown.extend(str(v) for v in value if isinstance(v, str))
                elif desc.name == "options":
                    plain.extend(str(v) for v in value if isinstance(v, str))
                continue
            if desc.name == "body" and ty in _PLAIN_BODY:
                plain.append(value)
            elif desc.name in ("body", "label", "help"):
                markdown.append(value)
            else:
                plain.append(value)
    children = getattr(node, "children", None)
    if isinstance(children, dict):
        for child in children.values():
            _walk(child, markdown, plain)


def rendered(at) -> tuple[list[str], list[str]]:
    """(strings rendered as Markdown, strings shown as plain text) of the app's last run."""
    markdown: list[str] = []
    plain: list[str] = []
    _walk(at._tree, markdown, plain)
    return markdown, plain


def all_text(at) -> str:
    """Everything on screen, Markdown and plain, as one string (for 'is this shown' assertions)."""
    markdown, plain = rendered(at)
    return "\n".join(markdown + plain)


# Markup that would fetch or link outside the app if rendered unescaped. Bare URLs, www. and e-mail
# addresses are linked by Streamlit's renderer after the escapes are resolved, so backslashes do not
# protect them: those three are looked for in the text with its backslashes removed.
_LIVE = [
    (re.compile(r"(?<!\\)!\["), "a Markdown image", False),
    (re.compile(r"(?<!\\)\]\((?!#)"), "a Markdown link", False),
    (re.compile(r"(?<!\\)<\s*(img|script|a|iframe|svg|video|audio|link|style)\b", re.I), "an HTML tag", False),
    (re.compile(r"(?<!\w)(https?|ftp)://[-.\w]", re.I), "a bare URL (autolinked)", True),
    (re.compile(r"(?<![\w.])www\.[-\w]", re.I), "a bare www. address (autolinked)", True),
    (re.compile(r"[-.\w+]@[-\w]+\.[-\w]", re.I), "an e-mail address (autolinked)", True),
]


def live_markup(text: str, needle: str = "evil") -> list[str]:
    """Unescaped markup in a Markdown string around a payload (`needle` marks the payload)."""
    found: list[str] = []
    if needle not in text.lower():
        return found
    for rx, what, resolved in _LIVE:
        subject = text.replace("\\", "") if resolved else text
        for m in rx.finditer(subject):
            window = subject[m.start(): m.start() + 80]
            if needle in window.lower() or "script" in window.lower():
                found.append(f"{what}: {window!r}")
    return found
