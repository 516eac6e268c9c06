"""`{% load product_pictures %}`: a product's photos as responsive `<picture>` elements built
from their web renditions (docs/media-and-s3.md)."""
from django import template
from django.utils.html import format_html, format_html_join

from ..models import Product
from ..selectors import ProductPicture, product_pictures

register = template.Library()


@register.filter(name="product_pictures")
def product_pictures_filter(product: Product) -> list[ProductPicture]:
    """`{% for picture in product|product_pictures %}`: main image first, then the gallery."""
    return product_pictures(product=product)


@register.simple_tag
def product_picture(target: Product | ProductPicture, sizes: str = "100vw", alt: str = "", loading: str = "lazy"):
    """`{% product_picture product sizes="(min-width: 800px) 50vw, 100vw" alt=product.name %}`
    (the main image) or `{% product_picture picture %}`: WebP renditions as the `srcset` of a
    `<source>`, the JPEG rendition (or the original photo, when it has none) as the `<img>`
    browsers without WebP show. Empty when the product has no pictures."""
    picture = target if isinstance(target, ProductPicture) else next(iter(product_pictures(product=target)), None)
    if picture is None:
        return ""
    webp, jpeg = picture.renditions_of("webp"), picture.renditions_of("jpeg")
    fallback = jpeg[-1] if jpeg else None
    sources = (
        format_html('<source type="image/webp" srcset="{}" sizes="{}">', _srcset(webp), sizes) if webp else ""
    )
    width, height = (fallback.width, fallback.height) if fallback else (picture.width, picture.height)
    return format_html(
        '<picture>{}<img src="{}"{} alt="{}"{} loading="{}" decoding="async"></picture>',
        sources,
        fallback.url if fallback else picture.url,
        format_html(' srcset="{}" sizes="{}"', _srcset(jpeg), sizes) if len(jpeg) > 1 else "",
        alt,
        format_html(' width="{}" height="{}"', width, height) if width and height else "",
        loading,
    )


def _srcset(renditions) -> str:
    return format_html_join(", ", "{} {}w", ((rendition.url, rendition.width) for rendition in renditions))
