"""About: what the hub is, the status of its clinical specification, and the active thresholds."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from hub import settings
from ui import runtime

runtime.actor()
sf = runtime.session_factory()
st.title("About MSK Pain Hub")
st.warning("Clinical specification version 0.1: **needs clinical sign-off before use with patients.** "
           "Every threshold marked DESIGN DEFAULT or UNVERIFIED below must be agreed locally.")
st.markdown(
    "A virtual multidisciplinary pain management hub for chronic musculoskeletal pain in primary care. "
    "GPs submit cases with a clinical question; the hub team discusses them and writes the decision, "
    "recommendations and actions back to the case, so the GP keeps coordinating care.")
st.subheader("Active settings and their sources")
st.dataframe(pd.DataFrame(settings.listing(sf)).drop(columns=["key"]), hide_index=True, width="stretch")
st.caption("PHQ-9 and GAD-7 item text: developed by Drs Robert L. Spitzer, Janet B.W. Williams, Kurt Kroenke and "
           "colleagues, with an educational grant from Pfizer Inc.; no permission required to reproduce. Other "
           "instruments store response codes only (licences).")
