"""The test process' password hasher: Django's default algorithm at one iteration.

Every user a test makes, every admin login and every 1C `checkauth` hashes a password; at
Django's production cost that was the largest single share of the in-process tests' CPU
(bench/RESULTS.md, "The test suite's CPU"). The stack's processes hash with it too
(tests/stack_settings.py). The algorithm's name stays `pbkdf2_sha256` and a hash carries its
own iteration count, so the deployment test's production site, on config.settings, verifies
these hashes unchanged (and upgrades one on a successful login, as any older hash).
"""
from django.contrib.auth.hashers import PBKDF2PasswordHasher


class OneIterationPBKDF2PasswordHasher(PBKDF2PasswordHasher):
    iterations = 1
