"""Campaigns' hero images: what is stored from an upload, what is refused, who may do it."""

from __future__ import annotations

from io import BytesIO
from pathlib import Path
from unittest import mock

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from campaigns.access import NotAllowed, NotAMember
from campaigns.models import AuditEntry, Campaign
from campaigns.services import media
from campaigns.services.media import hero_alt_set, hero_image_clear, hero_image_set
from tests.campaigns.images import (
    SECRETS,
    animated_gif,
    encoded,
    photo_jpeg,
    png_claiming,
    png_with_text,
    two_halves,
    upload,
    webp_with_exif,
)
from tests.factories import (
    campaign_create,
    member_create,
    tasks_run_on_commit,
    workspace_login,
)
from tests.html import elements

pytestmark = pytest.mark.django_db

ALT = "Protesters holding portraits outside the court"


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path) -> Path:
    root = tmp_path / "media"
    settings.MEDIA_ROOT = root
    return root


@pytest.fixture
def member():
    return member_create(role="campaigner")


@pytest.fixture
def campaign(member) -> Campaign:
    return campaign_create(organisation=member.organisation, title="Free them all")


def stored_files(root: Path) -> list[str]:
    return sorted(str(path.relative_to(root)) for path in root.rglob("*") if path.is_file())


def rgb_at(image: Image.Image, x: int, y: int) -> tuple[int, int, int]:
    red, green, blue = image.convert("RGB").getpixel((x, y))  # type: ignore[misc] # an RGB pixel is a tuple
    return red, green, blue


def opened(root: Path, name: str) -> Image.Image:
    image = Image.open(BytesIO((root / name).read_bytes()))
    image.load()
    return image


def set_hero(member, campaign, data: bytes, name: str = "photo.jpg") -> Campaign:
    with tasks_run_on_commit():
        return hero_image_set(
            actor=member.user, campaign=campaign, upload=upload(data, name), alt=ALT
        )


def refusal_code(member, campaign, data: bytes, name: str = "photo.jpg") -> str:
    with pytest.raises(ValidationError) as caught:
        hero_image_set(actor=member.user, campaign=campaign, upload=upload(data, name), alt=ALT)
    return str(caught.value.code)


def hero_url(campaign: Campaign) -> str:
    return f"/workspace/{campaign.organisation.slug}/campaigns/{campaign.public_id}/hero/"


# --- What is stored -----------------------------------------------------------------------


def test_a_photo_is_stored_as_jpeg_and_webp_at_each_width_up_to_its_own(
    member, campaign, media_root
):
    set_hero(member, campaign, photo_jpeg(size=(1200, 800)))

    campaign.refresh_from_db()
    renditions = campaign.hero_image["renditions"]
    assert [r["width"] for r in renditions] == [480, 960, 1200]  # never wider than sent
    assert (campaign.hero_image["width"], campaign.hero_image["height"]) == (1200, 800)
    assert campaign.hero_alt == ALT
    for rendition in renditions:
        jpeg, webp = opened(media_root, rendition["jpeg"]), opened(media_root, rendition["webp"])
        assert (jpeg.format, webp.format) == ("JPEG", "WEBP")
        assert jpeg.size == webp.size == (rendition["width"], rendition["height"])
        assert jpeg.mode == webp.mode == "RGB"
    assert len(stored_files(media_root)) == 6


def test_a_large_photo_is_stored_at_480_960_and_1600_pixels_wide(member, campaign):
    set_hero(member, campaign, photo_jpeg(size=(4000, 3000)))

    campaign.refresh_from_db()
    assert [(r["width"], r["height"]) for r in campaign.hero_image["renditions"]] == [
        (480, 360),
        (960, 720),
        (1600, 1200),
    ]


def test_the_files_have_random_names_that_say_nothing_of_the_upload(member, campaign):
    set_hero(member, campaign, photo_jpeg(), name="secret-protest-plan.jpg")

    campaign.refresh_from_db()
    for rendition in campaign.hero_image["renditions"]:
        for path in (rendition["jpeg"], rendition["webp"]):
            assert path.startswith("heroes/")
            assert "secret" not in path
            assert campaign.slug not in path


