"""Email renditions: light JPEG or PNG copies of the site's heavy, wide or WebP images, written
into the site's static/ so the next deploy publishes them, and the weight of each email's images.

The real Techwerkers site (copied into a temporary workspace: a build writes into its static/)
and images made here with Pillow; real Hugo says where the renditions are published.
"""

from __future__ import annotations

import io
import json
import os
import re
import resource
import shutil
import signal
import subprocess
import sys
import zlib
from pathlib import Path

import pytest
from PIL import ExifTags, Image, ImageCms, ImageStat

from postduif.build import BuildFailed, BuildResult, build_campaign
from postduif.errors import ConfigError
from postduif.workspace import Workspace

from .conftest import CORPUS, REPO
from .hugo_support import build_site, missing_urls, published_file
from .images_support import (
    adobe_rgb_profile,
    jpeg_segments,
    jpeg_size,
    png_chunks,
    png_size,
    write_png,
)

BASE = "https://www.techwerkers.nl/"
CAMPAIGNS = {"music": "posts/music-as-art", "feb": "posts/2026-feb"}
BUDGET = 200 * 1024
_SRC = re.compile(r'<img\b[^>]*?\bsrc="([^"]*)"[^>]*>')
_ATTR = re.compile(r'\b(width|height)="(\d+)"')
#: JPEG markers that carry metadata: APP1 (EXIF, XMP), APP2 (ICC profile), APP13 (IPTC), COM.
METADATA_MARKERS = {0xE1, 0xE2, 0xED, 0xFE}
#: PNG chunks that carry metadata: EXIF, text (XMP, comments), an ICC profile, a time.
METADATA_CHUNKS = {b"eXIf", b"iTXt", b"tEXt", b"zTXt", b"iCCP", b"tIME"}


@pytest.fixture
def site_ws(tmp_path: Path) -> Path:
    """A workspace beside a writable copy of the real Techwerkers site, with a campaign for
    the posts music-as-art and 2026-feb."""
    root = tmp_path / "ws"
    shutil.copytree(CORPUS / "techwerkers", root / "site")
    for path in (root / "site", *(root / "site").rglob("*")):
        path.chmod(path.stat().st_mode | 0o200)  # the corpus is read-only
    (root / "campaigns").mkdir()
    for name, page in CAMPAIGNS.items():
        (root / "campaigns" / f"{name}.toml").write_text(
            f'page = "{page}"\nlist = "nieuwsbrief"\n', encoding="utf-8")
    settings(root)
    return root


def settings(root: Path, images: str = "") -> None:
    (root / "postduif.toml").write_text(
        f'[site]\npath = "site"\n[paths]\ntemplates = "{REPO / "templates"}"\n'
        f'lists = "{REPO / "lists"}"\n[sender]\nname = "Techwerkers"\n'
        f'email = "nieuwsbrief@techwerkers.nl"\n{images}', encoding="utf-8")


def build(root: Path, name: str) -> BuildResult:
    """A build as a new process would do it (nothing kept in memory from the last one)."""
    return build_campaign(Workspace.open(root), name)


def run(root: Path, *args: str, **kwargs: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "postduif", *args], cwd=root,
                          capture_output=True, text=True, timeout=120, check=False,
                          **kwargs)  # type: ignore[call-overload]


def img_tags(result: BuildResult, key: str) -> list[str]:
    html = (result.directory / f"{key}.html").read_text(encoding="utf-8")
    return [found.group(0) for found in _SRC.finditer(html)]


def srcs(result: BuildResult, key: str) -> list[str]:
    return [_SRC.match(tag).group(1) for tag in img_tags(result, key)]  # type: ignore[union-attr]


def pixel_size(path: Path) -> tuple[int, int]:
    return jpeg_size(path) if path.suffix == ".jpg" else png_size(path)


def assert_no_metadata(path: Path) -> None:
    if path.suffix == ".jpg":
        assert {marker for marker, _ in jpeg_segments(path)} & METADATA_MARKERS == set(), path
    else:
        assert set(png_chunks(path)) & METADATA_CHUNKS == set(), path
    with Image.open(path) as image:
        assert not image.getexif() and "icc_profile" not in image.info, path


def add_image(root: Path, post: str, name: str, alt: str) -> list[Path]:
    """``![alt](name)`` at the end of both languages of ``post``; the page files."""
    pages = sorted((root / "site" / "content" / post).glob("index.*.md"))
    for page in pages:
        with page.open("a", encoding="utf-8") as stream:
            stream.write(f"\n\n![{alt}]({name})\n")
    return pages


