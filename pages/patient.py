"""The patient's questionnaire page, opened through the link the practice sends (?invite=TOKEN): no login,
no navigation. app.py routes here before the login gate."""

from __future__ import annotations

from ui import patient_form

patient_form.render()
