"""Plotly figure builders: data in, go.Figure out (no streamlit, unit-testable)."""

from __future__ import annotations

import hashlib
import html
import json
import threading
from collections import OrderedDict
from datetime import date, timedelta
from typing import Any

import pandas as pd
import plotly.graph_objects as go

from hub.vocab import TREATMENT_CATEGORIES


def _plain(text: object) -> str:
    """User text for a plotly label: '&', '<' and '>' as entities, so no tag (link, style) takes effect."""
    return html.escape("" if text is None else str(text), quote=False)

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
        # Plotly renders a subset of HTML in texts, tick labels and hovers (<a href> makes a link): user text
        # goes in escaped.
        rows.append({"category": t.category, "label": _plain(t.label), "lane": _plain(lane), "start": t.start,
                     "end": end, "ongoing": not isinstance(t.end, date)})
    return rows


class TimelineFigure(go.Figure):
    """A figure treated as read-only once built: `to_dict()` (what Streamlit calls on every page run) is
    computed once and reused, instead of a deep copy of every array on each run. Do not mutate it after
    the first to_dict() (the cache hands the same figure to every page run)."""

    def __init__(self, spec: dict) -> None:
        super().__init__(spec, _validate=False)  # the builder's output is validated by the tests
        self._prepared: dict | None = None

    def to_dict(self) -> dict:
        if self._prepared is None:
            self._prepared = super().to_dict()
        return self._prepared


def _dates(values) -> list[str]:
    """Dates as ISO strings (what plotly sends anyway, without per-value conversion in the browser)."""
    return [pd.Timestamp(v).strftime("%Y-%m-%d") for v in values]


def _nums(values) -> list[float | None]:
    """Numbers with gaps as None (JSON null), so a missing value is a gap, never 0."""
    return [None if v is None or pd.isna(v) else float(v) for v in values]


def _axis(prefix: str, row: int) -> str:
    return prefix if row == 1 else f"{prefix}{row}"


# Panel heights in pixels (the treatment panel grows with its lanes) and the gap that keeps each panel's
# title clear of the panel above it.
_PANEL_PX = {"pain": 170, "proms": 170, "ome": 120, "steps": 120, "sleep": 120}
_GAP_PX, _TOP_PX, _BOTTOM_PX = 56, 40, 30
_LIGHT = {"education", "weight_management", "acupuncture"}  # light bar colours: dark label text
_PANEL_TITLES = {"treatments": "Treatments and reviews", "pain": "Pain", "proms": "Other PROMs",
                 "ome": "Opioid dose (mg OME/day: for risk, not for converting between opioids)",
                 "steps": "Steps per day", "sleep": "Sleep (hours)"}


