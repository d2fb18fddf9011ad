"""About: what the hub is, the status of its clinical specification, and the active thresholds."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from hub import documents, hazard_log, settings
from ui import runtime

runtime.actor()
sf = runtime.session_factory()
st.title("About MSK Pain Hub")
st.warning("Clinical specification version 0.2: **needs clinical sign-off before use with patients.** "
           "Every threshold marked DESIGN DEFAULT or UNVERIFIED below must be agreed locally.")
st.markdown(
    "A virtual multidisciplinary pain management hub for chronic musculoskeletal pain in primary care. "
    "GPs submit cases with a clinical question; the hub team discusses them and writes the decision, "
    "recommendations and actions back to the case, so the GP keeps coordinating care.")
st.subheader("Hazard log (clinical risk management file)")
st.error("A named Clinical Safety Officer must review and approve the hazard log before the hub is used with "
         "patients (DCB0129). Clinical Safety Officer: not yet named.")
st.markdown("The hazard log lists each hazard with its cause, effect, initial risk, controls, the automated tests "
            "that verify each control, and the residual risk. It is kept in the repository as "
            "`docs/hazard-log/HAZARD-LOG.md`, generated from `docs/hazard-log/hazards.yaml`.")
if hazard_log.DOCUMENT.exists():
    st.dataframe(pd.DataFrame(hazard_log.summary_rows()), hide_index=True, width="stretch")
    with st.expander("Read the full hazard log"):
        st.markdown(hazard_log.DOCUMENT.read_text(encoding="utf-8"))
else:
    st.warning("The hazard log is not installed with this copy of the hub: read it in the repository.")
st.subheader("Documents")
st.markdown("The clinical rules and the technical notes are kept in the repository with the code. The clinical "
            "rules reference explains every threshold listed below and where its value comes from.")
for doc in documents.DOCUMENTS:
    body = doc.text()
    if body is None:
        st.markdown(f"**{doc.title}** (`{doc.repo_path}`): not installed with this copy of the hub, read it in the "
                    "repository.")
        continue
    with st.expander(f"{doc.title} (`{doc.repo_path}`)"):
        st.markdown(f"*{doc.summary}*")
        st.markdown(body)
st.subheader("Active settings and their sources")
st.dataframe(pd.DataFrame(settings.listing(sf)).drop(columns=["key"]), hide_index=True, width="stretch")
st.caption("PHQ-9 and GAD-7 item text: developed by Drs Robert L. Spitzer, Janet B.W. Williams, Kurt Kroenke and "
           "colleagues, with an educational grant from Pfizer Inc.; no permission required to reproduce. Other "
           "instruments store response codes only (licences).")