@pytest.mark.parametrize(
    ("make", "name"),
    [
        (lambda: photo_jpeg(icc=True), "photo.jpg"),
        (png_with_text, "photo.png"),
        (webp_with_exif, "photo.webp"),
    ],
    ids=["jpeg", "png", "webp"],
)
def test_no_exif_gps_position_comment_or_profile_survives(member, campaign, media_root, make, name):
    data = make()
    assert Image.open(BytesIO(data)).getexif()  # the upload does carry EXIF

    set_hero(member, campaign, data, name=name)

    for path in stored_files(media_root):
        raw = (media_root / path).read_bytes()
        image = opened(media_root, path)
        assert not image.getexif(), path
        assert not image.getexif().get_ifd(0x8825), path  # GPS
        for key in ("exif", "icc_profile", "comment", "xmp"):
            assert key not in image.info, (path, key)
        assert b"Exif\x00\x00" not in raw, path
        for secret in SECRETS:
            assert secret not in raw, (path, secret)


def test_the_exif_orientation_is_applied_so_the_photo_stands_upright(member, campaign, media_root):
    # Orientation 6: the camera was turned; shown upright, the left (red) half is on top.
    set_hero(member, campaign, photo_jpeg(size=(1200, 800), orientation=6))

    campaign.refresh_from_db()
    assert (campaign.hero_image["width"], campaign.hero_image["height"]) == (800, 1200)
    largest = opened(media_root, campaign.hero_image["renditions"][-1]["jpeg"])
    top, bottom = rgb_at(largest, 400, 100), rgb_at(largest, 400, 1100)
    assert top[0] > 180 and top[2] < 80  # red
    assert bottom[2] > 180 and bottom[0] < 80  # blue


def test_a_transparent_png_is_flattened_on_white(member, campaign, media_root):
    set_hero(member, campaign, png_with_text(alpha=True), name="logo.png")

    campaign.refresh_from_db()
    image = opened(media_root, campaign.hero_image["renditions"][0]["jpeg"])
    assert all(channel > 245 for channel in rgb_at(image, 10, 10))


def test_an_animated_gif_is_stored_as_its_first_frame(member, campaign, media_root):
    set_hero(member, campaign, animated_gif(), name="moving.gif")

    campaign.refresh_from_db()
    image = opened(media_root, campaign.hero_image["renditions"][-1]["webp"])
    red, _green, blue = rgb_at(image, 10, 10)
    assert red > 180 and blue < 80


def test_the_format_is_read_from_the_content_not_the_name(member, campaign):
    set_hero(member, campaign, encoded(two_halves(), "PNG"), name="photo.jpg")

    campaign.refresh_from_db()
    assert campaign.hero_image


# --- What is refused ----------------------------------------------------------------------


def test_a_text_file_named_jpg_is_refused(member, campaign, media_root):
    code = refusal_code(member, campaign, b"This is not a picture at all.\n" * 40)

    assert code == "not_an_image"
    assert stored_files(media_root) == []


@pytest.mark.parametrize("image_format", ["BMP", "TIFF"])
def test_images_in_other_formats_are_refused(member, campaign, image_format):
    data = encoded(two_halves(), image_format)

    assert refusal_code(member, campaign, data, name="photo.jpg") == "not_an_image"


