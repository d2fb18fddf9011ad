"""Figure builders: one shared date axis, medicines labelled with dose, gaps drawn as gaps."""

from __future__ import annotations

import itertools
import math
from datetime import date, timedelta

import pandas as pd

from hub import charts

TODAY = date(2026, 6, 30)


def frames(wearable_days=None):
    treatments = pd.DataFrame([
        {"id": 1, "category": "medicine", "category_label": "Medicine", "label": "Oxycodone 80 mg/day oral",
         "start": date(2026, 1, 1), "end": None},
        {"id": 2, "category": "exercise", "category_label": "Exercise", "label": "Knee class",
         "start": date(2026, 2, 1), "end": date(2026, 3, 15)},
    ])
    assessments = pd.DataFrame([
        {"id": 1, "date": date(2026, 1, 5), "instrument": "nrs", "status": "completed", "total": 7.0},
        {"id": 2, "date": date(2026, 3, 5), "instrument": "peg", "status": "completed", "total": 6.3},
        {"id": 3, "date": date(2026, 3, 5), "instrument": "phq9", "status": "completed", "total": 12.0},
        {"id": 4, "date": date(2026, 4, 5), "instrument": "peg", "status": "not_returned", "total": None},
    ])
    reviews = pd.DataFrame([
        {"id": 1, "date": date(2026, 2, 1), "attendance": "attended"},
        {"id": 2, "date": date(2026, 3, 1), "attendance": "dna"},
    ])
    days = wearable_days if wearable_days is not None else [
        {"day": TODAY - timedelta(days=i), "steps": 4000 + i, "sleep_hours": 7.0}
        for i in range(10) if i not in (3, 4)  # two days without any data
    ]
    wearables = pd.DataFrame(days, columns=["day", "steps", "active_minutes", "sleep_hours", "resting_hr", "source"])
    return treatments, assessments, reviews, wearables


def test_daily_series_marks_missing_days_as_gaps_not_zero():
    _, _, _, w = frames()
    s = charts.daily_series(w, "steps", TODAY - timedelta(days=9), TODAY)
    assert len(s) == 10
    assert math.isnan(s[pd.Timestamp(TODAY - timedelta(days=3))])
    assert math.isnan(s[pd.Timestamp(TODAY - timedelta(days=4))])
    assert (s.dropna() > 0).all()
    assert 0 not in s.values


def test_timeline_has_all_lanes_on_a_shared_axis():
    fig = charts.case_timeline(*frames(), today=TODAY, ome=[(date(2026, 1, 1), 60.0)])
    names = {t.name for t in fig.data}
    assert {"Medicine", "Exercise / physiotherapy", "Pain NRS (0-10)", "PEG (0-10)", "PHQ-9 (0-27)",
            "Review attended", "Missed appointment (DNA)", "PROM not returned", "Steps", "Sleep hours"} <= names
    # every subplot x-axis follows the first (shared date axis)
    xaxes = [k for k in fig.layout if k.startswith("xaxis")]
    assert len(xaxes) == 6
    anchors = {fig.layout[k].matches for k in xaxes}
    assert len(anchors - {None}) == 1  # all follow the same axis
    assert sum(1 for k in xaxes if fig.layout[k].matches is None) == 1


def test_medicines_are_labelled_with_dose_and_ongoing_bars_run_to_today():
    fig = charts.case_timeline(*frames(), today=TODAY)
    med = next(t for t in fig.data if t.name == "Medicine" and t.type == "bar")
    assert med.customdata[0][0] == "Oxycodone 80 mg/day oral"  # named on hover
    assert med.x[0] == (TODAY - date(2026, 1, 1)).days * charts.MS_PER_DAY
    label = next(t for t in fig.data if t.name == "Medicine" and t.type == "scatter")
    assert list(label.text) == ["Oxycodone 80 mg/day oral"] and label.showlegend is False  # and on the bar


def test_wearable_gaps_are_none_in_the_trace():
    fig = charts.case_timeline(*frames(), today=TODAY)
    steps = next(t for t in fig.data if t.name == "Steps")
    assert steps.connectgaps is False
    ys = list(steps.y)
    assert sum(1 for y in ys if y is None or (isinstance(y, float) and math.isnan(y))) == 2
    assert 0 not in ys


def test_empty_record_gives_a_figure_without_data():
    empty = frames(wearable_days=[])
    t = empty[0].iloc[0:0]
    a = empty[1].iloc[0:0]
    r = empty[2].iloc[0:0]
    fig = charts.case_timeline(t, a, r, empty[3], today=TODAY)
    assert len(fig.data) == 0


