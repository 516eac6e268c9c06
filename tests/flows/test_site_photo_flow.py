"""A photo added on the product page, through the real Prefect test server: the upload's
request stores it and asks for a run of `process-site-photo/site-photo`, which accepts a
good photo (renditions made, ready) and refuses a bad one with the reason."""
from __future__ import annotations

import pytest
from django.contrib.messages import get_messages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from prefect.client.orchestration import get_client

from apps.products.models import Product, SitePhoto
from apps.products.selectors import product_pictures
from tests.admin.conftest import flow_runs_of, run_site_photo_runs, site_photo_deployment  # noqa: F401
from tests.conftest import make_image_bytes

# The flow's task closes its database connection when it ends, as in a worker: committed rows.
pytestmark = pytest.mark.django_db(transaction=True)

@pytest.fixture
def product(media_root) -> Product:
    return Product.objects.create(onec_id="7f000000-0000-0000-0000-000000000001", name="Гантель")


def upload(client, product, *files) -> list[str]:
    response = client.post(
        reverse("admin:products_product_site_photo_upload", args=[product.pk]), {"photos": list(files)}
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:products_product_change", args=[product.pk]) + "#site-photos"
    return [str(message) for message in get_messages(response.wsgi_request)]


def test_the_run_the_upload_asked_for_accepts_a_good_photo_and_refuses_a_bad_one(
    admin_client, product, site_photo_deployment, media_root, in_english
):
    damaged = make_image_bytes(size=(400, 300), noise=True)[:500]  # a JPEG header, then nothing decodable
    upload(
        admin_client, product,
        SimpleUploadedFile("lifestyle.jpg", make_image_bytes(size=(900, 600)), content_type="image/jpeg"),
        SimpleUploadedFile("broken.jpg", damaged, content_type="image/jpeg"),
    )

    good, bad = SitePhoto.objects.filter(product=product).order_by("position")
    assert (good.status, bad.status) == ("processing", "processing")
    runs = {run.parameters["photo_id"]: run for run in flow_runs_of(site_photo_deployment)}
    assert {photo_id: run.id for photo_id, run in runs.items()} == {good.pk: good.processing_run_id,
                                                                    bad.pk: bad.processing_run_id}

    states = run_site_photo_runs(site_photo_deployment)

    assert {photo_id: state.type.value for photo_id, state in states.items()} == {good.pk: "COMPLETED", bad.pk: "COMPLETED"}
    good.refresh_from_db()
    bad.refresh_from_db()
    assert (good.status, good.image.width, good.image.height) == ("ready", 900, 600)
    assert [(r["format"], r["width"]) for r in good.image.renditions] == [
        ("webp", 320), ("webp", 800), ("webp", 900), ("jpeg", 800),
    ]
    assert all((media_root / r["name"]).is_file() for r in good.image.renditions)
    assert bad.status == "refused"
    assert bad.refusal_reason.startswith("broken.jpg: the image data is damaged")
    assert [(p.role, p.source, p.source_name) for p in product_pictures(product=product)] == [
        ("main", "site", "lifestyle.jpg")
    ]
    with get_client(sync_client=True) as client:
        assert client.read_flow_run(good.processing_run_id).state.is_completed()


def test_the_request_refuses_what_is_not_a_photo_by_its_first_bytes_and_asks_prefect_for_nothing(
    admin_client, product, site_photo_deployment, media_root, in_english
):
    notes = upload(admin_client, product, SimpleUploadedFile("photo.jpg", b"%PDF-1.7 not a photo", content_type="image/jpeg"))

    assert any("photo.jpg: not a JPEG, PNG or WebP image" in note for note in notes)
    assert not SitePhoto.objects.exists() and not any(media_root.rglob("*.*"))
    assert flow_runs_of(site_photo_deployment) == []


def test_a_photo_prefect_could_not_be_asked_about_waits_and_is_asked_for_again(
    admin_client, product, site_photo_deployment, in_english
):
    with get_client(sync_client=True) as client:
        client.delete_deployment(site_photo_deployment)

    notes = upload(admin_client, product, SimpleUploadedFile("a.png", make_image_bytes(fmt="PNG"), content_type="image/png"))

    photo = SitePhoto.objects.get()
    assert (photo.status, photo.processing_run_id) == ("processing", None)
    assert any("Prefect could not be asked to process it" in note and "does not exist" in note for note in notes)

    with get_client(sync_client=True) as client:
        from flows.site_photos import process_site_photo

        deployment_id = client.create_deployment(flow_id=client.create_flow(process_site_photo), name="site-photo")
    upload(admin_client, product)  # «Ask Prefect again»: no files

    photo.refresh_from_db()
    assert photo.processing_run_id is not None
    assert run_site_photo_runs(deployment_id)[photo.pk].is_completed()
    photo.refresh_from_db()
    assert photo.status == "ready"
