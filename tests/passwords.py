"""The test process' password hasher: Django's default algorithm at one iteration.

Every user a test makes, every admin login and every 1C `checkauth` hashes a password; at
Django's production cost that was the largest single share of the in-process tests' CPU
(bench/RESULTS.md, "The test suite's CPU"). The algorithm's name stays `pbkdf2_sha256` and a
hash carries its own iteration count, so the stack's processes, on the production settings,
verify these hashes unchanged (and upgrade one on a successful login, as any older hash).
"""
from django.contrib.auth.hashers import PBKDF2PasswordHasher


class OneIterationPBKDF2PasswordHasher(PBKDF2PasswordHasher):
    iterations = 1
