"""Drawn product pictures (one studio shot per product kind, colour and view): the demo shop needs no outside files."""

from __future__ import annotations

import io
import math
from collections.abc import Callable, Iterable
from pathlib import Path

from PIL import Image, ImageDraw, ImageFilter

from image_pipeline.store import ImageStore

WIDTH, HEIGHT = 1600, 1200
RGB = tuple[int, int, int]
PALETTE: dict[str, RGB] = {
    "black": (40, 41, 45),
    "white": (240, 239, 235),
    "navy": (36, 54, 94),
    "olive": (104, 108, 62),
    "rust": (170, 82, 46),
    "sand": (205, 184, 146),
    "grey": (140, 143, 147),
    "charcoal": (70, 72, 77),
    "teal": (32, 112, 120),
    "sky": (160, 196, 228),
    "oat": (216, 202, 174),
    "brown": (112, 72, 44),
    "tan": (190, 140, 92),
    "copper": (186, 106, 64),
    "steel": (170, 175, 180),
    "brass": (196, 160, 82),
    "forest": (50, 96, 64),
    "orange": (228, 120, 42),
    "natural": (228, 216, 190),
    "gold": (208, 172, 92),
    "red": (178, 46, 46),
}
VIEWS: tuple[str, ...] = ("front", "detail", "side")


def _tone(colour: RGB, factor: float) -> RGB:
    """Darker below 1, lighter above (mixing toward white), so a white product still has visible shading."""
    if factor <= 1:
        return (int(colour[0] * factor), int(colour[1] * factor), int(colour[2] * factor))
    mix = min(factor - 1, 1.0)
    return (
        int(colour[0] + (255 - colour[0]) * mix),
        int(colour[1] + (255 - colour[1]) * mix),
        int(colour[2] + (255 - colour[2]) * mix),
    )


def _edge(colour: RGB) -> RGB:
    """An outline that shows against the light backdrop whatever the colour, and no darker than that needs:
    each hard edge costs bytes in every variant."""
    return _tone(colour, 0.8 if sum(colour) > 450 else 0.7)


class _Pen:
    """ImageDraw with the product's colour, its shades and outline at hand."""

    def __init__(self, layer: Image.Image, colour: RGB) -> None:
        self.layer = layer
        self.draw = ImageDraw.Draw(layer)
        self.colour = colour
        self.dark = _tone(colour, 0.78)
        self.darker = _tone(colour, 0.6)
        self.light = _tone(colour, 1.18)
        self.line = _edge(colour)

    def recoloured(self, colour: RGB) -> _Pen:
        """A pen for a part in another colour (a watch's strap, a stove's canister) on the same drawing."""
        return _Pen(self.layer, colour)

    def poly(self, points: list[tuple[float, float]], fill: RGB | None = None, width: int = 6) -> None:
        self.draw.polygon(points, fill=fill or self.colour, outline=self.line, width=width)

    def rect(self, box: tuple[float, float, float, float], fill: RGB | None = None, radius: int = 0) -> None:
        self.draw.rounded_rectangle(box, radius=radius, fill=fill or self.colour, outline=self.line, width=6)

    def oval(self, box: tuple[float, float, float, float], fill: RGB | None = None, width: int = 6) -> None:
        self.draw.ellipse(box, fill=fill or self.colour, outline=self.line, width=width)

    def stroke(self, points: list[tuple[float, float]], fill: RGB | None = None, width: int = 6) -> None:
        self.draw.line(points, fill=fill or self.line, width=width, joint="curve")


def _mirror(points: list[tuple[float, float]]) -> list[tuple[float, float]]:
    return [(WIDTH - x, y) for x, y in points]


def _garment_top(pen: _Pen, *, hem: float, cuff: float, collar: Callable[[], None]) -> None:
    """Torso and long sleeves of a jacket, shirt or sweater laid flat; each adds its own collar and details."""
    sleeve = [(580, 330), (500, 350), (420, cuff), (500, cuff + 30), (585, 560)]
    pen.poly(sleeve, pen.dark)
    pen.poly(_mirror(sleeve), pen.dark)
    pen.poly([(580, 320), (710, 270), (890, 270), (1020, 320), (1030, hem), (570, hem)])
    pen.poly([(585, 470), (620, hem - 20), (580, hem)], pen.dark, width=0)
    pen.poly(_mirror([(585, 470), (620, hem - 20), (580, hem)]), pen.dark, width=0)
    collar()


