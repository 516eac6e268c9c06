"""The settings of the session's stack (tests/e2e/conftest.py): production's (config.settings),
with passwords hashed at one iteration as in the test process (tests/passwords.py).

The stack's web server upgraded a test user's hash to Django's 1,000,000 iterations at its
first login, and then hashed at that cost at every 1C `checkauth`: 37 of them in the sample's
session-per-file exchange alone, about 0.3 s of CPU each, one after the other. The production
site of the deployment test (devtools/deployment.py) runs on config.settings itself.
"""
from config.settings import *  # noqa: F403  (production's settings, one changed below)

PASSWORD_HASHERS = ["tests.passwords.OneIterationPBKDF2PasswordHasher"]
