"""The fill-rate chart the portal shows: fill rate over time, a line per site, as SVG, drawn by
matplotlib (Agg backend, no display; its object API, not pyplot's global figures, so that
concurrent requests never share a figure). Output is reproducible: no date in the metadata and a
fixed salt for the SVG's ids."""

import io
from datetime import date

import matplotlib
from matplotlib.dates import AutoDateLocator, ConciseDateFormatter
from matplotlib.figure import Figure
from matplotlib.ticker import PercentFormatter

matplotlib.use("Agg")
matplotlib.rcParams["svg.hashsalt"] = "staffbank"
matplotlib.rcParams["svg.fonttype"] = "none"  # text as text: smaller, selectable, screen-reader friendly

MAX_LINES = 12  # the sites with most shifts posted; a legend of more is unreadable


def fill_rate_svg(series, interval, title="Fill rate by site"):
    """SVG text of `series` (domain.series_items: period_start, site_id, name, posted, fill_rate),
    one line per site; a period whose fill rate is undefined (nothing left to fill) is a gap."""
    sites = {}
    for item in series:
        site = sites.setdefault(item["site_id"], {"name": item["name"] or item["site_id"], "posted": 0,
                                                  "points": {}})
        site["posted"] += item["posted"]
        site["points"][date.fromisoformat(item["period_start"])] = item["fill_rate"]
    drawn = sorted(sites.values(), key=lambda s: (-s["posted"], s["name"]))[:MAX_LINES]
    periods = sorted({day for site in sites.values() for day in site["points"]})

    figure = Figure(figsize=(10, 5), dpi=100, layout="constrained")
    axes = figure.subplots()
    for site in sorted(drawn, key=lambda s: s["name"]):
        axes.plot(periods, [site["points"].get(day) if site["points"].get(day) is not None else float("nan")
                            for day in periods], marker="o", markersize=3, label=_label(site["name"]))
    axes.set_ylim(0, 1.05)
    axes.yaxis.set_major_formatter(PercentFormatter(1.0))
    axes.set_ylabel("filled / (posted - cancelled)")
    axes.set_xlabel(f"shift start, by {interval} (Europe/London)")
    more = len(sites) - len(drawn)
    axes.set_title(title + (f" ({len(drawn)} busiest of {len(sites)} sites)" if more else ""))
    axes.grid(True, alpha=0.3)
    if periods:
        locator = AutoDateLocator()
        axes.xaxis.set_major_locator(locator)
        axes.xaxis.set_major_formatter(ConciseDateFormatter(locator))
        axes.legend(loc="upper left", bbox_to_anchor=(1.01, 1), fontsize="small", frameon=False)
    else:
        axes.text(0.5, 0.5, "No shifts posted in this period", ha="center", va="center",
                  transform=axes.transAxes)
        axes.set_xticks([])
    out = io.StringIO()
    figure.savefig(out, format="svg", metadata={"Date": None})
    return out.getvalue()


def _label(name):
    """A site's name as matplotlib shows it literally: `$` would start mathematics, and a leading
    `_` hides a line from the legend."""
    text = name.replace("$", r"\$")
    return " " + text if text.startswith("_") else text
