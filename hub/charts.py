"""Plotly figure builders: data in, go.Figure out (no streamlit, unit-testable)."""

from __future__ import annotations

from datetime import date, timedelta

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from hub.vocab import TREATMENT_CATEGORIES

CATEGORY_COLOURS = {
    "education": "#8dd3c7", "exercise": "#1b9e77", "medicine": "#7570b3", "injection": "#e7298a",
    "psychological": "#66a61e", "acupuncture": "#e6ab02", "social_prescribing": "#a6761d",
    "manual_therapy": "#1f78b4", "weight_management": "#b2df8a", "other": "#999999",
}
PAIN_LABELS = {"nrs": "Pain NRS (0-10)", "peg": "PEG (0-10)"}
PAIN_COLOURS = {"nrs": "#1f3b8c", "peg": "#c2185b"}
OTHER_PROM_LABELS = {"mskhq": "MSK-HQ (0-56, higher better)", "phq9": "PHQ-9 (0-27)", "gad7": "GAD-7 (0-21)",
                     "odi": "ODI (%)", "pseq": "PSEQ (0-60, higher better)", "pcs": "PCS (0-52)",
                     "tsk11": "TSK-11 (11-44)", "bpi": "BPI interference"}
MS_PER_DAY = 86_400_000


def daily_series(wearables: pd.DataFrame, column: str, start: date, end: date) -> pd.Series:
    """One value per calendar day from start to end; a day without data is NaN (a gap), never 0."""
    index = pd.date_range(start, end, freq="D")
    if wearables.empty:
        return pd.Series(float("nan"), index=index, name=column)
    s = wearables.assign(day=pd.to_datetime(wearables["day"])).groupby("day")[column].max()
    return s.astype("float64").reindex(index).rename(column)


def _treatment_rows(treatments: pd.DataFrame, today: date) -> list[dict]:
    rows = []
    for t in treatments.itertuples():
        end = t.end if isinstance(t.end, date) else today
        drug = getattr(t, "drug", None)
        # Each medicine on a lane of its own, so that concurrent medicines and their doses stay readable.
        lane = (str(drug).capitalize() if t.category == "medicine" and isinstance(drug, str) and drug.strip()
                else TREATMENT_CATEGORIES.get(t.category, t.category))
        rows.append({"category": t.category, "label": t.label, "start": t.start, "end": end, "lane": lane,
                     "ongoing": not isinstance(t.end, date)})
    return rows


