"""``/metrics`` in the Prometheus text exposition format (0.0.4), written by hand: a few gauges and counters."""

from __future__ import annotations

from .app import WebState
from .live import monitor_data

__all__ = ["render"]


def _label(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _family(out: list[str], name: str, kind: str, help_text: str, samples: list[tuple[dict[str, str], float]]) -> None:
    out.append(f"# HELP {name} {help_text}")
    out.append(f"# TYPE {name} {kind}")
    for labels, value in samples:
        inner = ",".join(f'{k}="{_label(v)}"' for k, v in labels.items())
        out.append(f"{name}{{{inner}}} {value}" if inner else f"{name} {value}")


def render(state: WebState) -> str:
    out: list[str] = []
    _family(out, "hub_web_requests_total", "counter", "HTTP requests answered, by method, route and status.",
            [({"method": m, "route": r, "status": str(s)}, n) for (m, r, s), n in sorted(state.requests.items())])
    _family(out, "hub_web_request_seconds_total", "counter", "Time spent answering, by route.",
            [({"route": r}, round(t, 6)) for r, t in sorted(state.latency.items())])
    data = monitor_data(state)
    _family(out, "hub_decisions", "gauge", "Current recognition decisions by status.",
            [({"status": s.value}, n) for s, n in sorted(data.decisions.items(), key=lambda kv: kv[0].value)])
    _family(out, "hub_mobilities_reached", "gauge", "Mobilities that reached each lifecycle stage.",
            [({"stage": s.value}, n) for s, n in data.funnel.items()])
    _family(out, "hub_deadline_alerts", "gauge", "Open deadline alerts by severity.",
            [({"severity": sev}, sum(1 for d in data.deadlines if d.severity == sev)) for sev in ("WARNING", "BREACH")])
    if state.ops is not None:
        snap = state.ops.snapshot()
        _family(out, "hub_topic_events_per_second", "gauge", "Events appended per second, by topic.", [({"topic": t}, r) for t, r in sorted(snap.rates.items())])
        _family(out, "hub_topic_events", "gauge", "Events in the log, by topic.", [({"topic": t}, n) for t, n in sorted(snap.totals.items())])
        _family(out, "hub_consumer_lag", "gauge", "Messages behind, by consumer group.", [({"group": g}, n) for g, n in sorted(snap.lag.items())])
        _family(out, "hub_dead_letters_total", "counter", "Dead letters read from hub.dlq, by error kind.",
                [({"kind": k}, n) for k, n in sorted(snap.dead_letters.items())])
    return "\n".join(out) + "\n"