def test_a_truncated_image_is_refused_as_broken(member, campaign, media_root):
    data = photo_jpeg(size=(1600, 1200))

    assert refusal_code(member, campaign, data[: len(data) // 2]) == "broken"
    assert stored_files(media_root) == []


@pytest.mark.parametrize(
    ("width", "height"),
    [(50_000, 50_000), (10_000, 10_000)],
    ids=["over-pillows-error-limit", "over-pillows-warning-limit"],
)
def test_an_image_bomb_is_refused_unread(member, campaign, media_root, width, height):
    # Billions of pixels (or a hundred million) claimed by a file of a few hundred bytes.
    data = png_claiming(width, height)
    assert len(data) < 1000

    assert refusal_code(member, campaign, data, name="bomb.png") == "too_many_pixels"
    assert stored_files(media_root) == []


def test_an_image_over_our_pixel_limit_is_refused_before_it_is_decoded(member, campaign):
    # 48 megapixels: under Pillow's own limit, over ours (16).
    with mock.patch.object(Image.Image, "load", side_effect=AssertionError("decoded")):
        code = refusal_code(member, campaign, png_claiming(8000, 6000), name="big.png")

    assert code == "too_many_pixels"


def test_a_file_over_the_size_limit_is_refused_before_it_is_read(member, campaign, settings):
    settings.HERO_MAX_BYTES = 1000
    with mock.patch.object(media.Image, "open", side_effect=AssertionError("read")):
        code = refusal_code(member, campaign, photo_jpeg())

    assert code == "too_large"


def test_an_empty_file_is_refused(member, campaign):
    assert refusal_code(member, campaign, b"") == "empty"


def test_an_image_too_narrow_for_a_phone_is_refused(member, campaign):
    assert refusal_code(member, campaign, photo_jpeg(size=(300, 200))) == "too_small"


def test_a_strip_is_refused(member, campaign):
    assert refusal_code(member, campaign, photo_jpeg(size=(2000, 400))) == "bad_shape"


@pytest.mark.parametrize("alt", ["", "   ", "x" * 301])
def test_an_image_needs_a_short_description(member, campaign, media_root, alt):
    with pytest.raises(ValidationError):
        hero_image_set(actor=member.user, campaign=campaign, upload=upload(photo_jpeg()), alt=alt)

    assert stored_files(media_root) == []


# --- Replacing, describing, removing ------------------------------------------------------


def test_replacing_the_image_deletes_the_old_files_once_committed(member, campaign, media_root):
    set_hero(member, campaign, photo_jpeg())
    first = stored_files(media_root)

    set_hero(member, campaign, png_with_text(), name="new.png")

    campaign.refresh_from_db()
    now = stored_files(media_root)
    assert len(now) == 4  # 800 pixels wide: 480 and 800, each as JPEG and WebP
    assert not set(first) & set(now)
    assert (
        sorted(path for r in campaign.hero_image["renditions"] for path in (r["jpeg"], r["webp"]))
        == now
    )


def test_a_failed_save_deletes_the_new_files_and_keeps_the_old(member, campaign, media_root):
    set_hero(member, campaign, photo_jpeg())
    before = stored_files(media_root)

    with (
        mock.patch.object(media, "audit_record", side_effect=RuntimeError("database gone")),
        pytest.raises(RuntimeError),
    ):
        set_hero(member, campaign, photo_jpeg())

    assert stored_files(media_root) == before
    campaign.refresh_from_db()
    assert len(campaign.hero_image["renditions"]) == 3


def test_removing_the_image_deletes_its_files_and_can_be_repeated(member, campaign, media_root):
    set_hero(member, campaign, photo_jpeg())

    with tasks_run_on_commit():
        hero_image_clear(actor=member.user, campaign=campaign)
    hero_image_clear(actor=member.user, campaign=campaign)

    campaign.refresh_from_db()
    assert campaign.hero_image == {}
    assert campaign.hero_alt == ""
    assert stored_files(media_root) == []


def test_the_description_can_change_alone(member, campaign, media_root):
    set_hero(member, campaign, photo_jpeg())
    files = stored_files(media_root)

    hero_alt_set(actor=member.user, campaign=campaign, alt="  A crowd\nin the rain  ")

    campaign.refresh_from_db()
    assert campaign.hero_alt == "A crowd in the rain"
    assert stored_files(media_root) == files


def test_every_change_is_in_the_audit_log(member, campaign):
    set_hero(member, campaign, photo_jpeg())
    hero_alt_set(actor=member.user, campaign=campaign, alt="A crowd")
    hero_image_clear(actor=member.user, campaign=campaign)

    entries = AuditEntry.objects.filter(action=AuditEntry.Action.CAMPAIGN_HERO).order_by("id")
    assert [entry.details["change"] for entry in entries] == ["set", "description", "removed"]
    assert {entry.target for entry in entries} == {"Free them all"}


# --- Who may ------------------------------------------------------------------------------


def test_a_viewer_cannot_set_an_image_and_nothing_is_stored(campaign, media_root):
    viewer = member_create(organisation=campaign.organisation, role="viewer")

    with pytest.raises(NotAllowed):
        set_hero(viewer, campaign, photo_jpeg())

    assert stored_files(media_root) == []


def test_a_member_of_another_organisation_cannot_touch_the_image(member, campaign, media_root):
    set_hero(member, campaign, photo_jpeg())
    outsider = member_create(role="owner")

    with pytest.raises(NotAMember):
        hero_image_clear(actor=outsider.user, campaign=campaign)

    assert len(stored_files(media_root)) == 6


# --- Through the workspace ----------------------------------------------------------------


def post_hero(client, campaign, **data):
    with tasks_run_on_commit():
        return client.post(hero_url(campaign), data)


def test_a_campaigner_uploads_an_image_and_the_campaign_page_shows_it(client, member, campaign):
    workspace_login(client, member.user, verified=False)

    response = post_hero(
        client, campaign, image=upload(photo_jpeg(size=(2000, 1200))), hero_alt=ALT
    )

    assert response.status_code == 302
    assert response["Location"] == hero_url(campaign)
    assert "The image was saved." in client.get(hero_url(campaign)).content.decode()
    page = client.get(f"/c/{campaign.slug}/").content.decode()
    [image] = elements(page, "img", alt=ALT)
    assert image["width"] == "1600" and image["height"] == "960"
    assert image["loading"] == "eager"
    assert image["sizes"]
    assert [part.split()[-1] for part in image["srcset"].split(", ")] == ["480w", "960w", "1600w"]
    [source] = elements(page, "source", type="image/webp")
    assert source["srcset"].count(".webp") == 3
    served = client.get(image["src"])
    assert served.status_code == 200
    assert served["Content-Type"] == "image/jpeg"


def test_the_upload_form_is_labelled_and_accepts_images_only(client, member, campaign):
    workspace_login(client, member.user, verified=False)

    page = client.get(hero_url(campaign)).content.decode()

    [field] = elements(page, "input", type="file")
    assert field["accept"] == "image/jpeg,image/png,image/webp,image/gif"
    assert elements(page, "label", **{"for": field["id"]})
    assert elements(page, "form", enctype="multipart/form-data")


def test_a_20_mb_upload_gets_a_clear_field_error_and_nothing_changes(
    client, member, campaign, media_root
):
    set_hero(member, campaign, photo_jpeg())
    before, files = Campaign.objects.get(pk=campaign.pk).hero_image, stored_files(media_root)
    workspace_login(client, member.user, verified=False)
    big = SimpleUploadedFile("huge.jpg", b"\xff" * (20 * 1024 * 1024), content_type="image/jpeg")

    response = post_hero(client, campaign, image=big, hero_alt="Another picture")

    assert response.status_code == 422
    page = response.content.decode()
    assert "This file is too large. Upload an image of at most 8.0\xa0MB." in page
    [field] = elements(page, "input", type="file")
    assert field["aria-invalid"] == "true"
    assert f"{field['id']}_error" in field["aria-describedby"]
    assert elements(page, "input", name="hero_alt", value="Another picture")  # input kept
    assert Campaign.objects.get(pk=campaign.pk).hero_image == before
    assert stored_files(media_root) == files


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (png_claiming(50_000, 50_000), "This image has too many pixels: at most 16 megapixels"),
        (b"<script>alert(1)</script>", "This file is not an image we can use."),
    ],
    ids=["bomb", "not-an-image"],
)
def test_a_refused_upload_says_why_on_the_field(
    client, member, campaign, media_root, data, message
):
    workspace_login(client, member.user, verified=False)

    response = post_hero(client, campaign, image=upload(data, "x.png"), hero_alt=ALT)

    assert response.status_code == 422
    assert message in response.content.decode()
    assert stored_files(media_root) == []