def case_timeline(treatments: pd.DataFrame, assessments: pd.DataFrame, reviews: pd.DataFrame,
                  wearables: pd.DataFrame, today: date | None = None, ome: list[tuple[date, float]] | None = None,
                  response: dict | None = None, ome_amber: float = 90, ome_red: float = 120,
                  compact: bool = False) -> go.Figure:
    """The case's one timeline on a shared date axis: treatments, pain (with baseline, important-change
    band and target), other PROMs, reviews, total opioid OME, wearable steps and sleep (gaps as gaps).

    Only panels with something to show are drawn (a new case shows its first pain scores, not six empty
    panels). Cost stays flat with the history: treatments are one bar trace per category (arrays of
    bases, lengths and lanes, not one trace per course) and reference lines and bands are layout shapes
    with explicit axis references (no per-subplot helpers that walk every trace)."""
    today = today or date.today()
    done = assessments[assessments["status"] == "completed"] if not assessments.empty else assessments
    missing = assessments[assessments["status"] == "not_returned"] if not assessments.empty else assessments
    resp_row = None
    if response and response.get("baseline") is not None:
        resp_row = "pain" if response.get("instrument") in PAIN_LABELS else "proms"
    has = {
        "treatments": not treatments.empty or not reviews.empty,
        "pain": (not done.empty and done["instrument"].isin(list(PAIN_LABELS)).any()) or resp_row == "pain",
        "proms": (not done.empty and done["instrument"].isin(list(OTHER_PROM_LABELS)).any())
        or not missing.empty or resp_row == "proms",
        "ome": bool(ome),
        "steps": not wearables.empty and wearables["steps"].notna().any(),
        "sleep": not wearables.empty and wearables["sleep_hours"].notna().any(),
    }
    panels = [p for p, shown in has.items() if shown]
    if not panels:
        return go.Figure(layout={"height": 120})
    rows = {p: i + 1 for i, p in enumerate(panels)}
    t_rows = _treatment_rows(treatments, today)
    lanes = list(dict.fromkeys(r["lane"] for r in t_rows)) + (["Reviews"] if not reviews.empty else [])
    px: dict[str, float] = {p: max(110, 34 * len(lanes) + 40) if p == "treatments" else _PANEL_PX[p] for p in panels}
    plot_px = sum(px.values()) + _GAP_PX * (len(panels) - 1)
    if compact:  # narrow column (meeting room): the same panels, shorter
        px = {p: v * 0.8 for p, v in px.items()}
        plot_px = sum(px.values()) + _GAP_PX * (len(panels) - 1)
    traces: list[tuple[dict, str]] = []
    shapes: list[dict] = []
    notes: list[dict] = []
    # Treatments as bars from start to stop (ongoing ones to today): one trace per category.
    by_cat: dict[str, list[dict]] = {}
    for r in t_rows:
        by_cat.setdefault(r["category"], []).append(r)
    w_start, w_end = window(today)
    w_end += timedelta(days=14)
    width_px = 450 if compact else 900  # about the plot's width in the page's column
    free_from: dict[str, date] = {}
    for cat, rs in by_cat.items():
        name = TREATMENT_CATEGORIES.get(cat, cat)
        traces.append(({
            "type": "bar", "orientation": "h", "name": name, "legendgroup": cat,
            "x": [max(1, (r["end"] - r["start"]).days) * MS_PER_DAY for r in rs],
            "base": [r["start"].isoformat() for r in rs], "y": [r["lane"] for r in rs],
            "marker": {"color": CATEGORY_COLOURS.get(cat, "#999999")},
            "customdata": [[r["label"], f"{r['start']:%d %b %Y}",
                            "ongoing" if r["ongoing"] else f"{r['end']:%d %b %Y}"] for r in rs],
            "hovertemplate": "%{customdata[0]}<br>%{customdata[1]} – %{customdata[2]}<extra></extra>"},
            "treatments"))
        # Labels as text beside the visible start of each course that is long enough on screen to hold
        # its label (a course begun before the window is labelled at the window's edge; short courses
        # name themselves on hover), so that no label spills over a neighbour or the lane names.
        shown = []
        px_per_day = width_px / max(1, (w_end - w_start).days)
        for r in sorted(rs, key=lambda r: r["start"]):
            lo, hi = max(r["start"], w_start), min(r["end"], w_end)
            need_days = (6.5 * len(r["label"]) + 10) / px_per_day
            if (hi - lo).days >= need_days and lo >= free_from.get(r["lane"], w_start):
                shown.append((lo + timedelta(days=2), r))
                free_from[r["lane"]] = lo + timedelta(days=need_days)  # no label over another in a lane
        if shown:
            traces.append(({
                "type": "scatter", "mode": "text", "name": name, "legendgroup": cat, "hoverinfo": "skip",
                "x": [lo.isoformat() for lo, _ in shown], "y": [r["lane"] for _, r in shown],
                "text": [r["label"] for _, r in shown], "textposition": "middle right",
                "textfont": {"size": 11, "color": "#ffffff" if cat not in _LIGHT else "#1a1a1a"},
                "cliponaxis": True}, "treatments"))
    # Reviews on their own lane: attended, missed (DNA) and cancelled marked differently.
    if not reviews.empty:
        styles = {"attended": ("circle", "#2ca02c", "Review attended"),
                  "dna": ("x", "#d62728", "Missed appointment (DNA)"),
                  "cancelled": ("triangle-down", "#ff7f0e", "Review cancelled")}
        for code, (symbol, colour, name) in styles.items():
            sub = reviews[reviews["attendance"] == code]
            if not sub.empty:
                traces.append(({
                    "type": "scatter", "mode": "markers", "name": name,
                    "x": _dates(sub["date"]), "y": ["Reviews"] * len(sub),
                    "marker": {"symbol": symbol, "size": 11, "color": colour},
                    "hovertemplate": name + " %{x|%d %b %Y}<extra></extra>"}, "treatments"))
    for inst, label in PAIN_LABELS.items():
        sub = done[done["instrument"] == inst] if not done.empty else done
        if not sub.empty:
            traces.append(({"type": "scatter", "mode": "lines+markers", "name": label,
                            "x": _dates(sub["date"]), "y": _nums(sub["total"]),
                            "line": {"color": PAIN_COLOURS[inst], "width": 2}}, "pain"))
    for inst, label in OTHER_PROM_LABELS.items():
        sub = done[done["instrument"] == inst] if not done.empty else done
        if not sub.empty:
            traces.append(({"type": "scatter", "x": _dates(sub["date"]), "y": _nums(sub["total"]),
                            "mode": "lines+markers", "name": label}, "proms"))
    # Questionnaires the patient completed through the practice's link: ringed, named in the hover.
    by_patient = (done[done["mode"] == "patient-completed"] if "mode" in done.columns and not done.empty
                  else done.iloc[0:0])
    for panel, insts in (("pain", list(PAIN_LABELS)), ("proms", list(OTHER_PROM_LABELS))):
        sub = by_patient[by_patient["instrument"].isin(insts)] if not by_patient.empty else by_patient
        if not sub.empty:
            traces.append(({"type": "scatter", "x": _dates(sub["date"]), "y": _nums(sub["total"]), "mode": "markers",
                            "name": "Completed by the patient (link)", "legendgroup": "patient-completed",
                            "showlegend": panel == "pain" or by_patient[
                                by_patient["instrument"].isin(list(PAIN_LABELS))].empty,
                            "marker": {"symbol": "circle-open", "size": 15, "color": "#6a3d9a", "line": {"width": 2}},
                            "customdata": [str(x).upper() for x in sub["instrument"]],
                            "hovertemplate": "%{customdata} completed by the patient %{x|%d %b %Y}: %{y:.1f}"
                                             "<extra></extra>"}, panel))
    if not missing.empty:
        traces.append(({"type": "scatter", "mode": "markers", "name": "PROM not returned",
                        "x": _dates(missing["date"]), "y": [0] * len(missing),
                        "marker": {"symbol": "x-open", "size": 9, "color": "#d62728"},
                        "hovertemplate": "PROM not returned %{x|%d %b %Y}<extra></extra>"}, "proms"))
    if resp_row and response is not None:
        _response_band(shapes, notes, response, rows[resp_row])
    # Total OME as a step line with the amber and red thresholds.
    if ome:
        xs = [d.isoformat() for d, _ in ome] + [today.isoformat()]
        ys = [v for _, v in ome] + [ome[-1][1]]
        traces.append(({"type": "scatter", "mode": "lines", "name": "Total OME (mg/day)", "x": xs, "y": ys,
                        "line": {"color": "#8c564b", "shape": "hv"}}, "ome"))
        for level, colour, word in ((ome_amber, "#ff7f0e", "amber"), (ome_red, "#d62728", "red")):
            _hline(shapes, notes, rows["ome"], level, colour, "dot", f"{word} {level:g}", "right")
    # Wearables, one point per day; a day without data is NaN so the line breaks there.
    if has["steps"] or has["sleep"]:
        start = min(pd.to_datetime(wearables["day"]).min().date(), today)
        from hub.wearables import weekly_summary  # lazy: hub.wearables pulls in the database layer

        weekly = weekly_summary(wearables, start, today)
        mid = [(pd.Timestamp(w) + pd.Timedelta(days=3, hours=12)).isoformat() for w in weekly["week_start"]]
        days = weekly["days_with_data"].tolist()
        for panel, column, name, colour, mean_col, mean_name, mean_colour in (
                ("steps", "steps", "Steps", "#17becf", "mean_steps", "Steps, weekly mean", "#0b6e79"),
                ("sleep", "sleep_hours", "Sleep hours", "#9467bd", "mean_sleep_hours", "Sleep hours, weekly mean",
                 "#4b2c7f")):
            if not has[panel]:
                continue
            s = daily_series(wearables, column, start, today)
            traces.append(({"type": "scatter", "mode": "lines", "connectgaps": False, "name": name,
                            "x": _dates(s.index), "y": _nums(s), "line": {"width": 1, "color": colour}}, panel))
            traces.append(({"type": "scatter", "mode": "lines+markers", "connectgaps": False, "name": mean_name,
                            "x": mid, "y": _nums(weekly[mean_col]), "customdata": days,
                            "line": {"width": 2.5, "color": mean_colour}, "marker": {"size": 4},
                            "hovertemplate": "week of %{x|%d %b %Y}: %{y:.1f} (%{customdata} day(s) with data)"
                                             "<extra>" + mean_name + "</extra>"}, panel))
    # Layout by hand (one dict, validated once by the tests, not per call): panels top to bottom on a
    # shared date axis, each title above its panel in the gap that separates it from the one above.
    total = sum(px.values()) + _GAP_PX * (len(panels) - 1)
    domains, top = {}, 1.0
    for p in panels:
        h = px[p] / total
        domains[p] = [max(0.0, top - h), top]
        top -= h + _GAP_PX / total
    bottom = len(panels)
    start, end = window(today)
    x_range = [pd.Timestamp(start).isoformat(), pd.Timestamp(end + timedelta(days=14)).isoformat()]
    layout: dict[str, Any] = {
        "barmode": "overlay", "height": round(plot_px + _TOP_PX + _BOTTOM_PX), "hovermode": "closest",
        "showlegend": True, "margin": {"l": 10, "r": 10 if compact else 190, "t": _TOP_PX, "b": _BOTTOM_PX},
        "shapes": shapes,
        "annotations": [{"text": f"<b>{_PANEL_TITLES[p]}</b>", "xref": "paper", "yref": "paper", "x": 0,
                         "xanchor": "left", "y": domains[p][1], "yanchor": "bottom", "showarrow": False,
                         "font": {"size": 13}} for p in panels] + notes,
    }
    for p, row in rows.items():
        xa: dict[str, Any] = {"anchor": _axis("y", row), "domain": [0.0, 1.0], "type": "date", "range": x_range}
        if row != bottom:
            xa.update(matches=_axis("x", bottom), showticklabels=False)
        layout[_axis("xaxis", row)] = xa
        layout[_axis("yaxis", row)] = {"anchor": _axis("x", row), "domain": domains[p], "automargin": True}
    if "treatments" in rows:
        layout[_axis("yaxis", rows["treatments"])].update(type="category", categoryorder="array",
                                                           categoryarray=lanes[::-1])
    if "pain" in rows:
        layout[_axis("yaxis", rows["pain"])]["range"] = [0, 10.5]
    # One small legend per panel, beside it (not one long legend under six panels); none for a panel
    # whose title already names its only series.
    per_panel: dict[str, int] = {}
    for _, p in traces:
        per_panel[p] = per_panel.get(p, 0) + 1
    legend_of: dict[str, str] = {}
    for p in panels:
        # compact: the treatment lanes are named on the axis; their colour legend would not fit in a row
        if (per_panel.get(p, 0) > 1 or p == "treatments") and not (compact and p == "treatments"):
            legend_of[p] = "legend" if not legend_of else f"legend{len(legend_of) + 1}"
    for trace, p in traces:
        trace.update(xaxis=_axis("x", rows[p]), yaxis=_axis("y", rows[p]))
        if trace.get("mode") == "text":
            trace["showlegend"] = False
        elif p in legend_of:
            trace.update(legend=legend_of[p], showlegend=True)
        else:
            trace["showlegend"] = False
    for p, name in legend_of.items():
        if compact:  # one row in the gap above the panel, right of its title
            layout[name] = {"x": 1, "xanchor": "right", "y": domains[p][1], "yanchor": "bottom", "orientation": "h",
                            "font": {"size": 10}, "bgcolor": "rgba(0,0,0,0)"}
        else:
            layout[name] = {"x": 1.01, "xanchor": "left", "y": domains[p][1], "yanchor": "top",
                            "font": {"size": 11}, "tracegroupgap": 2}
    return TimelineFigure({"data": [t for t, _ in traces], "layout": layout})