def noisy(size: tuple[int, int], colour: tuple[int, ...], sigma: float = 24) -> Image.Image:
    """A photograph's worth of detail: ``colour`` with Gaussian noise in every channel."""
    bands = [Image.effect_noise(size, sigma).point(lambda v, c=c: v - 128 + c)
             for c in colour]
    return Image.merge("RGBA" if len(colour) == 4 else "RGB", bands)


def test_real_heavy_and_wide_images_are_linked_as_renditions(site_ws: Path) -> None:
    result = build(site_ws, "music")
    bundle = site_ws / "site" / "content" / "posts" / "music-as-art"
    # feature.png is 1,920 px, spotify.png 327 KB, agency-en.png 1,101 px; agency-nl.png (871
    # px, 46 KB) is fine as it is.
    assert {r.source for r in result.renditions} == {
        bundle / name for name in ("feature.png", "spotify.png", "agency-en.png")}
    for rendition in result.renditions:
        assert rendition.url == BASE + "email/" + rendition.file.name
        assert rendition.file.parent == site_ws / "site" / "static" / "email"
        assert pixel_size(rendition.file)[0] <= 1088
        assert rendition.file.stat().st_size <= BUDGET
        assert rendition.file.stat().st_size < rendition.source.stat().st_size
        assert_no_metadata(rendition.file)
    for key in ("nl", "en"):
        shown = srcs(result, key)
        assert not [src for src in shown if src.endswith(("/feature.png", "/spotify.png"))]
        assert sum(src.startswith(BASE + "email/") for src in shown) == {"nl": 2, "en": 3}[key]
    assert any(src.endswith("/agency-nl.png") for src in srcs(result, "nl"))


def test_real_hugo_publishes_the_renditions_at_the_urls_the_emails_use(
        site_ws: Path, tmp_path: Path) -> None:
    results = [build(site_ws, name) for name in CAMPAIGNS]
    public = build_site(site_ws / "site", tmp_path / "public")
    used = [src for result in results for key in ("nl", "en") for src in srcs(result, key)
            if src.startswith(BASE + "email/")]
    assert len(set(used)) == 4  # music: three; feb: its feature.png
    assert missing_urls(public, BASE, used) == []
    for result in results:
        for rendition in result.renditions:
            published = published_file(public, BASE, rendition.url)
            assert published is not None
            assert published.read_bytes() == rendition.file.read_bytes()


def test_a_rendition_is_reused_and_a_changed_image_gets_a_new_one(site_ws: Path) -> None:
    first = build(site_ws, "music")
    stats = {r.file: (r.file.stat().st_ino, r.file.stat().st_mtime_ns) for r in first.renditions}
    second = build(site_ws, "music")
    assert second.renditions == first.renditions
    assert {r.file: (r.file.stat().st_ino, r.file.stat().st_mtime_ns)
            for r in second.renditions} == stats
    feature = site_ws / "site" / "content" / "posts" / "music-as-art" / "feature.png"
    with Image.open(feature) as image:
        changed = image.convert("RGB")
    changed.putpixel((0, 0), (255, 0, 0))
    changed.save(feature)
    third = build(site_ws, "music")
    [old] = [r for r in first.renditions if r.source == feature]
    [new] = [r for r in third.renditions if r.source == feature]
    assert new.file != old.file and old.file.is_file()  # a mail already sent still links it
    assert new.url in srcs(third, "nl") and old.url not in srcs(third, "nl")


def test_a_webp_image_is_sent_as_jpeg_or_png(site_ws: Path) -> None:
    bundle = site_ws / "site" / "content" / "posts" / "2026-feb"
    noisy((800, 400), (200, 120, 40)).save(bundle / "flyer.webp", "WEBP")
    add_image(site_ws, "posts/2026-feb", "flyer.webp", "Flyer")
    result = build(site_ws, "feb")
    [rendition] = [r for r in result.renditions if r.source.name == "flyer.webp"]
    assert rendition.file.suffix in (".jpg", ".png")
    assert pixel_size(rendition.file) == (800, 400)  # narrow enough: only the format changes
    assert "WEBP" in " ".join(rendition.reasons)
    for key in ("nl", "en"):
        assert rendition.url in srcs(result, key)
        assert not [src for src in srcs(result, key) if src.endswith(".webp")]
    assert not [p for p in result.problems if "webp" in p.message.lower()]


