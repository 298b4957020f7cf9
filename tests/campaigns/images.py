"""Image files for the upload tests, made with Pillow in memory: photos with the metadata a
phone writes (EXIF orientation, camera, GPS position), and hostile files."""

from __future__ import annotations

import struct
import zlib
from io import BytesIO

from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import ExifTags, Image, ImageCms
from PIL.PngImagePlugin import PngInfo

RED, BLUE = (220, 20, 20), (20, 20, 220)
SECRETS = (b"SecretCam", b"secret comment", b"secret text")


def two_halves(size: tuple[int, int] = (1200, 800)) -> Image.Image:
    """Red on the left, blue on the right: where each half ends up shows the rotation."""
    image = Image.new("RGB", size, BLUE)
    image.paste(RED, (0, 0, size[0] // 2, size[1]))
    return image


def phone_exif(*, orientation: int = 1) -> Image.Exif:
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = orientation
    exif[ExifTags.Base.Make] = "SecretCam"
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "N"
    gps[ExifTags.GPS.GPSLatitude] = (55.0, 45.0, 21.0)
    gps[ExifTags.GPS.GPSLongitudeRef] = "E"
    gps[ExifTags.GPS.GPSLongitude] = (37.0, 37.0, 4.0)
    return exif


def encoded(image: Image.Image, image_format: str, **params: object) -> bytes:
    buffer = BytesIO()
    image.save(buffer, image_format, **params)
    return buffer.getvalue()


def photo_jpeg(
    *, size: tuple[int, int] = (1200, 800), orientation: int = 1, icc: bool = False
) -> bytes:
    """A JPEG as a phone writes it: EXIF with camera and GPS position, a comment."""
    params: dict[str, object] = {"exif": phone_exif(orientation=orientation)}
    params["comment"] = b"secret comment"
    if icc:
        params["icc_profile"] = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    return encoded(two_halves(size), "JPEG", quality=90, **params)


def png_with_text(*, size: tuple[int, int] = (800, 600), alpha: bool = False) -> bytes:
    info = PngInfo()
    info.add_text("Comment", "secret text")
    image = two_halves(size).convert("RGBA") if alpha else two_halves(size)
    if alpha:
        image.putalpha(0)  # fully transparent: flattened on white
    return encoded(image, "PNG", pnginfo=info, exif=phone_exif())


def webp_with_exif(*, size: tuple[int, int] = (1000, 700)) -> bytes:
    return encoded(two_halves(size), "WEBP", exif=phone_exif())


def animated_gif(*, size: tuple[int, int] = (640, 480)) -> bytes:
    first = Image.new("RGB", size, RED)
    second = Image.new("RGB", size, BLUE)
    return encoded(first, "GIF", save_all=True, append_images=[second], duration=100, loop=0)


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_claiming(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims ``width`` x ``height`` pixels: an image bomb."""
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", zlib.compress(b"\x00" * 1024))
        + _chunk(b"IEND", b"")
    )


def upload(data: bytes, name: str = "photo.jpg", content_type: str = "image/jpeg") -> object:
    return SimpleUploadedFile(name, data, content_type=content_type)