def _hline(shapes: list, notes: list, row: int, y: float, colour: str, dash: str, text: str, side: str) -> None:
    """A horizontal reference line across one panel, with its label at one end (explicit axis refs)."""
    shapes.append({"type": "line", "xref": f"{_axis('x', row)} domain", "x0": 0, "x1": 1,
                   "yref": _axis("y", row), "y0": y, "y1": y, "line": {"color": colour, "dash": dash, "width": 1}})
    notes.append({"xref": f"{_axis('x', row)} domain", "x": 1 if side == "right" else 0, "yref": _axis("y", row),
                  "y": y, "text": text, "showarrow": False, "xanchor": side, "yanchor": "bottom",
                  "font": {"size": 10, "color": colour}})


def _response_band(shapes: list, notes: list, response: dict, row: int) -> None:
    """The primary outcome's baseline, clinically important change band and target on its panel."""
    band = response.get("mic_band")
    if band:
        shapes.append({"type": "rect", "xref": f"{_axis('x', row)} domain", "x0": 0, "x1": 1,
                       "yref": _axis("y", row), "y0": min(band), "y1": max(band), "fillcolor": "#cccccc",
                       "opacity": 0.25, "line": {"width": 0}, "layer": "below"})
        notes.append({"xref": f"{_axis('x', row)} domain", "x": 0, "yref": _axis("y", row), "y": max(band),
                      "text": "within important change", "showarrow": False, "xanchor": "left", "yanchor": "top",
                      "font": {"size": 10, "color": "#555555"}})
    _hline(shapes, notes, row, response["baseline"], "#555555", "dash", f"baseline {response['baseline']:g}", "right")
    if response.get("target") is not None:
        _hline(shapes, notes, row, response["target"], "#2ca02c", "dot", f"target {response['target']:g}", "left")