def photo(path: Path) -> tuple[float, ...]:
    """A 2,400 x 1,600 JPEG lying on its side (EXIF orientation 6: turn it 90 degrees right),
    with a GPS position, an XMP packet, a comment and an Adobe RGB profile; the sRGB colour
    its mean Adobe RGB colour is, by LittleCMS."""
    colour = (60, 180, 60)
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = 6
    exif[ExifTags.Base.Make] = "Camera"
    exif[ExifTags.IFD.GPSInfo] = {ExifTags.GPS.GPSLatitudeRef: "N",
                                  ExifTags.GPS.GPSLatitude: (52.0, 22.0, 8.0)}
    xmp = b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF/></x:xmpmeta>'
    noisy((2400, 1600), colour, 12).save(path, "JPEG", quality=95, exif=exif.tobytes(),
                                         icc_profile=adobe_rgb_profile(), xmp=xmp,
                                         comment=b"shot at home")
    assert {0xE1, 0xE2, 0xFE} <= {marker for marker, _ in jpeg_segments(path)}
    with Image.open(path) as written:
        assert written.getexif().get_ifd(ExifTags.IFD.GPSInfo)  # the position is in there
    adobe = ImageCms.ImageCmsProfile(io.BytesIO(adobe_rgb_profile()))
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))
    expected = ImageCms.profileToProfile(Image.new("RGB", (1, 1), colour), adobe, srgb)
    assert expected is not None
    return tuple(float(v) for v in expected.getpixel((0, 0)))  # type: ignore[union-attr]


def test_a_photo_loses_its_metadata_stands_upright_and_is_converted_to_srgb(
        site_ws: Path) -> None:
    bundle = site_ws / "site" / "content" / "posts" / "2026-feb"
    expected = photo(bundle / "foto.jpg")
    add_image(site_ws, "posts/2026-feb", "foto.jpg", "Foto")
    result = build(site_ws, "feb")
    [rendition] = [r for r in result.renditions if r.source.name == "foto.jpg"]
    assert rendition.file.suffix == ".jpg"  # a photograph
    assert_no_metadata(rendition.file)
    width, height = jpeg_size(rendition.file)
    assert (width, height) == (1088, 1632)  # upright: 1,600 x 2,400 scaled to 2x the column
    assert rendition.file.stat().st_size <= BUDGET
    with Image.open(rendition.file) as shown:
        mean = ImageStat.Stat(shown.convert("RGB")).mean
    assert all(abs(m - e) <= 4 for m, e in zip(mean, expected, strict=True)), (mean, expected)
    assert abs(mean[0] - 60) > 30  # not the Adobe RGB numbers shown as sRGB
    [tag] = [tag for tag in img_tags(result, "nl") if rendition.url in tag]
    assert dict(_ATTR.findall(tag)) == {"width": "544", "height": "816"}


def test_flat_and_transparent_graphics_become_png(site_ws: Path) -> None:
    bundle = site_ws / "site" / "content" / "posts" / "2026-feb"
    sticker = noisy((2000, 1000), (40, 90, 200, 255))
    sticker.paste((0, 0, 0, 0), (0, 0, 1000, 1000))  # the left half transparent
    sticker.save(bundle / "sticker.png")
    add_image(site_ws, "posts/2026-feb", "sticker.png", "Sticker")
    result = build(site_ws, "feb")
    found = {r.source.name: r for r in result.renditions}
    # feature.png: a 1,200 px graphic of 25 colours (a palette PNG): PNG, lighter than it was
    assert found["feature.png"].file.suffix == ".png"
    assert found["feature.png"].size < (bundle / "feature.png").stat().st_size
    assert found["sticker.png"].file.suffix == ".png"
    with Image.open(found["sticker.png"].file) as image:
        alpha = image.convert("RGBA").getchannel("A")
    assert image.width == 1088 and alpha.getextrema() == (0, 255)
    for rendition in found.values():
        assert_no_metadata(rendition.file)


