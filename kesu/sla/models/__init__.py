"""The sla app's models, one module per concept: deadline rows, policies, accountability, and
the business calendar."""

from .accountability import AccountabilityRecord, AccountabilityRule, AccountabilityStatus, Breach  # noqa: F401
from .deadlines import OPEN_ROW, Deadline, DeadlineKind  # noqa: F401
from .policies import Market, Policy  # noqa: F401
from .policies import Unit as LengthUnit  # noqa: F401
from .calendar import CalendarDay, CalendarSource, CalendarYear, WorkingHours  # noqa: F401