def _jacket(pen: _Pen) -> None:
    def collar() -> None:
        pen.poly([(700, 230), (900, 230), (910, 330), (690, 330)], pen.dark)
        pen.rect((575, 920, 1025, 980), pen.dark, radius=8)

    _garment_top(pen, hem=980, cuff=900, collar=collar)
    pen.stroke([(800, 235), (800, 975)], pen.darker, 10)
    pen.rect((788, 250, 812, 300), (200, 200, 204), radius=4)
    for side in (1, -1):
        x = 800 + side * 150
        pen.stroke([(x - 30 * side, 640), (x + 60 * side, 560)], pen.darker, 8)
        pen.rect((x - 40, 420, x + 40, 470), pen.light, radius=6)  # chest pocket flaps
    for cuff in ((405, 885, 505, 935), (1095, 885, 1195, 935)):
        pen.rect(cuff, pen.darker, radius=10)


def _shirt(pen: _Pen) -> None:
    def collar() -> None:
        pen.poly([(720, 250), (800, 330), (760, 380), (680, 300)], pen.light)
        pen.poly(_mirror([(720, 250), (800, 330), (760, 380), (680, 300)]), pen.light)

    _garment_top(pen, hem=940, cuff=860, collar=collar)
    pen.stroke([(800, 330), (800, 935)], pen.dark, 5)
    for y in range(400, 920, 95):
        pen.oval((788, y, 812, y + 24), pen.light, width=3)
    pen.rect((860, 430, 960, 540), pen.colour, radius=4)
    pen.stroke([(860, 460), (960, 460)], pen.dark, 4)
    for cuff in ((412, 830, 512, 880), (1088, 830, 1188, 880)):
        pen.rect(cuff, pen.light, radius=6)


def _sweater(pen: _Pen) -> None:
    def collar() -> None:
        pen.draw.chord((690, 220, 910, 380), 0, 180, fill=pen.dark, outline=pen.line, width=6)
        pen.draw.chord((720, 230, 880, 350), 0, 180, fill=(245, 243, 238), outline=pen.line, width=4)

    _garment_top(pen, hem=960, cuff=880, collar=collar)
    for x in range(620, 1000, 40):  # the knit
        pen.stroke([(x, 380), (x, 890)], pen.dark, 3)
    pen.rect((570, 890, 1030, 965), pen.dark, radius=6)
    for x in range(590, 1020, 22):
        pen.stroke([(x, 898), (x, 958)], pen.darker, 3)
    for cuff in ((405, 860, 505, 915), (1095, 860, 1195, 915)):
        pen.rect(cuff, pen.dark, radius=6)


def _trousers(pen: _Pen) -> None:
    leg = [(590, 290), (800, 290), (800, 420), (760, 1010), (600, 1010), (575, 420)]
    pen.poly(leg)
    pen.poly(_mirror(leg))
    pen.poly([(800, 290), (800, 420), (790, 560)], pen.dark, width=0)
    pen.rect((580, 250, 1020, 310), pen.dark, radius=6)
    for x in (620, 730, 870, 980):
        pen.rect((x - 10, 245, x + 10, 320), pen.darker, radius=3)
    pen.oval((792, 266, 808, 282), (200, 190, 160), width=2)
    pen.stroke([(815, 310), (830, 470), (800, 520)], pen.darker, 5)
    for side in (1, -1):
        pen.draw.arc(
            (800 + side * 140 - 90, 250, 800 + side * 140 + 90, 420),
            20 if side > 0 else 90,
            90 if side > 0 else 160,
            fill=pen.darker,
            width=6,
        )
        pen.stroke([(800 + side * 115, 620), (800 + side * 115, 1000)], pen.dark, 4)
    for hem in ((600, 975, 760, 1010), (840, 975, 1000, 1010)):
        pen.rect(hem, pen.dark, radius=4)