def test_check_only_reads_and_says_what_is_not_made_yet(site_ws: Path) -> None:
    folder = site_ws / "site" / "static" / "email"
    checked = run(site_ws, "check", "music")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "music nl: images" in checked.stdout and "2 not made yet" in checked.stdout
    assert not folder.exists()
    built = run(site_ws, "build", "music")
    assert built.returncode == 0, built.stdout + built.stderr
    assert "3 email rendition(s) in site/static/email" in " ".join(built.stdout.split())
    assert len(list(folder.iterdir())) == 3
    again = run(site_ws, "check", "music")
    assert "music en: images" in again.stdout and "not made yet" not in again.stdout


def test_image_weight_is_reported_and_over_the_limit_names_the_heaviest(
        site_ws: Path) -> None:
    settings(site_ws, "[images]\nmax_total_kb = 100\n")
    add_image(site_ws, "posts/music-as-art", "https://cdn.example.net/remote.png", "Remote")
    result = build(site_ws, "music")
    bundle = site_ws / "site" / "content" / "posts" / "music-as-art"
    for variant in result.variants:
        files = []
        for src in dict.fromkeys(srcs(result, variant.key)):
            if src.startswith(BASE + "email/"):
                files.append(site_ws / "site" / "static" / "email" / src.rsplit("/", 1)[1])
            elif src.startswith(BASE):
                files.append(bundle / src.rsplit("/", 1)[1])
        total = sum(file.stat().st_size for file in files)
        assert variant.images.total == total > 100 * 1024
        assert variant.images.remote == 1 and "1 on other hosts not weighed" in \
            variant.images.summary()
    warnings = {p.message for p in result.problems if p.code == "image-weight"}
    assert len(warnings) == 2
    assert all("feature.png" in message and "max_total_kb" in message for message in warnings)
    report = json.loads(run(site_ws, "check", "music", "--json").stdout)["images"]
    assert {entry["language"]: entry["bytes"] for entry in report} == {
        v.key: v.images.total for v in result.variants}
    [feature] = [r for entry in report if entry["language"] == "nl"
                 for r in entry["renditions"] if r["source"].endswith("/feature.png")]
    assert feature["made"] is True and feature["reasons"] == ["1920 px wide, shown at 544 px",
                                                              "290 KB, over the 200 KB budget"]


def test_a_corrupt_image_is_an_error_naming_the_file(site_ws: Path) -> None:
    bundle = site_ws / "site" / "content" / "posts" / "2026-feb"
    source = site_ws / "site" / "content" / "posts" / "music-as-art" / "feature.png"
    (bundle / "kapot.png").write_bytes(source.read_bytes()[:4000])  # a 1,920 px header
    [page, _] = add_image(site_ws, "posts/2026-feb", "kapot.png", "Kapot")
    line = page.read_text(encoding="utf-8").count("\n")
    checked = run(site_ws, "check", "feb")
    assert checked.returncode == 1
    assert f"{page}:{line}: error:" in checked.stdout
    assert str(bundle / "kapot.png") in checked.stdout
    built = run(site_ws, "build", "feb")
    assert built.returncode == 1
    for output in (checked, built):
        assert "Traceback" not in output.stdout + output.stderr
    assert not (site_ws / "build" / "feb").exists()
    assert not (site_ws / "site" / "static").exists()  # nothing written for a refused build


@pytest.mark.parametrize("size", [(20_000, 20_000), (9_000, 8_000)])
def test_an_image_of_too_many_pixels_is_refused_before_it_is_decoded(
        site_ws: Path, size: tuple[int, int]) -> None:
    """A decompression bomb: a tiny file whose header promises more pixels than memory holds
    (over twice Pillow's limit it refuses at once, over the limit it only warns)."""
    bundle = site_ws / "site" / "content" / "posts" / "2026-feb"
    header = Image.new("L", (1, 1))
    buffer = io.BytesIO()
    header.save(buffer, "PNG")
    data = bytearray(buffer.getvalue())
    data[16:24] = size[0].to_bytes(4, "big") + size[1].to_bytes(4, "big")  # IHDR width, height
    data[29:33] = zlib.crc32(bytes(data[12:29])).to_bytes(4, "big")  # and its checksum
    (bundle / "bom.png").write_bytes(bytes(data))
    pages = add_image(site_ws, "posts/2026-feb", "bom.png", "Bom")
    with pytest.raises(BuildFailed) as failed:
        build(site_ws, "feb")
    found = [p for p in failed.value.problems if p.code == "image-rendition"]
    assert sorted(p.path for p in found) == pages  # both languages show it
    for problem in found:
        assert problem.message.startswith(f"image {bundle / 'bom.png'} has ")
        assert "pixels" in problem.message


