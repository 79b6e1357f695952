"""Django's model backend, reading a session's user as an API token's is read: in one statement
compiled once, with the reference data's signature (kesu/lib/revisions.py), so that the pages
read the user's scope and the people they show from the organisation the process keeps
(kesu/org/directory.py) instead of asking the database for them on every request."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.backends import ModelBackend

from kesu.lib.revisions import signature_column
from kesu.lib.statements import Statement, id_slot

from .models import User

_SESSION_USER = Statement(lambda: User.objects.filter(pk=id_slot("user")).annotate(
    signature=signature_column()))


class SignedModelBackend(ModelBackend):
    def get_user(self, user_id: Any) -> User | None:
        try:
            pk = int(user_id)
        except (TypeError, ValueError):
            return None
        user = _SESSION_USER.first(user=pk)
        return user if user is not None and self.user_can_authenticate(user) else None