def test_an_image_without_a_description_is_not_stored(client, member, campaign, media_root):
    workspace_login(client, member.user, verified=False)

    response = post_hero(client, campaign, image=upload(photo_jpeg()), hero_alt="")

    assert response.status_code == 422
    assert "Describe the image for people who cannot see it" in response.content.decode()
    assert stored_files(media_root) == []


def test_removing_through_the_workspace(client, member, campaign, media_root):
    set_hero(member, campaign, photo_jpeg())
    workspace_login(client, member.user, verified=False)

    response = post_hero(client, campaign, remove="on", hero_alt=ALT)

    assert response.status_code == 302
    assert stored_files(media_root) == []
    assert not elements(client.get(f"/c/{campaign.slug}/").content.decode(), "picture")


def test_asking_to_remove_and_upload_at_once_is_refused(client, member, campaign, media_root):
    set_hero(member, campaign, photo_jpeg())
    files = stored_files(media_root)
    workspace_login(client, member.user, verified=False)

    response = post_hero(client, campaign, remove="on", image=upload(photo_jpeg()), hero_alt=ALT)

    assert response.status_code == 422
    assert "not both" in response.content.decode()
    assert stored_files(media_root) == files


def test_a_viewer_gets_403_and_nothing_changes(client, campaign, media_root):
    viewer = member_create(organisation=campaign.organisation, role="viewer")
    workspace_login(client, viewer.user, verified=False)

    response = post_hero(client, campaign, image=upload(photo_jpeg()), hero_alt=ALT)

    assert response.status_code == 403
    assert stored_files(media_root) == []