def test_a_renditions_folder_that_cannot_be_written_is_one_error_line(site_ws: Path) -> None:
    """sysfs takes no new files from anyone, root included (a chmod would not stop root)."""
    target = Path("/sys/kernel")
    if not target.is_dir() or os.access(target, os.W_OK) and _creatable(target):
        pytest.skip("no folder here refuses new files to this user")
    (site_ws / "site" / "static").mkdir()
    (site_ws / "site" / "static" / "email").symlink_to(target)
    built = run(site_ws, "build", "music")
    assert built.returncode == 1
    output = " ".join((built.stdout + built.stderr).split())
    assert "Error:" in output and "Traceback" not in output
    assert f"cannot write the email rendition {site_ws / 'site' / 'static' / 'email'}/" in output
    assert "Permission denied" in output or "Operation not permitted" in output
    assert not (site_ws / "build" / "music").exists()


def _creatable(folder: Path) -> bool:
    try:
        (folder / ".postduif-probe").touch()
    except OSError:
        return False
    (folder / ".postduif-probe").unlink()
    return True


def test_a_full_disk_is_one_error_line_and_leaves_no_partial_file(site_ws: Path) -> None:
    """The file size limit makes every write past 16 KB fail as a full disk does."""
    def small_files() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (16 * 1024, 16 * 1024))
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)

    built = run(site_ws, "build", "music", preexec_fn=small_files)
    assert built.returncode == 1
    output = " ".join((built.stdout + built.stderr).split())
    assert "Error: " in output and "cannot write the email rendition" in output
    assert "File too large" in output and "Traceback" not in output
    folder = site_ws / "site" / "static" / "email"
    assert [path.name for path in folder.iterdir()] == []  # no temporary, no half file


def test_the_renditions_folder_and_budget_are_settings(site_ws: Path) -> None:
    settings(site_ws, '[images]\nrenditions_dir = "static/img/mail"\nbudget_kb = 60\n')
    result = build(site_ws, "music")
    assert result.renditions
    for rendition in result.renditions:
        assert rendition.url == BASE + "img/mail/" + rendition.file.name
        assert rendition.file.parent == site_ws / "site" / "static" / "img" / "mail"
        assert rendition.size == rendition.file.stat().st_size <= 60 * 1024


@pytest.mark.parametrize(("value", "words"), [
    ('renditions_dir = "content/email"', "inside the Hugo site's static/"),
    ('renditions_dir = "static"', "inside the Hugo site's static/"),
    ("budget_kb = 0", "images.budget_kb must be a whole number"),
    ('max_total_kb = "1 MB"', "images.max_total_kb must be a whole number"),
])
def test_bad_image_settings_are_errors_on_their_line(site_ws: Path, value: str,
                                                     words: str) -> None:
    settings(site_ws, f"[images]\n{value}\n")
    with pytest.raises(ConfigError) as failed:
        Workspace.open(site_ws)
    assert words in failed.value.message
    lines = (site_ws / "postduif.toml").read_text(encoding="utf-8").splitlines()
    assert failed.value.line is not None and lines[failed.value.line - 1] == value


def test_the_preview_makes_the_renditions_and_shows_them_from_the_workspace(
        site_ws: Path) -> None:
    from starlette.testclient import TestClient

    from postduif.preview import create_app

    folder = site_ws / "site" / "static" / "email"
    with TestClient(create_app(Workspace.open(site_ws), watch=False),
                    base_url="http://127.0.0.1") as client:
        sent = client.get("/c/music/en/html?persona=named").text
        framed = client.get("/c/music/en/html?persona=named&frame=1").text
        made = sorted(path.name for path in folder.iterdir())
        assert len(made) == 3
        assert sorted(src.rsplit("/", 1)[1] for src in _SRC.findall(sent)
                      if src.startswith(BASE + "email/")) == made
        for name in made:
            assert f'src="/site/email/{name}"' in framed
            image = client.get(f"/site/email/{name}")
            assert image.status_code == 200
            assert image.content == (folder / name).read_bytes()


