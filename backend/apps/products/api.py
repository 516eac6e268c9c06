"""The storefront's read-only view of a product's pictures: one documented endpoint."""
from django.http import Http404, JsonResponse
from django.views.decorators.http import require_GET

from .selectors import product_pictures, products_on_storefront


@require_GET
def product_images_view(request, onec_id: str):
    """`GET /api/products/<onec_id>/images/`: the main image first, then the gallery in
    1C's order, then the photos added on the site (`source` "site", 1C's are "1c"), each
    with its URL (as the media storage gives it: absolute with
    AWS_S3_CUSTOM_DOMAIN or an absolute MEDIA_URL) and size in pixels, and its web
    renditions (WebP first, narrowest first; docs/media-and-s3.md); only products on the
    storefront (active in 1C and on the site)."""
    product = products_on_storefront().filter(onec_id=onec_id).first()
    if product is None:
        raise Http404(f"no product with 1C id {onec_id!r} on the storefront")
    return JsonResponse({
        "product": product.onec_id,
        "images": [
            {
                "role": picture.role,
                "source": picture.source,
                "position": picture.position,
                "url": picture.url,
                "width": picture.width,
                "height": picture.height,
                "renditions": [
                    {"format": rendition.format, "width": rendition.width, "height": rendition.height,
                     "url": rendition.url}
                    for rendition in picture.renditions
                ],
            }
            for picture in product_pictures(product=product)
        ],
    })