def _shoe(pen: _Pen, *, shaft: bool) -> None:
    sole = (300, 790, 1300, 880)
    top = 300 if shaft else 520
    upper = [
        (420, 800),
        (400, top + 40),
        (440, top),
        (700, top),
        (720, 560),
        (900, 600),
        (1150, 650),
        (1260, 720),
        (1290, 800),
    ]
    if not shaft:
        upper = [
            (360, 800),
            (350, 600),
            (420, 540),
            (640, 540),
            (760, 600),
            (980, 620),
            (1180, 680),
            (1280, 760),
            (1290, 800),
        ]
    pen.poly(upper)
    sole_colour = (250, 249, 246) if not shaft else _tone(pen.colour, 0.35)
    if pen.colour[0] > 220 and not shaft:
        sole_colour = (226, 214, 190)
    pen.rect(sole, sole_colour, radius=40)
    pen.stroke([(330, 830), (1270, 830)], _edge(sole_colour), 4)
    if shaft:
        pen.rect((380, 840, 560, 900), _tone(pen.colour, 0.3), radius=10)  # heel
        pen.poly([(430, top + 10), (700, top + 10), (705, top + 70), (425, top + 70)], pen.dark, width=4)
        pen.poly([(560, 420), (640, 420), (660, 700), (540, 700)], pen.darker, width=4)  # elastic gusset
        pen.poly([(720, 560), (900, 600), (1150, 650), (1260, 720), (1150, 760), (800, 740)], pen.dark, width=0)
    else:
        pen.poly([(1040, 640), (1180, 680), (1280, 760), (1290, 800), (1100, 800)], pen.light)  # toe cap
        pen.poly([(560, 700), (900, 620), (940, 660), (600, 760)], pen.dark, width=4)  # side stripe
        pen.rect((360, 560, 430, 780), pen.dark, radius=14)  # heel tab
        lace = _tone(pen.colour, 0.72) if sum(pen.colour) > 600 else (236, 234, 228)
        for i in range(5):
            x = 690 + i * 60
            pen.stroke([(x, 560 + i * 10), (x + 60, 600 + i * 10)], lace, 12)
            pen.stroke([(x, 600 + i * 10), (x + 60, 560 + i * 10)], lace, 12)


def _sneaker(pen: _Pen) -> None:
    _shoe(pen, shaft=False)


def _boot(pen: _Pen) -> None:
    _shoe(pen, shaft=True)


def _sandal(pen: _Pen) -> None:
    pen.draw.rounded_rectangle((300, 560, 1320, 860), radius=150, fill=_tone(pen.colour, 0.45))
    pen.rect((300, 540, 1320, 830), (214, 180, 140), radius=150)  # the cork bed
    pen.draw.rounded_rectangle((340, 575, 1280, 795), radius=120, outline=_tone((214, 180, 140), 0.8), width=4)
    for x in (620, 950):
        pen.poly([(x - 90, 520), (x + 90, 520), (x + 110, 850), (x - 110, 850)])
        pen.poly([(x - 70, 540), (x + 70, 540), (x + 80, 580), (x - 80, 580)], pen.light, width=3)
        pen.rect((x + 60, 640, x + 130, 730), (198, 170, 96), radius=8)  # buckle
        pen.rect((x + 78, 658, x + 112, 712), pen.colour, radius=4)


def _pan(pen: _Pen) -> None:
    pen.rect((1120, 560, 1500, 640), pen.darker, radius=30)  # handle
    pen.oval((1430, 585, 1470, 615), (238, 236, 232), width=3)
    pen.oval((200, 300, 1180, 900), pen.dark)
    pen.oval((250, 340, 1130, 860), pen.colour, width=4)
    pen.oval((300, 390, 1080, 820), _tone(pen.colour, 0.85), width=3)
    pen.draw.arc((320, 400, 1060, 800), 200, 260, fill=pen.light, width=18)  # sheen