def test_one_image_shown_at_two_widths_has_a_rendition_for_each(site_ws: Path) -> None:
    """The cover at the column's width and the same file at 200 px in the text: two
    renditions, both written, both weighed."""
    [page, _] = add_image(site_ws, "posts/music-as-art", "feature.png", "Groot")
    with page.open("a", encoding="utf-8") as stream:
        stream.write('\n<img src="feature.png" alt="Klein" width="200">\n')
    result = build(site_ws, "music")
    feature = site_ws / "site" / "content" / "posts" / "music-as-art" / "feature.png"
    widths = sorted(pixel_size(r.file)[0] for r in result.renditions if r.source == feature)
    assert widths == [400, 1088]
    nl = next(v for v in result.variants if v.key == "nl")
    assert {r.url for r in nl.images.renditions} == {
        src for src in srcs(result, "nl") if src.startswith(BASE + "email/")}


def test_send_makes_the_renditions_before_anything_goes_out(site_ws: Path) -> None:
    """``send`` starts where ``build`` does; the plan it sends names every rendition (url and
    file) so a later check can tell whether they are online."""
    from postduif.send.job import prepare_job

    job = prepare_job(Workspace.open(site_ws), "music", token_key=b"k" * 32)
    assert len(job.plan.renditions) == 3
    for rendition in job.plan.renditions:
        assert rendition.made and rendition.url == BASE + "email/" + rendition.file.name


def test_pillow_loads_only_when_a_rendition_is_made(workspace: Path) -> None:
    """Images that need no rendition (narrow and light) are never decoded: planning the
    campaign imports no Pillow. (The sample's 1,200 px feature.png is decoded, and its
    rendition not used: no lighter than the 11 KB original.)"""
    write_png(workspace / "content" / "posts" / "2026-12" / "feature.png", 1000, 500)
    code = ("import sys; from postduif.workspace import Workspace; ws = Workspace.open(); "
            "plan = ws.plan(ws.campaign('2026-12-community-update')); "
            "print(len(plan.renditions), 'PIL' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], cwd=workspace, capture_output=True,
                          text=True, timeout=60, check=False)
    assert done.stdout.split() == ["0", "False"], done.stderr


def test_a_rendition_found_no_lighter_is_not_made_again_by_the_next_command(
        workspace: Path) -> None:
    """The sample's feature.png needs a look (1,200 px) but its rendition would be heavier:
    the first command decodes it and leaves a marker in build/renditions/, the next does
    not decode it again; nothing is written into the published static/."""
    code = ("import sys; from postduif.workspace import Workspace; ws = Workspace.open(); "
            "plan = ws.plan(ws.campaign('2026-12-community-update')); "
            "print(len(plan.renditions), 'PIL' in sys.modules)")

    def plan_in_a_new_process() -> list[str]:
        done = subprocess.run([sys.executable, "-c", code], cwd=workspace, capture_output=True,
                              text=True, timeout=60, check=False)
        return done.stdout.split()

    assert plan_in_a_new_process() == ["0", "True"]
    assert len(list((workspace / "build" / "renditions").iterdir())) == 1
    assert plan_in_a_new_process() == ["0", "False"]
    assert not (workspace / "static").exists()


def test_a_rendition_no_lighter_than_its_original_is_not_used(workspace: Path) -> None:
    """The sample's feature.png is 1,200 px wide but an 11 KB graphic of four colours: its
    rendition would weigh more, so the email keeps the original (and nothing is written)."""
    feature = workspace / "content" / "posts" / "2026-12" / "feature.png"
    assert png_size(feature)[0] > 1088
    ws = Workspace.open(workspace)
    plan = ws.plan(ws.campaign("2026-12-community-update"))
    assert plan.renditions == () and ws.make_renditions(plan) == []
    for variant in plan.variants.values():
        [image] = [i for i in variant.images if i.file == feature]
        assert image.rendition is None and image.size == feature.stat().st_size
        assert variant.context.sections[0].image_url == image.url
    assert not (workspace / "static" / "email").exists()


def test_renditions_planned_elsewhere_are_written_all_the_same(site_ws: Path) -> None:
    """A plan made without the workspace's renditions (the library's default) still has its
    renditions written by the workspace, made again from their sources."""
    from postduif.campaign import plan_campaign

    ws = Workspace.open(site_ws)
    campaign = ws.campaign("music")
    plan = plan_campaign(campaign, ws.site, ws.settings, ws.list_def(campaign.list))
    written = ws.make_renditions(plan)
    assert sorted(written) == sorted(r.file for r in plan.renditions) and len(written) == 3
    for rendition in plan.renditions:
        assert rendition.file.stat().st_size == rendition.size
