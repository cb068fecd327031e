"""Operator pages: every campaign, and one campaign's progress (funnel and daily charts as
inline SVG, drawn on the server) with the people still to act, searchable and as CSV."""
from __future__ import annotations

import datetime as dt
import functools

from flask import Blueprint, Response, abort, render_template, request, stream_with_context
from flask_babel import lazy_gettext as _l

from ..extensions import db
from ..services import audit, campaigns, clock
from ..services.campaigns import progress
from .account import signed_in
from .browser import origin

bp = Blueprint("operator", __name__)

LABELS = {"targeted": _l("Targeted"), "mailed": _l("Mailed"), "delivered": _l("Delivered"),
          "bounced": _l("Bounced"), "logged": _l("Logged, not sent"), "link_opened": _l("Link opened"), "email_verified": _l("Email verified"),
          "password_changed": _l("Password changed"), "completed": _l("Completed")}
COLOURS = {"targeted": "#5b6475", "mailed": "#7a5cad", "delivered": "#0b5cad", "bounced": "#b3261e",
           "logged": "#795548", "link_opened": "#c77700", "email_verified": "#00838f", "password_changed": "#2e7d32",
           "completed": "#6a1b9a"}
# Not by colour alone (WCAG 1.4.1): each daily line has its own dash and point marker too,
# drawn again in the legend. Markers are the <defs> of operator/campaign.html.
LINE_STYLES = {"delivered": ("8 4", "circle"), "bounced": ("2 3", "square"), "logged": ("1 3", "cross"),
               "link_opened": ("8 3 2 3", "triangle"), "email_verified": ("14 4", "diamond"),
               "password_changed": ("4 4", "down"), "completed": ("", "plus")}
PAGE = 100
BAR, GAP, BAR_WIDTH = 22, 10, 420
PLOT_WIDTH, PLOT_HEIGHT, MAX_DAYS = 560, 200, 366


def operator_only(view):
    """Signed-out people go to sign in; signed-in people who are not operators get 403."""
    @signed_in
    @functools.wraps(view)
    def wrapper(identity, *args, **kwargs):
        if not identity.is_operator:
            abort(403)
        return view(identity, *args, **kwargs)
    return wrapper


def funnel_bars(counts: dict) -> list[dict]:
    """Bars scaled to the largest count (the targeted, unless mail went out to more)."""
    top = max(max(counts.values()), 1)
    return [{"state": state, "label": LABELS[state], "count": counts[state], "colour": COLOURS[state],
             "y": index * (BAR + GAP), "width": round(counts[state] / top * BAR_WIDTH, 1)}
            for index, state in enumerate(progress.STATES)]


def daily_lines(days: list[dict], since: dt.date | None = None, until: dt.date | None = None) -> dict:
    """Polylines per state over consecutive days from `since` to `until` (days with nothing
    count zero); a single day is drawn from the day before, so it is a line, not a dot."""
    if not days:
        return {"days": [], "series": [], "top": 0}
    first = min(since or dt.date.max, dt.date.fromisoformat(days[0]["day"]))
    last = max(until or dt.date.min, dt.date.fromisoformat(days[-1]["day"]))
    first = min(max(first, last - dt.timedelta(days=MAX_DAYS - 1)), last - dt.timedelta(days=1))
    by_day = {entry["day"]: entry for entry in days}
    span = [first + dt.timedelta(days=n) for n in range((last - first).days + 1)]
    top = max([1, *(entry[s] for entry in days for s in entry if s != "day")])
    step = PLOT_WIDTH / max(len(span) - 1, 1)
    series = []
    for state in progress.COLUMNS:
        values = [by_day.get(day.isoformat(), {}).get(state, 0) for day in span]
        points = [(round(index * step, 1), round(PLOT_HEIGHT - value / top * PLOT_HEIGHT, 1), value)
                  for index, value in enumerate(values)]
        dash, marker = LINE_STYLES[state]
        series.append({"state": state, "label": LABELS[state], "colour": COLOURS[state], "dash": dash,
                       "marker": marker, "points": points, "total": sum(values)})
    return {"days": [day.isoformat() for day in span], "series": series, "top": top}


@bp.route("/operator/campaigns")
@operator_only
def index(identity):
    return render_template("operator/campaigns.html",
                           rows=[(campaign, progress.funnel(campaign)) for campaign in campaigns.listing()])


@bp.route("/operator/campaigns/<int:campaign_id>")
@operator_only
def show(identity, campaign_id):
    campaign = campaigns.get(campaign_id)
    search = (request.args.get("q") or "").strip()[:200]
    counts = progress.funnel(campaign)
    return render_template(
        "operator/campaign.html", campaign=campaign, counts=counts, labels=LABELS, bars=funnel_bars(counts),
        bar=BAR, gap=GAP, bar_width=BAR_WIDTH,
        chart=daily_lines(progress.daily(campaign), campaign.started_at and campaign.started_at.date(),
                          None if campaign.status == "cancelled" else clock.now().date()),
        plot_width=PLOT_WIDTH, plot_height=PLOT_HEIGHT, search=search,
        pending=list(progress.pending(campaign, search, limit=PAGE)),
        pending_total=progress.pending_count(campaign, search), page=PAGE)


@bp.route("/operator/campaigns/<int:campaign_id>/pending.csv")
@operator_only
def pending_csv(identity, campaign_id):
    campaign = campaigns.get(campaign_id)
    search = (request.args.get("q") or "").strip()[:200]
    # A list of people and their addresses left the building: that is worth a record.
    audit.record("campaign.pending_exported", origin=origin(), identity=identity, campaign=campaign.id,
                 search=search or None)
    db.session.commit()
    return Response(stream_with_context(progress.pending_csv(campaign, search)), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="campaign-{campaign.id}-pending.csv"'})
