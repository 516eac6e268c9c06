"""The users and groups pages say permissions in the site's language: Django's default ones
(stored in English, "Can add product") from their codename's action, the
project's own by their catalogue entry; codenames and stored names stay as they are."""
import re

import pytest
from django.contrib.auth.models import Group, Permission, User
from django.urls import reverse

pytestmark = pytest.mark.django_db


def _options(page: str) -> list[str]:
    """The labels of the permissions selector's options."""
    select = re.search(r'<select name="(?:user_)?permissions".*?</select>', page, re.S).group(0)
    return re.findall(r"<option [^>]*>(.*?)</option>", select)


def test_the_user_and_group_pages_say_permissions_in_russian(client):
    client.force_login(User.objects.create_superuser("admin", password="pw"))
    manager = User.objects.create_user("manager", is_staff=True)

    user_page = client.get(reverse("admin:auth_user_change", args=[manager.pk])).content.decode()
    group_page = client.get(reverse("admin:auth_group_add")).content.decode()

    for options in (_options(user_page), _options(group_page)):
        assert "Товары | товар | добавление" in options
        assert "Товары | товар | просмотр" in options
        assert "Интеграция с 1С | сессия импорта | Может запускать импорт из 1С" in options
        english = [label for label in options if re.search(r"\b[Cc]an (add|change|delete|view|start|run)\b", label)]
        assert not english
    assert Permission.objects.get(codename="add_product").name == "Can add product"  # the data as Django keeps it


def test_the_user_and_group_pages_say_permissions_in_english(client, in_english):
    # `migrate` stores a model's own permission under its name in the language it ran in.
    Permission.objects.filter(codename="start_import").update(name="Может запускать импорт из 1С")
    client.force_login(User.objects.create_superuser("admin", password="pw"))

    options = _options(client.get(reverse("admin:auth_group_add")).content.decode())

    assert "Products | product | can add" in options
    assert "1C integration | import session | Can start imports from 1C" in options


def test_one_who_may_only_view_a_group_reads_its_permissions_in_russian(client):
    viewer = User.objects.create_user("viewer", password="pw", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_group"))
    group = Group.objects.create(name="Контент")
    group.permissions.add(Permission.objects.get(codename="change_product"), Permission.objects.get(codename="start_import"))
    client.force_login(viewer)

    page = client.get(reverse("admin:auth_group_change", args=[group.pk])).content.decode()

    assert "Интеграция с 1С | сессия импорта | Может запускать импорт из 1С<br>Товары | товар | изменение" in page
    assert "Can change" not in page and "Can start" not in page