def _lamp(pen: _Pen) -> None:
    brass = pen.colour
    pen.oval((560, 900, 1040, 1000), _tone(brass, 0.8))
    pen.rect((560, 880, 1040, 950), brass, radius=30)
    pen.rect((780, 520, 820, 900), _tone(brass, 0.85), radius=8)
    pen.draw.ellipse((740, 480, 860, 560), fill=(255, 236, 170))  # the glow under the shade
    shade = (240, 236, 226) if pen.colour != PALETTE["white"] else (226, 220, 206)
    pen.poly([(640, 200), (960, 200), (1080, 520), (520, 520)], shade)
    pen.stroke([(640, 230), (960, 230)], _edge(shade), 4)
    pen.stroke([(540, 490), (1060, 490)], _edge(shade), 4)
    pen.stroke([(810, 900), (860, 1040), (1200, 1040)], (60, 60, 62), 6)  # the cord


def _throw(pen: _Pen) -> None:
    for i, (y, shade) in enumerate(((740, pen.dark), (560, pen.colour), (380, pen.light))):
        pen.rect((380 + i * 20, y, 1220 - i * 20, y + 230), shade, radius=40)
        for x in range(420 + i * 20, 1200 - i * 20, 60):  # the weave
            pen.stroke([(x, y + 20), (x + 30, y + 210)], _tone(shade, 0.9), 4)
        pen.stroke([(400 + i * 20, y + 70), (1200 - i * 20, y + 70)], _tone(pen.colour, 1.45), 14)  # stripe
    for x in range(400, 1200, 24):
        pen.stroke([(x, 965), (x + 6, 1030)], pen.colour, 6)


def _tent(pen: _Pen) -> None:
    pen.draw.line([(300, 900), (1300, 900)], fill=(180, 172, 150), width=6)
    pen.draw.chord((260, 260, 1340, 1540), 180, 360, fill=pen.colour, outline=pen.line, width=8)
    pen.draw.chord((560, 440, 1040, 1360), 180, 360, fill=pen.dark, outline=pen.line, width=6)  # porch
    pen.draw.chord((650, 560, 950, 1240), 180, 360, fill=_tone(pen.colour, 0.4), outline=pen.line, width=6)  # door
    pen.stroke([(800, 560), (800, 900)], (210, 210, 210), 6)  # the zip
    pen.draw.arc((260, 260, 1340, 1540), 200, 340, fill=_tone(pen.colour, 1.3), width=12)  # pole sleeve
    pen.draw.arc((420, 330, 1180, 1470), 190, 350, fill=pen.darker, width=6)
    for start, peg in (((330, 700), (170, 930)), ((1270, 700), (1430, 930))):
        pen.stroke([start, peg], (120, 120, 120), 4)
        pen.stroke([peg, (peg[0], peg[1] - 50)], (90, 90, 94), 10)


def _backpack(pen: _Pen) -> None:
    pen.rect((470, 330, 1130, 1000), pen.colour, radius=120)
    pen.stroke([(520, 420), (480, 950)], pen.darker, 26)  # shoulder straps showing at the sides
    pen.stroke([(1080, 420), (1120, 950)], pen.darker, 26)
    pen.rect((500, 280, 1100, 470), pen.dark, radius=100)  # lid
    pen.draw.arc((700, 180, 900, 320), 180, 360, fill=pen.darker, width=20)  # haul loop
    pen.rect((580, 640, 1020, 940), pen.dark, radius=60)  # front pocket
    pen.stroke([(620, 690), (980, 690)], (220, 220, 222), 8)
    pen.rect((960, 675, 990, 720), (210, 210, 214), radius=6)
    for x in (640, 960):
        pen.rect((x - 20, 440, x + 20, 560), pen.darker, radius=6)
        pen.rect((x - 28, 550, x + 28, 580), (60, 60, 64), radius=4)