def case_timeline(treatments: pd.DataFrame, assessments: pd.DataFrame, reviews: pd.DataFrame,
                  wearables: pd.DataFrame, today: date | None = None, ome: list[tuple[date, float]] | None = None,
                  response: dict | None = None, ome_amber: float = 90, ome_red: float = 120,
                  compact: bool = False) -> go.Figure:
    """The case's one timeline on a shared date axis: treatments, pain (with baseline, important-change
    band and target), other PROMs, reviews, total opioid OME, wearable steps and sleep (gaps as gaps)."""
    today = today or date.today()
    fig = make_subplots(rows=6, cols=1, shared_xaxes=True, vertical_spacing=0.03,
                        row_heights=[0.26, 0.18, 0.15, 0.13, 0.14, 0.14],
                        subplot_titles=("Treatments and reviews", "Pain", "Other PROMs",
                                        "Opioid dose (mg OME/day: for risk, not for converting between opioids)",
                                        "Steps per day", "Sleep (hours)"))
    # Row 1: treatments as bars from start to stop (ongoing ones to today), by category.
    seen: set[str] = set()
    for r in _treatment_rows(treatments, today):
        duration_ms = max(1, (r["end"] - r["start"]).days) * MS_PER_DAY
        cat_label = TREATMENT_CATEGORIES.get(r["category"], r["category"])
        fig.add_trace(go.Bar(
            x=[duration_ms], base=[pd.Timestamp(r["start"])], y=[r["lane"]], orientation="h",
            marker_color=CATEGORY_COLOURS.get(r["category"], "#999999"), name=cat_label,
            legendgroup=r["category"], showlegend=r["category"] not in seen, text=[r["label"]],
            textposition="inside", insidetextanchor="start",
            hovertemplate=f"{r['label']}<br>{r['start']:%d %b %Y} – "
                          f"{'ongoing' if r['ongoing'] else format(r['end'], '%d %b %Y')}<extra></extra>",
        ), row=1, col=1)
        seen.add(r["category"])
    # Reviews on their own lane of row 1: attended, missed (DNA) and cancelled marked differently.
    if not reviews.empty:
        styles = {"attended": ("circle", "#2ca02c", "Review attended"),
                  "dna": ("x", "#d62728", "Missed appointment (DNA)"),
                  "cancelled": ("triangle-down", "#ff7f0e", "Review cancelled")}
        for code, (symbol, colour, name) in styles.items():
            sub = reviews[reviews["attendance"] == code]
            if sub.empty:
                continue
            fig.add_trace(go.Scatter(
                x=pd.to_datetime(sub["date"]), y=["Reviews"] * len(sub), mode="markers", name=name,
                marker={"symbol": symbol, "size": 11, "color": colour},
                hovertemplate=name + " %{x|%d %b %Y}<extra></extra>"), row=1, col=1)
    # Row 2: pain scores; row 3: other PROM totals.
    done = assessments[assessments["status"] == "completed"] if not assessments.empty else assessments
    for inst, label in PAIN_LABELS.items():
        sub = done[done["instrument"] == inst] if not done.empty else done
        if not sub.empty:
            fig.add_trace(go.Scatter(x=pd.to_datetime(sub["date"]), y=sub["total"], mode="lines+markers",
                                     name=label, line={"color": PAIN_COLOURS[inst], "width": 2}), row=2, col=1)
    for inst, label in OTHER_PROM_LABELS.items():
        sub = done[done["instrument"] == inst] if not done.empty else done
        if not sub.empty:
            fig.add_trace(go.Scatter(x=pd.to_datetime(sub["date"]), y=sub["total"], mode="lines+markers",
                                     name=label), row=3, col=1)
    missing = assessments[assessments["status"] == "not_returned"] if not assessments.empty else assessments
    if not missing.empty:
        fig.add_trace(go.Scatter(x=pd.to_datetime(missing["date"]), y=[0] * len(missing), mode="markers",
                                 name="PROM not returned", marker={"symbol": "x-open", "size": 9, "color": "#d62728"},
                                 hovertemplate="PROM not returned %{x|%d %b %Y}<extra></extra>"), row=3, col=1)
    _response_band(fig, response)
    # Row 4: total OME as a step line with the amber and red thresholds.
    if ome:
        xs = [pd.Timestamp(d) for d, _ in ome] + [pd.Timestamp(today)]
        ys = [v for _, v in ome] + [ome[-1][1]]
        fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines", line_shape="hv", name="Total OME (mg/day)",
                                 line={"color": "#8c564b"}), row=4, col=1)
        for level, colour in ((ome_amber, "#ff7f0e"), (ome_red, "#d62728")):
            fig.add_hline(y=level, line_dash="dot", line_color=colour, row=4, col=1)
    else:
        fig.add_annotation(text="No opioids recorded", xref="x4 domain", yref="y4 domain", x=0.5, y=0.5,
                           showarrow=False, font={"color": "#777777"})
    # Rows 5-6: wearables, one point per day; a day without data is NaN so the line breaks there.
    if not wearables.empty:
        start = min(pd.to_datetime(wearables["day"]).min().date(), today)
        steps = daily_series(wearables, "steps", start, today)
        sleep = daily_series(wearables, "sleep_hours", start, today)
        fig.add_trace(go.Scatter(x=steps.index, y=steps.values, mode="lines", connectgaps=False,
                                 name="Steps", line={"width": 1, "color": "#17becf"}), row=5, col=1)
        fig.add_trace(go.Scatter(x=sleep.index, y=sleep.values, mode="lines", connectgaps=False,
                                 name="Sleep hours", line={"width": 1, "color": "#9467bd"}), row=6, col=1)
        # Weekly means over the days with data (mid-week points; a week without data is a gap).
        from hub.wearables import weekly_summary  # lazy: hub.wearables pulls in the database layer

        weekly = weekly_summary(wearables, start, today)
        mid = [pd.Timestamp(w) + pd.Timedelta(days=3, hours=12) for w in weekly["week_start"]]
        days = weekly["days_with_data"].tolist()
        for column, name, colour, row in (("mean_steps", "Steps, weekly mean", "#0b6e79", 5),
                                          ("mean_sleep_hours", "Sleep hours, weekly mean", "#4b2c7f", 6)):
            fig.add_trace(go.Scatter(x=mid, y=weekly[column].tolist(), mode="lines+markers", connectgaps=False,
                                     name=name, customdata=days, line={"width": 2.5, "color": colour},
                                     marker={"size": 4},
                                     hovertemplate="week of %{x|%d %b %Y}: %{y:.1f} (%{customdata} day(s) with data)"
                                                   "<extra>" + name + "</extra>"), row=row, col=1)
    fig.update_yaxes(range=[0, 10], row=2, col=1)
    fig.update_layout(barmode="overlay", height=1000, margin={"l": 10, "r": 10, "t": 40, "b": 10},
                      legend={"orientation": "h", "y": -0.05}, hovermode="closest")
    if compact:  # narrow column (meeting room): no legend, hover names the series
        fig.update_layout(showlegend=False, height=760)
    start, end = window(today)
    fig.update_xaxes(type="date", range=[pd.Timestamp(start), pd.Timestamp(end + timedelta(days=14))])
    return fig


def _response_band(fig: go.Figure, response: dict | None) -> None:
    """Draw the primary outcome's baseline, clinically important change band and target."""
    if not response or response.get("baseline") is None:
        return
    row = 2 if response.get("instrument") in PAIN_LABELS else 3
    band = response.get("mic_band")
    if band:
        fig.add_hrect(y0=min(band), y1=max(band), fillcolor="#cccccc", opacity=0.25, line_width=0, row=row, col=1,
                      annotation_text="within important change", annotation_position="top left")
    fig.add_hline(y=response["baseline"], line_dash="dash", line_color="#555555", row=row, col=1,
                  annotation_text=f"baseline {response['baseline']:g}", annotation_position="bottom right")
    if response.get("target") is not None:
        fig.add_hline(y=response["target"], line_dash="dot", line_color="#2ca02c", row=row, col=1,
                      annotation_text=f"target {response['target']:g}", annotation_position="bottom left")


def window(today: date, months: int = 18) -> tuple[date, date]:
    """Default date window of the timeline."""
    return today - timedelta(days=int(months * 30.4)), today
