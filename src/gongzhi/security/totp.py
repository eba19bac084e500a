"""TOTP provisioning: the otpauth:// URI and its QR code as inline SVG (no external service)."""

from __future__ import annotations

import pyotp
import qrcode
import qrcode.image.svg
from markupsafe import Markup

ISSUER = "Gongzhi 共治"


def provisioning_uri(secret: str, username: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=username, issuer_name=ISSUER)


def provisioning_svg(uri: str) -> Markup:
    image = qrcode.make(uri, image_factory=qrcode.image.svg.SvgPathImage, box_size=8, border=2)
    svg = image.to_string(encoding="unicode")
    # Drop the XML declaration: the SVG is inlined into an HTML page.
    if svg.startswith("<?xml"):
        svg = svg.split("?>", 1)[1]
    return Markup(svg)  # generated here from our own URI, no user markup in it