def _stove(pen: _Pen) -> None:
    pen.rect((520, 620, 1080, 1000), radius=60)  # the gas canister, in the product's colour
    pen.oval((520, 560, 1080, 700), pen.light)
    pen.stroke([(560, 800), (1040, 800)], pen.light, 14)
    # The burner is steel whatever the canister; on a steel one a shade darker, so the two parts read apart.
    steel = pen.recoloured(PALETTE["steel"] if pen.colour != PALETTE["steel"] else (150, 154, 160))
    steel.rect((740, 440, 860, 640), radius=10)
    steel.rect((860, 540, 990, 580), radius=8)  # valve
    steel.oval((970, 520, 1030, 600), (200, 60, 40))
    steel.oval((660, 380, 940, 470), steel.dark)  # burner head
    for x0, x1 in ((660, 520), (940, 1080), (800, 800)):
        steel.stroke([(x0, 420), (x1, 340)], steel.darker, 14)
    flame = (60, 120, 220)
    steel.draw.polygon([(740, 390), (800, 300), (860, 390)], fill=flame)


def _tote(pen: _Pen) -> None:
    pen.draw.arc((600, 160, 860, 560), 180, 360, fill=pen.darker, width=28)
    pen.draw.arc((740, 160, 1000, 560), 180, 360, fill=pen.darker, width=28)
    pen.poly([(480, 380), (1120, 380), (1180, 1000), (420, 1000)])
    pen.poly([(480, 380), (1120, 380), (1125, 440), (475, 440)], pen.dark, width=4)
    pen.stroke([(470, 470), (1130, 470)], pen.dark, 3)
    pen.rect((700, 620, 900, 760), _tone(pen.colour, 1.35) if sum(pen.colour) < 450 else pen.dark, radius=6)  # label
    for x in (620, 980):
        pen.rect((x - 20, 360, x + 20, 480), pen.darker, radius=6)


def _watch(pen: _Pen) -> None:
    strap = (96, 62, 40) if pen.colour != PALETTE["black"] else (36, 36, 38)
    band = pen.recoloured(strap)
    band.rect((690, 100, 910, 520), radius=30)
    band.rect((690, 680, 910, 1100), radius=30)
    for y in (800, 860, 920):
        band.oval((785, y, 815, y + 30), _tone(strap, 0.6), width=2)
    pen.oval((540, 340, 1060, 860), pen.colour, width=8)  # case
    pen.rect((1050, 570, 1100, 630), pen.dark, radius=8)  # crown
    dial = (246, 244, 238) if pen.colour != PALETTE["black"] else (30, 32, 36)
    ink = (40, 40, 44) if dial[0] > 128 else (236, 234, 228)
    pen.oval((590, 390, 1010, 810), dial, width=4)
    for hour in range(12):
        angle = math.radians(hour * 30)
        r0, r1 = (170, 200) if hour % 3 else (150, 200)
        pen.stroke(
            [
                (800 + r0 * math.sin(angle), 600 - r0 * math.cos(angle)),
                (800 + r1 * math.sin(angle), 600 - r1 * math.cos(angle)),
            ],
            ink,
            10 if hour % 3 == 0 else 6,
        )
    pen.stroke([(800, 600), (890, 520)], ink, 14)
    pen.stroke([(800, 600), (720, 440)], ink, 10)
    pen.stroke([(800, 600), (800, 740)], (200, 60, 40), 4)
    pen.oval((788, 588, 812, 612), ink, width=2)


def _cap(pen: _Pen) -> None:
    pen.poly([(760, 700), (1390, 720), (1420, 800), (1300, 850), (800, 820)], pen.dark)  # peak
    pen.draw.chord((340, 300, 1200, 1100), 180, 360, fill=pen.colour, outline=pen.line, width=8)
    pen.stroke([(340, 700), (1200, 700)], pen.line, 6)
    pen.draw.arc((560, 300, 980, 1100), 185, 355, fill=pen.dark, width=6)  # panel seams
    pen.stroke([(770, 300), (770, 700)], pen.dark, 6)
    pen.oval((740, 280, 800, 320), pen.darker)  # button
    for x in (560, 980):
        pen.oval((x, 480, x + 22, 502), pen.darker, width=2)  # eyelets
    pen.poly([(790, 700), (1370, 725), (1395, 780), (1300, 810), (810, 790)], pen.colour, width=3)


