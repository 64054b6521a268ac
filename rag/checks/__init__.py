"""The checking layer as data: each check a small class with one refusal reason.

``rules.py`` holds the hand-written checks (every threshold a :class:`~core.settings.Settings`
field); ``features.py`` turns the same evidence into numbers for the calibrated decision
(``rag.judge``). Both read one typed :class:`~rag.checks.base.CheckContext`.
"""

from rag.checks.base import Check, CheckContext, RefusalReason
from rag.checks.rules import first_failure, rule_checks

__all__ = ["Check", "CheckContext", "RefusalReason", "first_failure", "rule_checks"]
