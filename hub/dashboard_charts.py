"""Plotly figure builders of the outcome dashboard: the dashboard's DataFrames in, go.Figure out."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

SEVERITY_COLOURS = {"red": "#d62728", "amber": "#ff7f0e", "info": "#7f7f7f"}
ACTION_COLOURS = {"done": "#2ca02c", "open": "#1f77b4", "overdue": "#d62728"}
BEFORE_AFTER_COLOURS = {"before": "#9e9e9e", "after": "#1f3b8c"}
LAYOUT = {"margin": {"l": 10, "r": 10, "t": 50, "b": 10}, "height": 340, "legend": {"orientation": "h", "y": -0.2}}


def _empty(title: str, message: str = "No data for these filters") -> go.Figure:
    """A titled figure that says there is nothing to show (never an empty plot that looks broken)."""
    fig = go.Figure()
    fig.add_annotation(text=message, xref="paper", yref="paper", x=0.5, y=0.5, showarrow=False,
                       font={"color": "#777777", "size": 14})
    fig.update_layout(title=title, xaxis={"visible": False}, yaxis={"visible": False}, **LAYOUT)
    return fig


def discussion_time_chart(by_month: pd.DataFrame) -> go.Figure:
    """Median days from submission to discussion per month, with the interquartile range as error bars."""
    title = "Days from submission to discussion (median, IQR)"
    if by_month.empty:
        return _empty(title)
    fig = go.Figure(go.Bar(
        x=by_month["month"], y=by_month["median_days"], name="Median days", marker_color="#1f77b4",
        error_y={"type": "data", "symmetric": False, "array": by_month["q3_days"] - by_month["median_days"],
                 "arrayminus": by_month["median_days"] - by_month["q1_days"]},
        customdata=by_month[["n", "q1_days", "q3_days"]].to_numpy(),
        hovertemplate="%{x}: median %{y:g} days (IQR %{customdata[1]:g}–%{customdata[2]:g}), "
                      "n=%{customdata[0]}<extra></extra>"))
    fig.update_layout(title=title, xaxis={"type": "category", "title": "Month discussed"},
                      yaxis={"title": "Days", "rangemode": "tozero"}, **LAYOUT)
    return fig


def letters_ack_chart(by_month: pd.DataFrame) -> go.Figure:
    """Share of outcome letters acknowledged within 2 working days, per month sent."""
    title = "Letters acknowledged within 2 working days"
    if by_month.empty:
        return _empty(title)
    fig = go.Figure(go.Bar(
        x=by_month["month"], y=by_month["share"] * 100, name="Within 2 working days", marker_color="#2ca02c",
        customdata=by_month[["within", "n"]].to_numpy(),
        hovertemplate="%{x}: %{y:.0f}% (%{customdata[0]} of %{customdata[1]})<extra></extra>"))
    fig.update_layout(title=title, xaxis={"type": "category", "title": "Month sent"},
                      yaxis={"title": "% of letters", "range": [0, 100]}, **LAYOUT)
    return fig


def actions_chart(by_discipline: pd.DataFrame) -> go.Figure:
    """Actions per discipline: done, open on time and overdue as stacked horizontal bars."""
    title = "Actions by discipline"
    if by_discipline.empty:
        return _empty(title)
    parts = {"done": by_discipline["done"], "open": by_discipline["open"] - by_discipline["overdue"],
             "overdue": by_discipline["overdue"]}
    names = {"done": "Done", "open": "Open (not yet due)", "overdue": "Overdue"}
    fig = go.Figure([go.Bar(y=by_discipline["discipline"], x=parts[k], orientation="h", name=names[k],
                            marker_color=ACTION_COLOURS[k],
                            hovertemplate="%{y}: %{x} " + names[k].lower() + "<extra></extra>") for k in parts])
    fig.update_layout(title=title, barmode="stack", xaxis={"title": "Actions"},
                      yaxis={"type": "category", "autorange": "reversed"}, **LAYOUT)
    return fig


def outcome_change_chart(by_condition: pd.DataFrame) -> go.Figure:
    """Mean change of the primary pain score before vs after the hub decision, per condition (lower is better)."""
    title = "Pain score change (lower = better)"  # short: the title of a half-width chart must fit at 1280 px
    if by_condition.empty:
        return _empty(title)
    fig = go.Figure()
    for key, label in (("before", "90 days before"), ("after", "After the decision")):
        fig.add_trace(go.Bar(
            x=by_condition["condition"], y=by_condition[f"mean_change_{key}"], name=label,
            marker_color=BEFORE_AFTER_COLOURS[key], customdata=by_condition[[f"n_{key}"]].to_numpy(),
            hovertemplate="%{x}: %{y:+.1f} points (n=%{customdata[0]})<extra>" + label + "</extra>"))
    fig.add_hline(y=0, line_color="#555555", line_width=1)
    fig.update_layout(title=title, barmode="group", xaxis={"type": "category"},
                      yaxis={"title": "Mean change (0-10 scale)"}, **LAYOUT)
    return fig


def flags_chart(by_type: pd.DataFrame) -> go.Figure:
    """Cases currently carrying each flag type, coloured by severity."""
    title = "Current flags by type"
    if by_type.empty or int(by_type["current"].sum()) == 0:
        return _empty(title, "No current flags for these filters")
    fig = go.Figure()
    for severity, grp in by_type.groupby("severity", sort=False):
        fig.add_trace(go.Bar(x=grp["current"], y=grp["flag"], orientation="h", name=str(severity).capitalize(),
                             marker_color=SEVERITY_COLOURS.get(str(severity), "#999999"),
                             hovertemplate="%{y}: %{x} case(s)<extra></extra>"))
    fig.update_layout(title=title, barmode="stack", xaxis={"title": "Cases"},
                      yaxis={"type": "category", "autorange": "reversed"}, **LAYOUT)
    return fig


def ome_trend_chart(by_month: pd.DataFrame, amber: float | None = None, red: float | None = None) -> go.Figure:
    """Monthly mean total daily OME of patients on opioids, with the number of patients and optional thresholds."""
    title = "Mean opioid dose of patients on opioids (mg OME/day)"
    if by_month.empty:
        return _empty(title, "No opioids recorded for these filters")
    fig = go.Figure(go.Scatter(
        x=by_month["month"], y=by_month["mean_ome"], mode="lines+markers", name="Mean OME",
        line={"color": "#8c564b", "width": 2}, customdata=by_month[["patients_on_opioids", "median_ome"]].to_numpy(),
        hovertemplate="%{x}: mean %{y:.0f} mg/day (median %{customdata[1]:.0f}), "
                      "%{customdata[0]} patient(s)<extra></extra>"))
    for level, colour in ((amber, SEVERITY_COLOURS["amber"]), (red, SEVERITY_COLOURS["red"])):
        if level is not None:
            fig.add_hline(y=level, line_dash="dot", line_color=colour)
    fig.update_layout(title=title, xaxis={"type": "category", "title": "Month"},
                      yaxis={"title": "mg OME/day", "rangemode": "tozero"}, **LAYOUT)
    return fig