_DRAWINGS: dict[str, Callable[[_Pen], None]] = {
    "jacket": _jacket,
    "shirt": _shirt,
    "sweater": _sweater,
    "trousers": _trousers,
    "sneaker": _sneaker,
    "boot": _boot,
    "sandal": _sandal,
    "pan": _pan,
    "lamp": _lamp,
    "throw": _throw,
    "tent": _tent,
    "backpack": _backpack,
    "stove": _stove,
    "tote": _tote,
    "watch": _watch,
    "cap": _cap,
}
KINDS: tuple[str, ...] = tuple(_DRAWINGS)
# Where the close-up looks (x, y of its centre on the front view) for each kind.
_DETAIL_AT: dict[str, tuple[int, int]] = {
    "jacket": (800, 420),
    "shirt": (820, 440),
    "sweater": (800, 880),
    "trousers": (800, 360),
    "sneaker": (820, 640),
    "boot": (600, 560),
    "sandal": (1000, 680),
    "pan": (1200, 600),
    "lamp": (800, 420),
    "throw": (800, 900),
    "tent": (800, 760),
    "backpack": (800, 700),
    "stove": (820, 460),
    "tote": (800, 520),
    "watch": (800, 600),
    "cap": (1000, 700),
}


_STUDIO: RGB = (241, 238, 232)


def _backdrop(top: RGB, bottom: RGB) -> Image.Image:
    gradient = Image.linear_gradient("L").resize((WIDTH, HEIGHT))
    return Image.composite(Image.new("RGB", (WIDTH, HEIGHT), bottom), Image.new("RGB", (WIDTH, HEIGHT), top), gradient)