# ----------------------------------------------------------------------------- figure cache

_CACHE: OrderedDict[tuple, go.Figure] = OrderedDict()
_CACHE_SIZE = 64
_cache_lock = threading.Lock()
cache_stats = {"hits": 0, "misses": 0}


def _digest(*parts: Any) -> str:
    """A digest of the timeline's inputs: any write to the case's record changes it."""
    h = hashlib.blake2b(digest_size=16)
    for p in parts:
        if isinstance(p, pd.DataFrame):
            h.update(",".join(map(str, p.columns)).encode())
            h.update(str(len(p)).encode())
            if len(p):
                h.update(pd.util.hash_pandas_object(p.astype(str), index=False).values.tobytes())
        else:
            h.update(json.dumps(p, sort_keys=True, default=str).encode())
        h.update(b"|")
    return h.hexdigest()


def cached_case_timeline(case_id: int, treatments: pd.DataFrame, assessments: pd.DataFrame,
                         reviews: pd.DataFrame, wearables: pd.DataFrame, today: date | None = None,
                         ome: list[tuple[date, float]] | None = None, response: dict | None = None,
                         ome_amber: float = 90, ome_red: float = 120, compact: bool = False) -> go.Figure:
    """case_timeline, built once per version of the case's record and reused (page and meeting room).

    The key is the case id and a digest of everything the figure draws (the record as read, the response,
    thresholds, today's date, the variant), so any write to the record gives a new key: nothing stale is
    ever served, without each write having to know about this cache. The inputs were read by a service
    that checked the user's access, so the figure is not user-specific. Bounded, per process; callers must
    not mutate the returned figure (Streamlit copies it when it serialises)."""
    today = today or date.today()
    key = (case_id, compact, _digest(treatments, assessments, reviews, wearables, ome, response, ome_amber,
                                     ome_red, today))
    with _cache_lock:
        fig = _CACHE.get(key)
        if fig is not None:
            _CACHE.move_to_end(key)
            cache_stats["hits"] += 1
            return fig
    fig = case_timeline(treatments, assessments, reviews, wearables, today, ome=ome, response=response,
                        ome_amber=ome_amber, ome_red=ome_red, compact=compact)
    with _cache_lock:
        cache_stats["misses"] += 1
        _CACHE[key] = fig
        while len(_CACHE) > _CACHE_SIZE:
            _CACHE.popitem(last=False)
    return fig


def clear_cache() -> None:
    """Forget every cached figure (tests)."""
    with _cache_lock:
        _CACHE.clear()


def window(today: date, months: int = 18) -> tuple[date, date]:
    """Default date window of the timeline."""
    return today - timedelta(days=int(months * 30.4)), today
