import pytest


@pytest.fixture
def mailed(org):
    """The personas with e-mail addresses, so that staff notices have somewhere to go."""
    for name in ("clerk", "handler", "manager", "director", "gm"):
        org[name].email = f"{name}@example.cn"
        org[name].save(update_fields=["email"])
    return org