def _shadow(image: Image.Image, box: tuple[int, int, int, int]) -> None:
    """A soft contact shadow: blurred at a quarter size, which is quick and looks the same."""
    x0, y0, x1, y1 = box
    margin = 32  # four blur radii: the blurred edge fades to nothing inside the patch, so no seam shows
    small = Image.new("L", ((x1 - x0) // 4 + 2 * margin, (y1 - y0) // 4 + 2 * margin), 0)
    ImageDraw.Draw(small).ellipse((margin, margin, small.width - margin, small.height - margin), fill=110)
    mask = small.filter(ImageFilter.GaussianBlur(8)).resize((small.width * 4, small.height * 4))
    image.paste((90, 86, 80), (x0 - 4 * margin, y0 - 4 * margin), mask)


def _product(kind: str, colour: str) -> Image.Image:
    drawing = _DRAWINGS.get(kind)
    if drawing is None or colour not in PALETTE:
        raise ValueError(f"no drawing for {kind!r} in {colour!r}")
    layer = Image.new("RGBA", (WIDTH, HEIGHT), (0, 0, 0, 0))
    drawing(_Pen(layer, PALETTE[colour]))
    return layer


def _framed(product: Image.Image, kind: str, scale: float) -> tuple[Image.Image, tuple[int, int]]:
    """The drawing scaled so it fills `scale` of the frame (each kind is drawn at its own size) and centred a
    little above the middle, where a photographer puts it; returns it and where its close-up centre went."""
    x0, y0, x1, y1 = product.getbbox() or (0, 0, WIDTH, HEIGHT)
    cut = product.crop((x0, y0, x1, y1))
    factor = min(WIDTH * scale / cut.width, HEIGHT * scale / cut.height)
    cut = cut.resize((round(cut.width * factor), round(cut.height * factor)), Image.BILINEAR)
    left, top = (WIDTH - cut.width) // 2, (HEIGHT - cut.height) // 2 - HEIGHT // 40
    framed = Image.new("RGBA", (WIDTH, HEIGHT), (0, 0, 0, 0))
    framed.paste(cut, (left, top))
    dx, dy = _DETAIL_AT[kind]
    return framed, (round(left + (dx - x0) * factor), round(top + (dy - y0) * factor))


def _staged(product: Image.Image, top: RGB, bottom: RGB) -> Image.Image:
    x0, _, x1, y1 = product.getbbox() or (400, 300, 1200, 900)
    image = _backdrop(top, bottom)
    _shadow(image, (x0 + (x1 - x0) // 10, y1 - 40, x1 - (x1 - x0) // 10, y1 + 40))
    image.paste(product, (0, 0), product)
    return image


def _views(kind: str, colour: str) -> dict[str, Image.Image]:
    product = _product(kind, colour)
    framed, (cx, cy) = _framed(product, kind, 0.7)
    # A plain backdrop: a listing shows a dozen of these, and a gradient costs each variant about 6% more.
    front = _staged(framed, _STUDIO, _STUDIO)

    half_w, half_h = WIDTH // 4, HEIGHT // 4
    left = min(max(cx - half_w, 0), WIDTH - 2 * half_w)
    top = min(max(cy - half_h, 0), HEIGHT - 2 * half_h)
    detail = front.crop((left, top, left + 2 * half_w, top + 2 * half_h)).resize((WIDTH, HEIGHT), Image.BILINEAR)

    # A second set-up: a backdrop tinted by the colour, the product turned and further from the camera.
    turned, _ = _framed(product.transpose(Image.FLIP_LEFT_RIGHT), kind, 0.55)
    tint = _tone(PALETTE[colour], 1.75)
    side = _staged(turned, _tone(tint, 1.3), _tone(tint, 0.9))
    return {"front": front, "detail": detail, "side": side}


def describe(kind: str, view: str) -> str:
    """What a view of `kind` shows, to follow the product's name in alt text ("" for the front view)."""
    if kind not in _DRAWINGS or view not in VIEWS:
        raise ValueError(f"no view {view!r} of {kind!r}")
    return {"front": "", "detail": "close-up", "side": "turned the other way"}[view]


def _png(image: Image.Image) -> bytes:
    """Drawings are stored losslessly: flat colour and hard edges come out smaller as PNG than as a JPEG, whose
    ringing around every edge the variants would then spend bytes on. Level 1: the seed's time, not the disk's,
    is what counts, and the variants come out the same."""
    out = io.BytesIO()
    image.save(out, "PNG", compress_level=1)
    return out.getvalue()


def render(kind: str, colour: str, view: str) -> bytes:
    """A WIDTH x HEIGHT PNG of `kind` in `colour` seen as `view` (one of VIEWS)."""
    if view not in VIEWS:
        raise ValueError(f"no view {view!r}")
    return _png(_views(kind, colour)[view])


def write_originals(
    directory: Path, looks: Iterable[tuple[str, str]]
) -> dict[tuple[str, str], list[dict[str, int | str]]]:
    """Ingest every view of each (kind, colour) look into the image store at `directory`; returns, per look,
    the references in VIEWS order."""
    store = ImageStore(directory)
    refs: dict[tuple[str, str], list[dict[str, int | str]]] = {}
    for look in looks:
        views = _views(*look)
        refs[look] = []
        for view in VIEWS:
            record, _ = store.ingest(_png(views[view]))
            refs[look].append({"hash": record.hash, "width": record.width, "height": record.height})
    return refs


HERO_LOOKS: tuple[tuple[str, str], ...] = (
    ("boot", "tan"),
    ("jacket", "olive"),
    ("backpack", "rust"),
    ("tent", "forest"),
    ("cap", "navy"),
)


def hero() -> bytes:
    """The home page's banner: a row of products across the band that every crop of it keeps in view (the
    desktop banner shows the middle 440/1160 of its height, above the caption; phones show it at 16:9)."""
    image = _backdrop((236, 232, 222), (214, 208, 196))
    slot, top, height = WIDTH // len(HERO_LOOKS), 360, 280
    for index, look in enumerate(HERO_LOOKS):
        product = _product(*look)
        cut = product.crop(product.getbbox() or (0, 0, WIDTH, HEIGHT))
        factor = min((slot - 60) / cut.width, height / cut.height)
        cut = cut.resize((round(cut.width * factor), round(cut.height * factor)), Image.BILINEAR)
        left = index * slot + (slot - cut.width) // 2
        y = top + height - cut.height
        _shadow(image, (left + cut.width // 10, y + cut.height - 20, left + cut.width * 9 // 10, y + cut.height + 20))
        image.paste(cut, (left, y), cut)
    return _png(image)


def write_hero(directory: Path) -> dict[str, int | str]:
    """Ingest the banner into the image store at `directory`; returns its reference."""
    record, _ = ImageStore(directory).ingest(hero())
    return {"hash": record.hash, "width": record.width, "height": record.height}
