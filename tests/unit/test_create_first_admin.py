"""`create_first_admin`: one superuser for a fresh database, and never a second."""
import pytest
from django.contrib.auth.models import User
from django.core.management import call_command

pytestmark = pytest.mark.django_db


def test_creates_the_admin_with_the_given_password_once(capsys, in_english):
    call_command("create_first_admin", "--password", "s3cret-pw")
    call_command("create_first_admin", "--username", "other", "--password", "x")

    out = capsys.readouterr().out
    assert "created admin user 'admin', password: as given" in out
    assert "admin user exists: admin (nothing changed)" in out
    (admin,) = User.objects.all()
    assert admin.is_superuser and admin.is_staff and admin.check_password("s3cret-pw")


def test_without_a_password_prints_a_generated_one(capsys, monkeypatch, in_english):
    monkeypatch.delenv("DJANGO_ADMIN_PASSWORD", raising=False)

    call_command("create_first_admin")

    password = capsys.readouterr().out.strip().rsplit("password: ", 1)[1]
    assert len(password) >= 12 and User.objects.get(username="admin").check_password(password)


def test_it_speaks_the_site_s_language(capsys):
    call_command("create_first_admin", "--password", "s3cret-pw")

    assert "создан администратор 'admin', пароль: как задан" in capsys.readouterr().out
