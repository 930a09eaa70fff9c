"""``lifresponse reproduce``: the Noisy Softplus papers end to end, and the report beside their
numbers.

``pipeline`` runs the stages (through :mod:`lifresponse.workflow`) and skips those already
done; ``report`` writes ``report.md`` and ``report.html``.
"""

from lifresponse.reproduce.pipeline import Plan, full_plan, quick_plan, reproduce

__all__ = ["Plan", "full_plan", "quick_plan", "reproduce"]