def test_ome_row_and_response_band():
    ome = [(date(2026, 1, 1), 60.0), (date(2026, 3, 1), 150.0)]
    response = {"instrument": "peg", "baseline": 7.0, "mic_band": [4.9, 7.0], "target": 4.9}
    fig = charts.case_timeline(*frames(), today=TODAY, ome=ome, response=response)
    trace = next(t for t in fig.data if t.name == "Total OME (mg/day)")
    assert list(trace.y) == [60.0, 150.0, 150.0] and trace.line.shape == "hv"
    lines = {round(sh.y0, 2) for sh in fig.layout.shapes if sh.type == "line"}
    assert {90, 120, 7.0, 4.9} <= lines  # thresholds, baseline and target
    rects = [sh for sh in fig.layout.shapes if sh.type == "rect"]
    assert len(rects) == 1 and (rects[0].y0, rects[0].y1) == (4.9, 7.0)


def test_weekly_wearable_means_on_the_timeline_with_empty_weeks_as_gaps():
    days = [{"day": date(2026, 6, 1) + timedelta(days=i), "steps": 1000 * (1 + i // 7), "sleep_hours": 7.0}
            for i in range(21) if not 7 <= i < 14]  # weeks of 1 and 15 June have data, the week of 8 June none
    fig = charts.case_timeline(*frames(wearable_days=days)[:3], frames(wearable_days=days)[3], today=TODAY)
    weekly = next(t for t in fig.data if t.name == "Steps, weekly mean")
    points = {pd.Timestamp(x).date(): y for x, y in zip(weekly.x, weekly.y)}
    assert points[date(2026, 6, 4)] == 1000 and points[date(2026, 6, 18)] == 3000  # mid-week points
    gap = points[date(2026, 6, 11)]
    assert gap is None or math.isnan(gap)  # a week without data is a gap, not zero
    assert weekly.connectgaps is False and list(weekly.customdata[:3]) == [7, 0, 7]
    assert any(t.name == "Sleep hours, weekly mean" for t in fig.data)


def test_concurrent_medicines_each_have_their_own_lane():
    treatments, assessments, reviews, wearables = frames()
    treatments = pd.concat([treatments.assign(drug=["oxycodone", None]), pd.DataFrame([
        {"id": 3, "category": "medicine", "category_label": "Medicine", "label": "Pregabalin 300 mg/day oral",
         "drug": "pregabalin", "start": date(2026, 2, 1), "end": None}])], ignore_index=True)
    fig = charts.case_timeline(treatments, assessments, reviews, wearables, today=TODAY)
    lanes = {c[0]: lane for t in fig.data if t.name == "Medicine" and t.type == "bar"
             for c, lane in zip(t.customdata, t.y)}
    assert lanes == {"Oxycodone 80 mg/day oral": "Oxycodone", "Pregabalin 300 mg/day oral": "Pregabalin"}
    assert next(t for t in fig.data if t.name == "Exercise / physiotherapy").y[0] == "Exercise / physiotherapy"


def test_bar_labels_only_where_they_fit_and_never_left_of_the_window():
    fig = charts.case_timeline(*big_history(), today=TODAY)
    start, _ = charts.window(TODAY)
    for t in fig.data:
        if t.type == "scatter" and t.mode == "text":
            assert all(pd.Timestamp(x).date() >= start for x in t.x)
            assert t.cliponaxis is True
    bars = [t for t in fig.data if t.type == "bar"]
    labels = [x for t in fig.data if t.type == "scatter" and t.mode == "text" for x in t.text]
    assert 0 < len(labels) < sum(len(t.x) for t in bars)  # short courses are named on hover only


def big_history(n_treatments=100):
    cats = ["medicine", "exercise", "psychological", "injection"]
    drugs = ["oxycodone", "pregabalin", "naproxen"]
    treatments = pd.DataFrame([
        {"id": i, "category": cats[i % 4], "category_label": "", "label": f"course {i}",
         "drug": drugs[i % 3] if cats[i % 4] == "medicine" else None,
         "start": date(2024, 1, 1) + timedelta(days=7 * i), "end": None if i % 10 == 0 else
         date(2024, 1, 1) + timedelta(days=7 * i + 30)} for i in range(n_treatments)])
    _, assessments, reviews, wearables = frames()
    return treatments, assessments, reviews, wearables


def test_treatments_are_one_trace_per_category_whatever_the_number_of_courses():
    fig = charts.case_timeline(*big_history(), today=TODAY)
    bars = [t for t in fig.data if t.type == "bar"]
    assert len(bars) == 4  # 100 courses in 4 categories
    assert sum(len(t.x) for t in bars) == 100
    assert all(len(t.x) == len(t.base) == len(t.y) == len(t.customdata) for t in bars)
    assert len(fig.data) <= 2 * 4 + 10  # a label trace per category at most, whatever the number of courses


def test_reference_lines_are_shapes_with_explicit_axis_references_and_the_figure_is_valid():
    import plotly.graph_objects as go

    ome = [(date(2026, 1, 1), 60.0)]
    response = {"instrument": "peg", "baseline": 7.0, "mic_band": [4.9, 7.0], "target": 4.9}
    fig = charts.case_timeline(*frames(), today=TODAY, ome=ome, response=response)
    yaxes = {k.replace("axis", "") for k in fig.layout if k.startswith("yaxis")}
    for sh in fig.layout.shapes:
        assert sh.yref in yaxes and sh.xref.endswith(" domain")
    # thresholds on the OME panel, baseline and band on the pain panel
    ome_axis = next(t.yaxis for t in fig.data if t.name == "Total OME (mg/day)")
    pain_axis = next(t.yaxis for t in fig.data if t.name == "PEG (0-10)")
    assert {sh.y0 for sh in fig.layout.shapes if sh.yref == ome_axis} == {90, 120}
    assert {sh.y0 for sh in fig.layout.shapes if sh.yref == pain_axis} >= {7.0, 4.9}
    go.Figure(fig.to_dict())  # validates every property (the builder skips validation for speed)


def test_a_new_case_shows_only_the_panels_it_has_data_for():
    _, assessments, _, _ = frames()
    empty_t, _, empty_r, empty_w = frames(wearable_days=[])
    fig = charts.case_timeline(empty_t.iloc[0:0], assessments[assessments["instrument"] == "nrs"],
                               empty_r.iloc[0:0], empty_w, today=TODAY)
    titles = [a.text for a in fig.layout.annotations if a.yref == "paper"]
    assert titles == ["<b>Pain</b>"]
    assert [k for k in fig.layout if k.startswith("yaxis")] == ["yaxis"]


def test_panel_titles_sit_in_the_gap_above_their_panel_and_legends_are_per_panel():
    fig = charts.case_timeline(*frames(), today=TODAY, ome=[(date(2026, 1, 1), 60.0)])
    domains = sorted((tuple(fig.layout[k].domain) for k in fig.layout if k.startswith("yaxis")), reverse=True)
    plot_px = fig.layout.height - fig.layout.margin.t - fig.layout.margin.b
    for (lo, _), (_, hi_below) in itertools.pairwise(domains):
        assert (lo - hi_below) * plot_px >= 40  # room for a title line above the lower panel
    legends = {t.legend for t in fig.data if t.showlegend}
    assert len(legends) >= 3  # treatments, pain, wearables each have their own short legend
    biggest = max(sum(1 for t in fig.data if t.showlegend and t.legend == lg) for lg in legends)
    assert biggest <= 8
    # single-series panels (OME) have no legend entry: their title names them
    assert next(t for t in fig.data if t.name == "Total OME (mg/day)").showlegend is False


def test_figure_cache_reuses_the_figure_until_the_record_changes():
    charts.clear_cache()
    t, a, r, w = frames()
    f1 = charts.cached_case_timeline(1, t, a, r, w, today=TODAY)
    assert charts.cached_case_timeline(1, t, a, r, w, today=TODAY) is f1
    compact = charts.cached_case_timeline(1, t, a, r, w, today=TODAY, compact=True)
    assert compact is not f1 and compact.layout.height < f1.layout.height
    changed = a.copy()
    changed.loc[0, "total"] = 3.0  # any write to the record changes the figure's key
    f2 = charts.cached_case_timeline(1, t, changed, r, w, today=TODAY)
    assert f2 is not f1
    assert 3.0 in next(tr for tr in f2.data if tr.name == "Pain NRS (0-10)").y
    assert charts.cached_case_timeline(2, t, a, r, w, today=TODAY) is not f1  # keyed by case too


def test_user_text_in_treatment_labels_is_escaped_for_plotly():
    treatments, assessments, reviews, wearables = frames()
    payload = '<a href="http://evil.invalid">x</a> <b>bold</b> 100%{x}'
    treatments = pd.concat([treatments.assign(drug=["oxycodone", None]), pd.DataFrame([
        {"id": 3, "category": "medicine", "category_label": "Medicine", "label": payload,
         "drug": '<a href="http://evil.invalid/d">d</a>', "start": date(2026, 2, 1), "end": None}])],
        ignore_index=True)
    fig = charts.case_timeline(treatments, assessments, reviews, wearables, today=TODAY)
    shown = fig.to_json()
    assert "<a href" not in shown and "<b>bold" not in shown
    bar = next(t for t in fig.data if t.type == "bar" and t.name == "Medicine"
               and any("evil" in c[0] for c in t.customdata))
    i = next(k for k, c in enumerate(bar.customdata) if "evil" in c[0])
    assert bar.customdata[i][0].startswith("&lt;a href") and bar.y[i].startswith("&lt;a href")
    assert "evil" not in bar.hovertemplate and "100%{x}" not in bar.hovertemplate  # labels are data, not template
    texts = [str(a.text) for a in fig.layout.annotations] + [str(x) for t in fig.data for x in (t.text or ())]
    assert all("<a " not in x and "<b>bold" not in x for x in texts)  # labels drawn beside courses: escaped too