def test_another_organisations_campaign_answers_404(client, campaign, media_root):
    outsider = member_create(role="campaigner")
    workspace_login(client, outsider.user, verified=False)
    # Its own organisation's slug, someone else's campaign id.
    url = f"/workspace/{outsider.organisation.slug}/campaigns/{campaign.public_id}/hero/"

    assert client.get(url).status_code == 404
    with tasks_run_on_commit():
        response = client.post(url, {"image": upload(photo_jpeg()), "hero_alt": ALT})
    assert response.status_code == 404
    assert client.get(hero_url(campaign)).status_code == 404
    assert stored_files(media_root) == []


# --- In the campaign editor ---------------------------------------------------------------


def editor_form(**overrides):
    data = {
        "title": "Free them all",
        "slug": "",
        "summary": "Political prisoners must go free.",
        "body": "The story.",
        "language": "en",
        "retention_days": "180",
    }
    data.update(overrides)
    return data


def test_a_new_campaign_is_saved_with_its_image(client, member, media_root):
    workspace_login(client, member.user, verified=False)
    url = f"/workspace/{member.organisation.slug}/campaigns/new/"

    with tasks_run_on_commit():
        response = client.post(
            url,
            editor_form(**{"hero-image": upload(photo_jpeg()), "hero-hero_alt": ALT}),
        )

    assert response.status_code == 302
    campaign = Campaign.objects.get(organisation=member.organisation)
    assert campaign.hero_alt == ALT
    assert len(campaign.hero_image["renditions"]) == 3
    assert len(stored_files(media_root)) == 6


def test_the_editor_saves_texts_without_an_image(client, member, media_root):
    workspace_login(client, member.user, verified=False)
    url = f"/workspace/{member.organisation.slug}/campaigns/new/"

    response = client.post(url, editor_form())

    assert response.status_code == 302
    assert Campaign.objects.get(organisation=member.organisation).hero_image == {}
    assert stored_files(media_root) == []


