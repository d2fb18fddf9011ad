"""Every configurable clinical threshold and DESIGN DEFAULT of docs/CLINICAL.md, declared once.

The app stores these in its settings table (editable by admin within [min, max]) and
lists them on the About page. Defaults are taken from the constants and band tables the
clinical functions use, so this list cannot drift from the code.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass

from hub.clinical import case_review, opioids, outcomes, pathway, signals
from hub.clinical.goals import GAS_RHO
from hub.clinical.instruments import BANDS

V, S, UNVERIFIED, DESIGN = "[V]", "[S]", "UNVERIFIED", "DESIGN DEFAULT"
SOURCE_LABELS = (V, S, UNVERIFIED, DESIGN)


@dataclass(frozen=True)
class Threshold:
    """One configurable threshold: key, default, unit, allowed range and where the number comes from."""

    key: str
    default: float | int
    unit: str
    min: float
    max: float
    source_label: str
    source_text: str
    description: str

    @property
    def integer(self) -> bool:
        """True when the threshold must be a whole number."""
        return isinstance(self.default, int)


def _band_min(instrument: str, band: str) -> int:
    return int(next(b["min"] for b in BANDS[instrument]["bands"] if b["band"] == band))


T = Threshold
THRESHOLDS: tuple[Threshold, ...] = (
    # --- instruments (section 1; values from tables/bands.yaml)
    T("startmsk.medium_min", _band_min("STARTMSK", "medium"), "points (0-12)", 1, 11, V,
      "'>=5 separates low from medium/high' (Dutch shoulder cohort, Physiotherapy 2024)",
      "STarT MSK total at or above which risk is medium"),
    T("startmsk.high_min", _band_min("STARTMSK", "high"), "points (0-12)", 2, 12, UNVERIFIED,
      "Widely quoted 9-12 high band; Keele scoring sheet not retrieved",
      "STarT MSK total at or above which risk is high"),
    T("ompsq10.high_risk_min", int(BANDS["OMPSQ"]["high_risk_min"]), "points (1-100)", 1, 100, V,
      "Linton et al. Spine 2011 (cut-off 50; awell implements score > 49)",
      "ÖMPSQ-10 total at or above which the patient is high risk"),
    T("pcs.clinically_relevant_min", int(BANDS["PCS"]["clinically_relevant_min"]), "points (0-52)", 0, 52, S,
      "PCS manual (Sullivan 2009) ~75th percentile; RehabMeasures says 'above 30'",
      "PCS total at or above which catastrophising is clinically relevant"),
    T("tsk17.high_above", int(BANDS["TSK17"]["high_above"]), "points (17-68)", 17, 68, V,
      "Vlaeyen et al. Pain 1995 (>37 = high kinesiophobia)",
      "TSK-17 total above which kinesiophobia is high"),
    T("gad7.positive_min", int(BANDS["GAD7"]["positive_min"]), "points (0-21)", 0, 21, V,
      "Spitzer et al. 2006 (sensitivity 89%, specificity 82%)", "GAD-7 total at or above which the screen is positive"),
    T("bpi.interference_min_answered", int(BANDS["BPI"]["interference_min_answered"]), "items of 7", 1, 7, V,
      "BPI user guide; ePPOC data dictionary", "BPI interference is scored only if at least this many items are answered"),
    T("odi.min_answered", int(BANDS["ODI"]["min_answered"]), "sections of 10", 1, 10, DESIGN,
      "Missing-data limit not verified", "ODI is scored only if at least this many sections are answered"),
    # --- response classification (section 2)
    T("pain.substantial_pct", outcomes.IMMPACT_SUBSTANTIAL_PCT, "% reduction", 0, 100, V,
      "IMMPACT, Dworkin et al. J Pain 2008", "Pain NRS/PEG reduction classed as substantial"),
    T("pain.moderate_pct", outcomes.IMMPACT_MODERATE_PCT, "% reduction", 0, 100, V,
      "IMMPACT, Dworkin et al. J Pain 2008", "Pain NRS/PEG reduction classed as moderate (clinically important)"),
    T("pain.minimal_pct", outcomes.IMMPACT_MINIMAL_PCT, "% reduction", 0, 100, V,
      "IMMPACT 10-20%; 20-30% also placed in 'minimal' (DESIGN DEFAULT)", "Pain NRS/PEG reduction classed as minimal"),
    T("pain.worse_pct", outcomes.PAIN_WORSE_PCT, "% increase", 0, 100, DESIGN,
      "Deterioration threshold invented by this spec", "Pain NRS/PEG increase classed as worse"),
    T("pain.raw_floor", outcomes.RAW_FLOOR, "points (0-10)", 0, 10, DESIGN,
      "v0.2: IMMPACT asks for raw and percentage criteria (Dworkin 2008); raw MIC on 0-10 scales is about 1-2 "
      "points (Farrar 2001)",
      "Pain NRS/PEG change smaller than this is never important (also: no plateau once improved by this much)"),
    T("pain.farrar_points", outcomes.FARRAR_POINTS, "points (0-10)", 0, 10, V,
      "Farrar et al. Pain 2001", "Raw pain reduction that is clinically important (Farrar)"),
    T("pain.farrar_pct", outcomes.FARRAR_PCT, "% reduction", 0, 100, V,
      "Farrar et al. Pain 2001", "Percentage pain reduction that is clinically important (Farrar)"),
    T("mskhq.mic", outcomes.MSKHQ_MIC, "points (0-56)", 0, 56, V,
      "Price et al. BMJ Open 2019 (MIC 5.5); UK MCIC 6-8 (Christiansen 2020)",
      "MSK-HQ change that is important (improvement; same value used for worsening, DESIGN DEFAULT)"),
    T("odi.mic_points", outcomes.ODI_MIC_POINTS, "points (0-100)", 0, 100, V,
      "Ostelo et al. Spine 2008", "ODI reduction that is important"),
    T("odi.mic_pct", outcomes.ODI_MIC_PCT, "% reduction", 0, 100, V,
      "Ostelo et al. Spine 2008", "ODI percentage reduction that is important"),
    T("tsk11.mic", outcomes.TSK11_MIC, "points (11-44)", 0, 33, V,
      "Woby et al. Pain 2005", "TSK-11 reduction that is important"),
    T("pcs.mic", outcomes.PCS_MIC, "points (0-52)", 0, 52, V,
      "Monticone et al. Eur J Phys Rehabil Med 2022", "PCS reduction that is important (baseline <= 30)"),
    T("pcs.mic_high_baseline", outcomes.PCS_MIC_HIGH_BASELINE, "points (0-52)", 0, 52, V,
      "Monticone et al. 2022 (baseline > 30)", "PCS reduction that is important when baseline is high"),
    T("pcs.high_baseline_above", outcomes.PCS_HIGH_BASELINE_ABOVE, "points (0-52)", 0, 52, V,
      "Monticone et al. 2022", "PCS baseline above which the higher MIC applies"),
    T("pseq.mic", outcomes.PSEQ_MIC, "points (0-60)", 0, 60, DESIGN,
      "Published MCID 5.5-8.5 (Dube 2021; Chiarotto 2016); 6 because totals are integers",
      "PSEQ increase that is important"),
    T("bpi.interference_mic", outcomes.BPI_INTERFERENCE_MIC, "points (0-10)", 0, 10, V,
      "IMMPACT, Dworkin et al. 2008", "BPI interference decrease that is important"),
    # --- opioids (section 4)
    T("opioid.amber_ome", opioids.PROFILES["UK"]["amber"], "mg OME/day", 1, 1000, UNVERIFIED,
      "OpenPrescribing says Opioids Aware 'recently reduced from 120mg' to 90 mg; confirm at source",
      "Daily OME at or above which the UK flag is amber"),
    T("opioid.red_ome", opioids.PROFILES["UK"]["red"], "mg OME/day", 1, 1000, S,
      "Opioids Aware via OpenPrescribing; BJGP 2019;69:191", "Daily OME at or above which the UK flag is red"),
    T("opioid.cdc_amber_mme", opioids.PROFILES["CDC"]["amber"], "MME/day", 1, 1000, S,
      "CDC 2016: >= 50 MME reassess", "Daily MME at or above which the CDC flag is amber"),
    T("opioid.cdc_red_mme", opioids.PROFILES["CDC"]["red"], "MME/day", 1, 1000, S,
      "CDC 2016: >= 90 avoid or justify (dropped as a ceiling in CDC 2022)",
      "Daily MME at or above which the CDC flag is red"),
    T("opioid.escalation_min_rise", 0.0, "mg OME/day", 0, 1000, DESIGN,
      "Opioid stewardship rule: flag any OME increase since the last review when the primary outcome is not improved",
      "OME rise since the previous review above which 'opioid escalation without benefit' is checked"),
    # --- escalation (section 3.3)
    T("escalation.e2_min_steps", pathway.E2_MIN_STEPS, "steps", 1, 10, DESIGN,
      "CKS concept; numbers invented", "E2: completed S4/S5 steps before 'non-specialist management failing'"),
    T("escalation.e2_min_step_weeks", pathway.E2_MIN_STEP_WEEKS, "weeks", 1, 52, DESIGN,
      "CKS concept; numbers invented", "E2: minimum length of each completed step"),
    T("escalation.e3_phq9_min", pathway.E3_PHQ9_MIN, "points (0-27)", 0, 27, V,
      "PHQ-9 moderately severe band starts at 15 (Kroenke 2001)", "E3: PHQ-9 total that signals significant distress"),
    T("escalation.e3_gad7_min", pathway.E3_GAD7_MIN, "points (0-21)", 0, 21, V,
      "GAD-7 severe band starts at 15 (Spitzer 2006)", "E3: GAD-7 total that signals significant distress"),
    T("escalation.e3_pcs_min", pathway.E3_PCS_MIN, "points (0-52)", 0, 52, S,
      "PCS cut-off (Sullivan 2009)", "E3: PCS total that, with high STarT risk, signals significant distress"),
    T("escalation.e4_ome_min", pathway.E4_OME_MIN, "mg OME/day", 1, 1000, S,
      "Opioids Aware 120 mg via OpenPrescribing", "E4: daily OME that triggers an opioid stewardship review"),
    # --- inertia and disengagement (section 5)
    T("inertia.min_consecutive", signals.INERTIA_MIN_CONSECUTIVE, "reviews", 1, 10, DESIGN,
      "No published chronic-pain definition", "Consecutive inertia events that raise the flag"),
    T("inertia.max_weeks", signals.INERTIA_MAX_WEEKS, "weeks", 1, 104, DESIGN,
      "No published chronic-pain definition", "Weeks without change while target not met that raise the flag"),
    *(T(f"inertia.onset_window_weeks.{k}", v, "weeks", 1, 52, DESIGN, "UNVERIFIED onset windows",
        f"Weeks to wait for a new {k.replace('_', ' ')} to work before judging it")
      for k, v in signals.ONSET_WINDOW_WEEKS.items()),
    T("disengagement.dna_min_count", signals.DNA_MIN_COUNT, "appointments", 1, 20, DESIGN,
      "Invented", "DNAs in the rolling window that raise the missed-appointments flag"),
    T("disengagement.dna_window_months", signals.DNA_WINDOW_MONTHS, "months", 1, 24, DESIGN,
      "Invented", "Rolling window for counting DNAs"),
    T("disengagement.dna_last_n", signals.DNA_LAST_N, "contacts", 1, 20, DESIGN,
      "Invented", "Number of last booked contacts examined"),
    T("disengagement.dna_min_fraction", signals.DNA_MIN_FRACTION, "fraction", 0, 1, DESIGN,
      "Invented", "Fraction of the last booked contacts missed that raises the flag"),
    T("disengagement.prom_nonreturn_min_consecutive", signals.PROM_NONRETURN_MIN_CONSECUTIVE, "PROMs", 1, 10,
      DESIGN, "Invented", "Consecutive scheduled PROMs not returned that raise the flag"),
    T("disengagement.adherence_min_drop", signals.ADHERENCE_MIN_DROP, "fraction", 0, 1, DESIGN,
      "Invented", "Fall in self-reported adherence versus the previous period that raises the flag"),
    T("disengagement.plateau_min_points", signals.PLATEAU_MIN_POINTS, "values", 2, 20, DESIGN,
      "Invented", "PROM values needed to judge a plateau"),
    T("disengagement.plateau_min_weeks", signals.PLATEAU_MIN_WEEKS, "weeks", 1, 104, DESIGN,
      "Invented", "Weeks the PROM values must span to judge a plateau"),
    T("disengagement.plateau_slope_weeks", signals.PLATEAU_SLOPE_WEEKS, "weeks", 1, 104, DESIGN,
      "Invented", "Slope limit is MIC divided by this many weeks"),
    # --- explore beliefs (hazard H11: cognitive dissonance)
    T("beliefs.tsk11_min", case_review.BELIEFS_TSK11_MIN, "points (11-44)", 11, 44, DESIGN,
      "No published TSK-11 cut-off (open item)", "TSK-11 total at or above which fear of movement is high"),
    T("beliefs.pcs_min", case_review.BELIEFS_PCS_MIN, "points (0-52)", 0, 52, S,
      "PCS cut-off 30 (Sullivan manual; RehabMeasures)", "PCS total at or above which catastrophising is high"),
    T("beliefs.window_months", case_review.BELIEFS_WINDOW_MONTHS, "months", 1, 24, DESIGN,
      "Invented", "Months back in which a declined, stopped or missed exercise treatment counts"),
    T("beliefs.low_adherence_pct", case_review.BELIEFS_LOW_ADHERENCE_PCT, "% of sessions", 0, 100, DESIGN,
      "Invented", "Adherence below which an exercise treatment counts as mostly missed"),
    # --- goals (section 6)
    T("gas.rho", GAS_RHO, "correlation", 0, 0.99, V,
      "Kiresuk & Sherman 1968 convention", "Inter-goal correlation in the GAS T-score"),
)
del T

BY_KEY: dict[str, Threshold] = {t.key: t for t in THRESHOLDS}
if len(BY_KEY) != len(THRESHOLDS):
    raise ValueError("duplicate threshold key")


def defaults() -> dict[str, float | int]:
    """Return {key: default value} for every configurable threshold."""
    return {t.key: t.default for t in THRESHOLDS}


def get(key: str) -> Threshold:
    """Return one threshold's declaration (ValueError if the key is unknown)."""
    try:
        return BY_KEY[key]
    except KeyError:
        raise ValueError(f"unknown threshold {key!r}") from None


def validate(key: str, value: float | int) -> float | int:
    """Check a proposed setting against its declared type and range; return it or raise ValueError."""
    t = get(key)
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"{key} must be a number, got {value!r}")
    if t.integer and value != int(value):
        raise ValueError(f"{key} must be a whole number, got {value!r}")
    if not t.min <= value <= t.max:
        raise ValueError(f"{key} = {value} is outside the allowed range {t.min:g}-{t.max:g} {t.unit}")
    return int(value) if t.integer else float(value)