def test_a_refused_image_in_the_editor_saves_nothing_not_even_the_texts(
    client, member, campaign, media_root
):
    workspace_login(client, member.user, verified=False)
    url = f"/workspace/{member.organisation.slug}/campaigns/{campaign.public_id}/edit/"
    big = SimpleUploadedFile("huge.jpg", b"\xff" * (20 * 1024 * 1024), content_type="image/jpeg")

    response = client.post(
        url,
        editor_form(title="A changed title", **{"hero-image": big, "hero-hero_alt": ALT}),
    )

    assert response.status_code == 400
    page = response.content.decode()
    assert "This file is too large." in page
    [field] = elements(page, "input", type="file")
    assert field["aria-invalid"] == "true"
    assert elements(page, "a", href=f"#{field['id']}")  # in the error summary
    assert elements(page, "input", name="title", value="A changed title")
    campaign.refresh_from_db()
    assert campaign.title == "Free them all"
    assert stored_files(media_root) == []


def test_the_editor_describes_and_removes_the_current_image(client, member, campaign, media_root):
    set_hero(member, campaign, photo_jpeg())
    workspace_login(client, member.user, verified=False)
    url = f"/workspace/{member.organisation.slug}/campaigns/{campaign.public_id}/edit/"

    page = client.get(url).content.decode()
    assert elements(page, "input", name="hero-hero_alt", value=ALT)
    assert elements(page, "img", alt=ALT)

    client.post(url, editor_form(**{"hero-hero_alt": "A crowd in the rain"}))
    campaign.refresh_from_db()
    assert campaign.hero_alt == "A crowd in the rain"
    assert len(stored_files(media_root)) == 6

    with tasks_run_on_commit():
        client.post(url, editor_form(**{"hero-remove": "on"}))
    campaign.refresh_from_db()
    assert campaign.hero_image == {}
    assert stored_files(media_root) == []


def test_a_description_without_an_image_is_refused_in_the_editor(client, member):
    workspace_login(client, member.user, verified=False)
    url = f"/workspace/{member.organisation.slug}/campaigns/new/"

    response = client.post(url, editor_form(**{"hero-hero_alt": ALT}))

    assert response.status_code == 400
    assert "Choose an image to upload." in response.content.decode()
    assert not Campaign.objects.filter(organisation=member.organisation).exists()


def test_the_campaign_overview_links_to_the_image_page(client, member, campaign):
    workspace_login(client, member.user, verified=False)

    page = client.get(
        f"/workspace/{member.organisation.slug}/campaigns/{campaign.public_id}/"
    ).content.decode()

    assert elements(page, "a", href=hero_url(campaign))


def test_the_default_pixel_limit_is_16_megapixels(member, campaign, settings):
    from django.conf import settings as django_settings

    assert django_settings.HERO_MAX_PIXELS == 16_000_000
    # 4000 x 4001 is just over it: refused before it is decoded.
    with mock.patch.object(Image.Image, "load", side_effect=AssertionError("decoded")):
        code = refusal_code(member, campaign, png_claiming(4000, 4001), name="big.png")
    assert code == "too_many_pixels"


def test_a_large_image_is_reduced_before_it_is_converted(settings):
    from django.core.files.uploadedfile import SimpleUploadedFile

    buffer = BytesIO()
    Image.new("RGBA", (4000, 3600), (10, 20, 30, 128)).save(buffer, "PNG")
    upload = SimpleUploadedFile("big.png", buffer.getvalue())
    sizes: list[tuple[int, int]] = []
    flatten = media._flatten

    def flatten_spy(image: Image.Image) -> Image.Image:
        sizes.append(image.size)
        return flatten(image)

    with mock.patch.object(media, "_flatten", flatten_spy):
        source = media.hero_image_read(upload=upload)

    assert sizes == [(2000, 1800)]  # halved: both sides still over the largest copy
    assert source.image.size == (2000, 1800) and source.image.mode == "RGB"
