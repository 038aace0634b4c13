"""Drawn product pictures (one studio shot per product kind, colour and view): the demo shop needs no outside files."""

from __future__ import annotations

import copy
import io
import itertools
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageChops, ImageDraw, ImageFilter

from image_pipeline.store import ImageStore

WIDTH, HEIGHT = 1600, 1200
RGB = tuple[int, int, int]
Point = tuple[float, float]
Step = Point | tuple[Point, Point]
Matrix = tuple[float, float, float, float, float, float]

PALETTE: dict[str, RGB] = {
    "black": (36, 37, 40),
    "white": (246, 245, 241),
    "navy": (38, 55, 92),
    "olive": (106, 110, 62),
    "rust": (170, 80, 46),
    "sand": (212, 192, 156),
    "grey": (148, 151, 155),
    "charcoal": (68, 70, 75),
    "teal": (30, 116, 122),
    "sky": (150, 190, 224),
    "oat": (218, 204, 176),
    "brown": (112, 70, 42),
    "tan": (192, 140, 90),
    "copper": (186, 104, 62),
    "steel": (164, 170, 176),
    "brass": (194, 156, 80),
    "forest": (46, 94, 64),
    "orange": (230, 118, 40),
    "natural": (228, 216, 190),
    "gold": (208, 168, 84),
    "red": (182, 46, 46),
}
VIEWS: tuple[str, ...] = ("front", "detail", "side")

_SMALL = 4  # backdrops and shadows are soft, so they are drawn at a quarter size and scaled up: far cheaper
_WHITE: RGB = (255, 255, 255)
_METAL: RGB = (196, 199, 203)
_BRASS: RGB = (200, 164, 86)
_LEATHER: RGB = (176, 120, 72)
_RUBBER: RGB = (52, 50, 48)
_CREAM: RGB = (242, 236, 222)
_INSIDE: RGB = (46, 46, 50)
# Plain, not a gradient: a listing shows a dozen fronts, and a gradient costs each small variant about 7% more.
_FRONT_BACKDROP: tuple[RGB, RGB] = ((236, 233, 227), (236, 233, 227))


# Colours ----------------------------------------------------------------------------------------------------------


def _mix(a: RGB, b: RGB, t: float) -> RGB:
    return (round(a[0] + (b[0] - a[0]) * t), round(a[1] + (b[1] - a[1]) * t), round(a[2] + (b[2] - a[2]) * t))


def _scale(c: RGB, f: float) -> RGB:
    """Darkening by multiplying keeps the hue, as a real shadow does."""
    return (min(255, round(c[0] * f)), min(255, round(c[1] * f)), min(255, round(c[2] * f)))


def _luma(c: RGB) -> float:
    return 0.299 * c[0] + 0.587 * c[1] + 0.114 * c[2]


@dataclass(frozen=True)
class _Tones:
    """The colour and the tones a flat illustration shades it with."""

    name: str
    base: RGB
    shade: RGB
    deep: RGB
    light: RGB
    line: RGB

    @property
    def dark(self) -> bool:
        return _luma(self.base) < 80

    @property
    def pale(self) -> bool:
        return _luma(self.base) > 180


def _tones(name: str) -> _Tones:
    base = PALETTE[name]
    if _luma(base) < 80:  # multiplying a near-black changes nothing: lift the light side instead
        return _Tones(name, base, _scale(base, 0.72), _scale(base, 0.5), _mix(base, _WHITE, 0.16), _scale(base, 0.4))
    if _luma(base) > 180:  # pale colours need a firm outline to stand off the light backdrop
        return _Tones(name, base, _scale(base, 0.88), _scale(base, 0.76), _mix(base, _WHITE, 0.5), _scale(base, 0.6))
    return _Tones(name, base, _scale(base, 0.8), _scale(base, 0.64), _mix(base, _WHITE, 0.24), _scale(base, 0.5))


# Geometry ---------------------------------------------------------------------------------------------------------


def _oval(cx: float, cy: float, rx: float, ry: float, start: float = 0, end: float = 360) -> list[Point]:
    """Points round an ellipse, clockwise on screen from `start` degrees (0 points right, 90 down)."""
    span = end - start
    n = max(6, min(160, int(abs(span) / 360 * math.pi * (rx + ry) / 9)))
    count = n if abs(span) >= 360 else n + 1
    return [
        (cx + rx * math.cos(math.radians(start + span * i / n)), cy + ry * math.sin(math.radians(start + span * i / n)))
        for i in range(count)
    ]


def _rounded(x0: float, y0: float, x1: float, y1: float, r: float) -> list[Point]:
    r = max(0.0, min(r, (x1 - x0) / 2, (y1 - y0) / 2))
    if r == 0:
        return [(x0, y0), (x1, y0), (x1, y1), (x0, y1)]
    return [
        *_oval(x1 - r, y0 + r, r, r, 270, 360),
        *_oval(x1 - r, y1 - r, r, r, 0, 90),
        *_oval(x0 + r, y1 - r, r, r, 90, 180),
        *_oval(x0 + r, y0 + r, r, r, 180, 270),
    ]


def _path(start: Point, *steps: Step) -> list[Point]:
    """A polyline from `start`: a step is a point, or (control, end) for a quadratic curve to `end`."""
    points = [start]
    for step in steps:
        if isinstance(step[0], tuple):
            (cx, cy), (ex, ey) = step  # type: ignore[misc]
            sx, sy = points[-1]
            points.extend(
                (
                    (1 - t) ** 2 * sx + 2 * (1 - t) * t * cx + t * t * ex,
                    (1 - t) ** 2 * sy + 2 * (1 - t) * t * cy + t * t * ey,
                )
                for t in (i / 14 for i in range(1, 15))
            )
        else:
            points.append(step)  # type: ignore[arg-type]
    return points


def _mirror(points: Sequence[Point], axis: float = WIDTH / 2) -> list[Point]:
    return [(2 * axis - x, y) for x, y in points]


def _sym(start: Point, *steps: Step) -> list[Point]:
    """A symmetric outline from the path of its left half, drawn from the top of the middle down to its bottom."""
    half = _path(start, *steps)
    return [*half, *reversed(_mirror(half))]


def _side(points: Sequence[Point], flip: bool) -> list[Point]:
    """Points as drawn for the left-hand part, or mirrored for the right-hand one."""
    return _mirror(points) if flip else list(points)


def _shift(points: Sequence[Point], dx: float, dy: float) -> list[Point]:
    return [(x + dx, y + dy) for x, y in points]


def _between(p: Point, q: Point, t: float) -> Point:
    return (p[0] + (q[0] - p[0]) * t, p[1] + (q[1] - p[1]) * t)


def _affine(
    scale: float = 1,
    angle: float = 0,
    *,
    squash: float = 1,
    centre: Point = (WIDTH / 2, HEIGHT / 2),
    to: Point | None = None,
) -> Matrix:
    """Scale (and squash vertically), then turn by `angle` degrees about `centre`, then move `centre` to `to`."""
    tx, ty = to or centre
    cos, sin = math.cos(math.radians(angle)), math.sin(math.radians(angle))
    a, b, d, e = cos * scale, -sin * scale * squash, sin * scale, cos * scale * squash
    return (a, b, tx - a * centre[0] - b * centre[1], d, e, ty - d * centre[0] - e * centre[1])


def _flat(squash: float, centre: Point) -> Matrix:
    """Squashes vertically after any turn: a flat thing lying on the table, seen from above at an angle."""
    return (1, 0, 0, 0, squash, centre[1] * (1 - squash))


def _flip(axis: float = WIDTH / 2) -> Matrix:
    return (-1, 0, 2 * axis, 0, 1, 0)


def _compose(outer: Matrix, inner: Matrix) -> Matrix:
    a, b, c, d, e, f = outer
    p, q, r, s, t, u = inner
    return (a * p + b * s, a * q + b * t, a * r + b * u + c, d * p + e * s, d * q + e * t, d * r + e * u + f)


# Pens -------------------------------------------------------------------------------------------------------------


class _Pen:
    """ImageDraw seen through an affine map from the 1600x1200 design frame, so one drawing serves every view and the
    shadow masks; ellipses and arcs are polygons, so they survive a turn or a squash."""

    def __init__(self, image: Image.Image | None, matrix: Matrix) -> None:
        self._draw = ImageDraw.Draw(image) if image is not None else None
        self.matrix = matrix
        self.scale = math.sqrt(abs(matrix[0] * matrix[4] - matrix[1] * matrix[3]))

    def then(self, matrix: Matrix) -> _Pen:
        """This pen drawing through `matrix` first: a part placed, turned or repeated."""
        pen = copy.copy(self)
        pen.matrix = _compose(self.matrix, matrix)
        pen.scale = math.sqrt(abs(pen.matrix[0] * pen.matrix[4] - pen.matrix[1] * pen.matrix[3]))
        return pen

    def _map(self, points: Sequence[Point]) -> list[Point]:
        a, b, c, d, e, f = self.matrix
        return [(a * x + b * y + c, d * x + e * y + f) for x, y in points]

    def _fill(self, xy: list[Point], colour: RGB) -> None:
        assert self._draw is not None
        self._draw.polygon(xy, fill=colour)

    def _line(self, xy: list[Point], colour: RGB, width: int) -> None:
        assert self._draw is not None
        self._draw.line(xy, fill=colour, width=width, joint="curve")

    def _dot(self, x: float, y: float, r: float, colour: RGB) -> None:
        assert self._draw is not None
        self._draw.ellipse((x - r, y - r, x + r, y + r), fill=colour)

    def poly(self, points: Sequence[Point], fill: RGB | None, line: RGB | None = None, width: float = 5) -> None:
        xy = self._map(points)
        if fill is not None:
            self._fill(xy, fill)
        if line is not None:
            self._line([*xy, xy[0], xy[1]], line, max(1, round(width * self.scale)))

    def oval(
        self, cx: float, cy: float, rx: float, ry: float, fill: RGB | None, line: RGB | None = None, width: float = 5
    ) -> None:
        self.poly(_oval(cx, cy, rx, ry), fill, line, width)

    def rect(
        self,
        x0: float,
        y0: float,
        x1: float,
        y1: float,
        fill: RGB | None,
        line: RGB | None = None,
        *,
        r: float = 0,
        width: float = 5,
    ) -> None:
        self.poly(_rounded(x0, y0, x1, y1, r), fill, line, width)

    def stroke(self, points: Sequence[Point], colour: RGB, width: float = 5) -> None:
        """A polyline with round ends."""
        xy = self._map(points)
        w = max(1, round(width * self.scale))
        self._line(xy, colour, w)
        if w > 3:
            for x, y in (xy[0], xy[-1]):
                self._dot(x, y, w / 2 - 0.5, colour)

    def dashes(self, points: Sequence[Point], colour: RGB, width: float = 3, dash: float = 14, gap: float = 10) -> None:
        """Stitching: dashes along a polyline."""
        pieces: list[list[Point]] = []
        on, left, current = True, dash, [points[0]]
        for p, q in itertools.pairwise(points):
            length = math.dist(p, q)
            at = 0.0
            while length - at > left:
                at += left
                point = _between(p, q, at / length)
                if on:
                    pieces.append([*current, point])
                current, on = [point], not on
                left = dash if on else gap
            left -= length - at
            if on:
                current.append(q)
        if on and len(current) > 1:
            pieces.append(current)
        w = max(1, round(width * self.scale))
        for piece in pieces:
            self._line(self._map(piece), colour, w)

    def shadow(self, cx: float, cy: float, rx: float, ry: float, strength: float = 1) -> None:
        """A contact shadow on the floor under the product: only the shadow pass draws it."""

    def glow(self, cx: float, cy: float, rx: float, ry: float) -> None:
        """Light thrown on the backdrop (a lit lamp): only the shadow pass draws it."""


class _ShadowPen(_Pen):
    """The same drawing at a quarter size, into masks: contact shadows, the product's own silhouette (a garment lying
    on the backdrop casts one) and glows."""

    def __init__(self, matrix: Matrix, lay: bool) -> None:
        super().__init__(None, matrix)
        size = (WIDTH // _SMALL, HEIGHT // _SMALL)
        self.soft, self.tight, self.light = (Image.new("L", size, 0) for _ in range(3))
        self.cast = Image.new("L", size, 0) if lay else None
        self._soft, self._tight, self._light = (
            ImageDraw.Draw(self.soft),
            ImageDraw.Draw(self.tight),
            ImageDraw.Draw(self.light),
        )
        self._cast = ImageDraw.Draw(self.cast) if self.cast is not None else None

    def placed(self, matrix: Matrix, lay: bool) -> _ShadowPen:
        """This pen for one of several products in a picture, casting its silhouette only if it is a garment."""
        pen = self.then(matrix)
        assert isinstance(pen, _ShadowPen)
        if not lay:
            pen._cast = None
        return pen

    def _offset(self, xy: list[Point]) -> list[Point]:
        drop = 22 * self.scale  # the garment floats a finger's width above the backdrop
        return [(x + drop * 0.4, y + drop) for x, y in xy]

    def _fill(self, xy: list[Point], colour: RGB) -> None:
        if self._cast is not None:
            self._cast.polygon(self._offset(xy), fill=255)

    def _line(self, xy: list[Point], colour: RGB, width: int) -> None:
        if self._cast is not None:
            self._cast.line(self._offset(xy), fill=255, width=width)

    def _dot(self, x: float, y: float, r: float, colour: RGB) -> None:
        return

    def shadow(self, cx: float, cy: float, rx: float, ry: float, strength: float = 1) -> None:
        self._soft.polygon(self._map(_oval(cx, cy - ry * 0.5, rx * 1.08, ry * 2.6)), fill=round(150 * strength))
        self._tight.polygon(self._map(_oval(cx, cy, rx * 0.92, ry * 0.7)), fill=round(255 * strength))

    def glow(self, cx: float, cy: float, rx: float, ry: float) -> None:
        self._light.polygon(self._map(_oval(cx, cy, rx, ry)), fill=255)

    def backdrop(self, top: RGB, bottom: RGB, spot: bool, warm: RGB | None) -> Image.Image:
        """The studio: a vertical gradient (a soft spotlight behind a second set-up), then the shadows, full size."""
        w, h = self.soft.size
        column = Image.new("RGB", (1, h))
        column.putdata([_mix(top, bottom, (y / (h - 1)) ** 1.2) for y in range(h)])
        plain = column.resize((w, h), Image.Resampling.NEAREST)
        ground = plain
        if spot:
            spotlight = Image.new("L", (w, h), 0)
            ImageDraw.Draw(spotlight).ellipse((w * 0.18, h * 0.05, w * 0.82, h * 0.9), fill=90)
            ground = Image.composite(_lift(ground, 0.35), ground, spotlight.filter(ImageFilter.GaussianBlur(w / 10)))
        mask = ImageChops.add(
            self.soft.filter(ImageFilter.GaussianBlur(12)).point(lambda v: v * 0.45),
            self.tight.filter(ImageFilter.GaussianBlur(2.5)).point(lambda v: v * 0.62),
        )
        if self.cast is not None:
            mask = ImageChops.add(mask, self.cast.filter(ImageFilter.GaussianBlur(7)).point(lambda v: v * 0.3))
        ground = Image.composite(ground.point(lambda v: v * 0.42), ground, mask)
        if warm is not None:
            ground = Image.composite(
                Image.new("RGB", (w, h), warm), ground, self.light.filter(ImageFilter.GaussianBlur(22))
            )
        # Scaling up a whole frame costs more than drawing the product: scale the plain gradient as one column,
        # and only the patch the shadows and lights touch as a picture.
        image = column.resize((1, HEIGHT), Image.Resampling.BILINEAR).resize((WIDTH, HEIGHT), Image.Resampling.NEAREST)
        touched = ImageChops.difference(ground, plain).getbbox()
        if touched is not None:
            x0, y0, x1, y1 = touched
            patch = ground.resize(((x1 - x0) * _SMALL, (y1 - y0) * _SMALL), Image.Resampling.BILINEAR, box=touched)
            image.paste(patch, (x0 * _SMALL, y0 * _SMALL))
        return image


def _lift(image: Image.Image, t: float) -> Image.Image:
    return image.point(lambda v: v + (255 - v) * t)


def _band(points: Sequence[Point], dx: float, dy: float = 0) -> list[Point]:
    """A strip along a line, `dx`, `dy` wide: a shaded edge, a hem, a strap."""
    return [*points, *reversed(_shift(points, dx, dy))]


def _teeth(pen: _Pen, points: Sequence[Point], width: float = 14) -> None:
    """A zip: a tape with short metal teeth along it."""
    pen.stroke(points, _scale(_METAL, 0.45), width * 0.6)
    pen.dashes(points, _METAL, width, dash=3.5, gap=4)


def _pull(pen: _Pen, x: float, y: float, down: bool = True) -> None:
    y1 = y + 48 if down else y - 48
    pen.rect(x - 10, min(y, y1), x + 10, max(y, y1), _METAL, _scale(_METAL, 0.5), r=7, width=3)
    pen.oval(x, y1 - 14 if down else y1 + 14, 4, 7, _scale(_METAL, 0.45))


def _button(pen: _Pen, x: float, y: float, r: float, colour: RGB) -> None:
    pen.oval(x, y, r, r, colour, _scale(colour, 0.6), 2.5)
    pen.oval(x - r * 0.3, y, r * 0.16, r * 0.16, _scale(colour, 0.55))
    pen.oval(x + r * 0.3, y, r * 0.16, r * 0.16, _scale(colour, 0.55))


# Garments ---------------------------------------------------------------------------------------------------------


def _sleeves(pen: _Pen, t: _Tones, left: list[Point], cuff: list[Point], inner: list[Point]) -> None:
    for flip in (False, True):
        pen.poly(_side(left, flip), t.base, t.line)
        pen.poly(_side(inner, flip), t.shade)
        pen.poly(_side(cuff, flip), t.shade, t.line)


def _draw_jacket(pen: _Pen, t: _Tones, side: bool) -> None:
    body = _sym((800, 252), (702, 242), ((628, 256), (574, 292)), ((600, 380), (606, 470)), (610, 928), (800, 930))
    pen.poly(body, t.base, t.line)
    pen.poly(_band(_path((996, 470), ((990, 700), (992, 928))), -52), t.shade)
    pen.poly([(610, 872), (990, 872), (990, 928), (610, 928)], t.shade, t.line, 4)
    pen.poly(body, None, t.line)
    sleeve = _path(
        (578, 290), ((506, 318), (484, 470)), (452, 878), (556, 884), ((572, 650), (606, 470)), ((600, 380), (578, 290))
    )
    inner = _band(_path((556, 884), ((572, 650), (606, 470))), -26)
    _sleeves(pen, t, sleeve, [(456, 826), (552, 830), (556, 884), (452, 878)], inner)
    for flip in (False, True):
        crease = _path((478, 610), ((506, 628), (536, 616)))
        pen.stroke(_side(crease, flip), t.shade, 5)
    if side:
        pen.poly(
            _path((702, 246), (706, 170), ((800, 156), (894, 170)), (898, 246), ((800, 262), (702, 246))),
            t.base,
            t.line,
        )
        pen.poly(_band(_path((706, 172), ((800, 158), (894, 172))), 0, 16), t.light)
        pen.dashes(_path((588, 340), ((800, 400), (1012, 340))), t.line, 4)
        pen.stroke(_path((588, 334), ((800, 394), (1012, 334))), t.shade, 4)
        for x in (706, 894):
            pen.dashes(_path((x, 380), ((x - 8, 620), (x, 870))), t.shade, 4)
        pen.rect(780, 262, 820, 294, _CREAM, t.line, r=4, width=3)
        return
    pen.poly(_path((706, 248), (708, 168), ((800, 154), (892, 168)), (894, 248)), t.deep)
    left_collar = _path((800, 286), (704, 250), (704, 172), ((752, 188), (800, 194)))
    pen.poly(left_collar, t.base, t.line)
    pen.poly(_mirror(left_collar), t.shade, t.line)
    pen.poly([(806, 282), (842, 286), (842, 872), (806, 872)], t.base, t.line, 3)
    pen.dashes([(832, 300), (832, 866)], t.line, 3)
    _teeth(pen, [(800, 194), (800, 928)])
    _pull(pen, 800, 206)
    _pull(pen, 800, 920, down=False)
    _teeth(pen, [(704, 372), (690, 528)], 11)
    _pull(pen, 704, 378)
    for flip in (False, True):
        pen.poly(_side(_rounded(640, 660, 768, 812, 12), flip), None, t.line, 4)
        pen.dashes(_side([(650, 700), (650, 802), (758, 802), (758, 700)], flip), t.line, 3)
        pen.poly(_side(_rounded(634, 640, 774, 702, 10), flip), t.base, t.line, 4)
        pen.poly(_side(_band([(638, 690), (770, 690)], 0, 10), flip), t.shade)
        pen.oval(*_side([(704, 672)], flip)[0], 8, 8, t.deep)


def _draw_shirt(pen: _Pen, t: _Tones, side: bool) -> None:
    body = _sym(
        (800, 262),
        (712, 248),
        ((640, 262), (588, 296)),
        ((606, 380), (614, 470)),
        (618, 862),
        ((620, 908), (664, 918)),
        ((740, 944), (800, 946)),
    )
    pen.poly(body, t.base, t.line)
    pen.poly(_band(_path((986, 470), (982, 900)), -40), t.shade)
    pen.poly(body, None, t.line)
    sleeve = _path(
        (592, 292), ((522, 318), (502, 470)), (476, 838), (568, 842), ((580, 640), (614, 470)), ((608, 380), (592, 292))
    )
    inner = _band(_path((568, 842), ((580, 640), (614, 470))), -22)
    _sleeves(pen, t, sleeve, [(479, 784), (566, 788), (568, 842), (476, 838)], inner)
    for flip in (False, True):
        pen.dashes(_side([(540, 738), (542, 784)], flip), t.line, 3)
        button = _side([(546, 812)], flip)[0]
        _button(pen, button[0], button[1], 8, t.light)
        pen.stroke(_side(_path((640, 520), ((690, 580), (700, 660))), flip), t.shade, 4)
    if side:
        pen.poly(
            _path((712, 248), (716, 204), ((800, 192), (884, 204)), (888, 248), ((800, 262), (712, 248))),
            t.base,
            t.line,
        )
        pen.stroke(_path((716, 222), ((800, 212), (884, 222))), t.shade, 4)
        pen.stroke(_path((604, 350), ((800, 372), (996, 350))), t.line, 4)
        pen.dashes(_path((604, 362), ((800, 384), (996, 362))), t.line, 3)
        pen.poly([(786, 372), (814, 372), (822, 452), (778, 452)], t.shade)
        pen.stroke([(786, 372), (778, 452)], t.line, 3)
        pen.stroke([(814, 372), (822, 452)], t.line, 3)
        pen.stroke(_path((790, 386), ((800, 368), (810, 386))), t.line, 4)
        return
    pen.poly(_path((716, 250), (720, 206), ((800, 194), (880, 206)), (884, 250)), t.deep)
    pen.rect(772, 206, 828, 266, t.base, t.line, r=6, width=4)
    pen.rect(786, 262, 814, 946, t.base, t.line, width=4)
    left_collar = [(798, 262), (714, 214), (698, 246), (728, 334), (800, 278)]
    pen.poly(left_collar, t.base, t.line)
    pen.poly(_mirror(left_collar), t.base, t.line)
    pen.poly(_band([(712, 228), (700, 250)], 10), t.shade)
    for y in (236, 330, 440, 550, 660, 770, 880):
        _button(pen, 800, y, 10, t.light if t.dark else _mix(t.base, _WHITE, 0.6))
    pocket = [(858, 410), (960, 410), (960, 520), (909, 540), (858, 520)]
    pen.poly(pocket, t.base, t.line, 4)
    pen.dashes([(868, 430), (950, 430)], t.line, 3)
    pen.stroke([(858, 420), (960, 420)], t.shade, 3)


def _ribs(pen: _Pen, t: _Tones, x0: float, x1: float, y0: float, y1: float, step: float = 13) -> None:
    pen.rect(x0, y0, x1, y1, t.shade, t.line, width=4)
    x = x0 + step
    while x < x1 - 4:
        pen.stroke([(x, y0 + 5), (x, y1 - 5)], _scale(t.shade, 0.86), 3)
        x += step


def _cables(pen: _Pen, t: _Tones, columns: Sequence[float], y0: float, y1: float) -> None:
    """Cable knit: ropes of crossing stitches, with plain purl gutters either side."""
    for x in columns:
        pen.rect(x - 34, y0, x + 34, y1, t.shade)
        pen.rect(x - 26, y0, x + 26, y1, t.base)
        y = y0
        while y + 64 <= y1:
            pen.stroke(_path((x + 18, y), ((x, y + 32), (x - 18, y + 64))), t.shade, 14)
            pen.stroke(_path((x - 18, y), ((x, y + 32), (x + 18, y + 64))), _mix(t.base, t.light, 0.5), 14)
            y += 64


def _crew_neck(pen: _Pen, t: _Tones, y: float, rx: float, ry: float) -> None:
    """A ribbed band round the neck opening, the inside of the back showing through it."""
    pen.oval(800, y + 8, rx + 32, ry + 18, t.shade, t.line, 4)
    pen.oval(800, y, rx, ry, t.deep, t.line, 3)
    pen.poly(_oval(800, y, rx, ry, 180, 360), _scale(t.deep, 0.8))
    for a in map(math.radians, range(0, 360, 8)):
        inner = (800 + (rx + 6) * math.cos(a), y + (ry + 4) * math.sin(a))
        outer = (800 + (rx + 26) * math.cos(a), y + 8 + (ry + 14) * math.sin(a))
        pen.stroke([inner, outer], _scale(t.shade, 0.86), 3)


def _draw_sweater(pen: _Pen, t: _Tones, side: bool) -> None:
    if side:  # folded on a shelf, as a shop shows knitwear
        pen.rect(460, 392, 1140, 888, t.deep, t.line, r=40)
        pen.rect(460, 360, 1140, 856, t.base, t.line, r=40)
        for x in range(520, 1100, 24):
            if abs(x - 800) > 150:
                pen.stroke([(x, 410), (x, 790)], t.shade, 3)
        _cables(pen, t, (800, 690, 910), 430, 790)
        _ribs(pen, t, 462, 1138, 790, 856)
        pen.poly(_band(_path((500, 380), ((494, 600), (500, 840))), 22), t.shade)
        pen.poly(_band(_path((1100, 380), ((1106, 600), (1100, 840))), -22), t.shade)
        _crew_neck(pen, t, 360, 120, 40)
        return
    body = _sym((800, 262), (700, 244), ((620, 260), (566, 300)), (580, 520), (590, 910), (800, 912))
    pen.poly(body, t.base, t.line)
    for x in range(612, 1000, 24):
        if abs(x - 800) > 140 and abs(x - 690) > 40 and abs(x - 910) > 40:
            pen.stroke([(x, 318), (x, 846)], t.shade, 3)
    _cables(pen, t, (800, 690, 910), 318, 846)
    pen.poly(_band(_path((1010, 520), (1008, 850)), -34), t.shade)
    _ribs(pen, t, 590, 1010, 850, 912)
    sleeve = _path((566, 300), ((500, 330), (470, 520)), (452, 884), (548, 888), ((576, 640), (588, 520)), (576, 420))
    inner = _band(_path((548, 888), ((576, 640), (588, 520))), -24)
    for flip in (False, True):
        pen.poly(_side(sleeve, flip), t.base, t.line)
        pen.poly(_side(inner, flip), t.shade)
        for x in (486, 514):
            pen.stroke(_side(_path((x, 420), (x - 14, 800)), flip), t.shade, 3)
    for flip in (False, True):
        cuff_left = [(450, 822), (552, 826), (548, 888), (448, 884)]
        pen.poly(_side(cuff_left, flip), t.shade, t.line, 4)
        for i in range(1, 8):
            x = 450 + i * 12.5
            pen.stroke(_side([(x, 828), (x - 1, 882)], flip), _scale(t.shade, 0.86), 3)
    _crew_neck(pen, t, 254, 106, 36)


def _draw_trousers(pen: _Pen, t: _Tones, side: bool) -> None:
    legs = _sym((800, 196), (590, 196), (578, 380), ((582, 700), (606, 1080)), (768, 1080), ((782, 700), (800, 470)))
    pen.poly(legs, t.base, t.line)
    for flip in (False, True):
        pen.poly(_side(_band(_path((800, 470), ((782, 700), (768, 1080))), -30), flip), t.shade)
        pen.poly(_side(_band(_path((580, 560), ((583, 800), (604, 1080))), 18), flip), t.shade if flip else t.light)
        pen.stroke(_side([(690, 380), (692, 1040)], flip), t.shade, 4)
        pen.poly(_side([(603, 1040), (770, 1040), (768, 1080), (606, 1080)], flip), t.shade, t.line, 4)
        for y in (690, 716):
            pen.stroke(_side(_path((700, y), ((730, y + 12), (766, y - 4))), flip), t.shade, 4)
        if side:
            pen.poly(_side(_rounded(634, 300, 752, 312, 0), flip), t.deep)
            pen.dashes(_side([(626, 290), (760, 290), (760, 324), (626, 324)], flip), t.line, 3)
            pen.oval(*_side([(693, 330)], flip)[0], 7, 7, t.light, t.line, 2)
            pen.stroke(_side(_path((582, 250), ((700, 262), (800, 290))), flip), t.line, 4)
        else:
            pen.stroke(_side(_path((636, 198), ((642, 290), (582, 320))), flip), t.line, 5)
            pen.dashes(_side(_path((650, 198), ((656, 304), (582, 338))), flip), t.line, 3)
    pen.poly(legs, None, t.line)
    if side:
        pen.dashes([(800, 290), (800, 470)], t.line, 3)
    else:
        pen.stroke([(800, 198), (800, 450)], t.line, 4)
        pen.dashes(_path((826, 200), (826, 404), ((826, 444), (800, 458))), t.line, 3)
    pen.rect(590, 150, 1010, 198, t.base, t.line, width=5)
    pen.dashes([(596, 159), (1004, 159)], t.line, 3)
    pen.dashes([(596, 189), (1004, 189)], t.line, 3)
    for x in (618, 712, 800, 888, 982) if side else (618, 712, 888, 982):
        pen.rect(x - 10, 142, x + 10, 210, t.base, t.line, r=3, width=4)
    if side:
        pen.rect(900, 158, 960, 190, _LEATHER, _scale(_LEATHER, 0.6), r=3, width=3)
    else:
        pen.oval(800, 174, 13, 13, _METAL, _scale(_METAL, 0.5), 3)


# Footwear ---------------------------------------------------------------------------------------------------------


def _lace_colour(t: _Tones) -> RGB:
    return _CREAM if t.dark or t.pale else _mix(t.base, _WHITE, 0.7)


def _sneaker(pen: _Pen, t: _Tones) -> None:
    sole = _CREAM if not t.pale else (200, 156, 104)  # a white shoe on a gum sole, the classic
    pen.shadow(815, 868, 500, 22)
    tongue = _path((820, 470), (842, 350), ((890, 326), (944, 344)), (968, 446))
    pen.poly(tongue, t.base, t.line)
    pen.stroke(_path((852, 362), ((892, 342), (934, 356))), t.shade, 9)
    collar = _path((950, 440), ((1050, 500), (1150, 446)), (1236, 400), (1282, 410))
    upper = _path((324, 760), ((318, 640), (470, 612)), (590, 590), (700, 540), (840, 448), (870, 432), *collar)
    upper += _path((1282, 410), ((1318, 600), (1300, 790)), (400, 790))[1:]
    pen.poly(upper, t.base, t.line)
    pen.poly(_band(collar, 0, 28), t.shade)
    pen.poly(
        _path((1140, 790), ((1146, 600), (1246, 420)), (1284, 414), ((1318, 600), (1300, 790))), t.shade, t.line, 4
    )
    overlay = t.light if t.dark else t.base if t.pale else t.shade  # a white shoe stays white, its panels outlined
    pen.poly(
        _path((324, 760), ((318, 640), (470, 612)), (520, 606), ((566, 700), (540, 790))),
        t.base if t.pale else t.shade,
        t.line,
        4,
    )
    pen.dashes(_path((344, 752), ((344, 656), (470, 630)), (504, 626)), t.line, 3)
    for x, y in ((400, 680), (430, 664), (460, 654), (415, 705), (445, 690)):
        pen.oval(x, y, 4, 4, t.deep)
    panel = _path((700, 790), ((860, 600), (1110, 560)), (1160, 590), ((960, 650), (860, 790)))
    pen.poly(panel, overlay, t.line, 4)
    pen.dashes(_path((730, 780), ((870, 626), (1100, 580))), t.line, 3)
    pen.rect(1262, 372, 1300, 452, t.shade, t.line, r=10, width=4)
    pen.poly(_band([(596, 606), (880, 448)], 0, -46), t.shade, t.line, 4)
    lace = _lace_colour(t)
    eyelets = [_between((624, 578), (862, 434), i / 5) for i in range(6)]
    for x, y in eyelets:
        pen.stroke([(x, y), (x + 30, y - 38)], lace, 13)
        pen.stroke([(x, y), (x + 30, y - 38)], _scale(lace, 0.8), 3)
    for x, y in eyelets:
        pen.oval(x, y, 9, 9, _METAL, t.line, 3)
    bow = eyelets[-1]
    pen.stroke(_path(bow, ((bow[0] + 70, bow[1] - 70), (bow[0] + 24, bow[1] - 90))), lace, 11)
    pen.stroke(_path(bow, ((bow[0] - 30, bow[1] + 80), (bow[0] + 26, bow[1] + 120))), lace, 9)
    sole_shape = _path(
        (318, 752),
        (400, 786),
        (1300, 786),
        (1312, 806),
        ((1314, 868), (1250, 870)),
        (430, 870),
        ((330, 862), (318, 752)),
    )
    pen.poly(sole_shape, sole, _scale(sole, 0.62))
    pen.poly([(332, 848), (1310, 848), (1306, 870), (420, 870)], _scale(sole, 0.82))
    pen.poly(sole_shape, None, _scale(sole, 0.62))
    pen.dashes([(372, 808), (1292, 808)], _scale(sole, 0.55), 4, dash=12, gap=8)


def _draw_sneaker(pen: _Pen, t: _Tones, side: bool) -> None:
    if side:  # the pair, the second a step behind
        _sneaker(pen.then(_affine(0.8, centre=(800, 860), to=(940, 760))), t)
        _sneaker(pen.then(_affine(0.86, centre=(800, 860), to=(720, 900))), t)
        return
    _sneaker(pen, t)


def _boot(pen: _Pen, t: _Tones) -> None:
    pen.shadow(740, 886, 450, 22)
    welt = _mix(t.base, _CREAM, 0.35) if not t.dark else (70, 58, 48)
    tongue = _path((806, 318), (824, 250), ((860, 240), (890, 252)), (880, 320))
    pen.poly(tongue, t.base, t.line)
    upper = _path(
        (318, 784),
        ((304, 640), (450, 614)),
        (640, 580),
        ((748, 560), (786, 500)),
        (812, 300),
        (1080, 288),
        ((1090, 420), (1110, 540)),
        ((1170, 680), (1160, 784)),
    )
    pen.poly(upper, t.base, t.line)
    pen.poly(_band(_path((1080, 290), ((1090, 420), (1110, 540)), ((1170, 680), (1160, 784))), -40), t.shade)
    pen.poly(_band([(812, 304), (1080, 292)], 0, 26), t.shade)
    pen.rect(1046, 236, 1082, 312, None, t.line, r=14, width=10)
    pen.rect(1046, 236, 1082, 312, None, t.shade, r=14, width=5)
    pen.stroke(_path((380, 704), ((420, 676), (500, 668))), t.light, 12)
    pen.stroke([(930, 360), (944, 560)], t.light, 14)
    pen.dashes(_path((510, 652), ((560, 720), (520, 784))), t.line, 4)
    pen.dashes(_path((996, 784), ((1000, 660), (1104, 560))), t.line, 4)
    pen.stroke(_path((984, 784), ((990, 650), (1096, 548))), t.shade, 5)
    eyestay = _band(_path((812, 300), (788, 510), ((760, 570), (690, 586))), 40)
    pen.poly(eyestay, t.shade, t.line, 4)
    lace = (120, 84, 52) if not t.dark else (96, 90, 84)
    hooks = [_between((826, 320), (810, 540), i / 5) for i in range(6)]
    for x, y in hooks:
        pen.stroke([(x, y), (x - 26, y + 22)], lace, 11)
    for i, (x, y) in enumerate(hooks):
        if i < 3:
            pen.stroke(_path((x, y), ((x + 18, y - 4), (x + 14, y + 10))), _METAL, 7)
        pen.oval(x, y, 8, 8, _METAL, t.line, 3)
    pen.stroke(_path(hooks[0], ((hooks[0][0] + 60, hooks[0][1] - 40), (hooks[0][0] + 50, hooks[0][1] - 80))), lace, 10)
    pen.stroke(_path(hooks[0], ((hooks[0][0] - 50, hooks[0][1] + 20), (hooks[0][0] - 40, hooks[0][1] + 90))), lace, 9)
    pen.poly([(320, 768), (1160, 768), (1162, 792), (318, 792)], welt, _scale(welt, 0.6), 4)
    pen.dashes([(336, 780), (1150, 780)], _scale(welt, 0.5), 4, dash=10, gap=7)
    sole = _path(
        (318, 792),
        (1162, 792),
        (1164, 886),
        (944, 886),
        ((900, 862), (800, 862)),
        (760, 884),
        (380, 884),
        ((326, 880), (318, 792)),
    )
    pen.poly(sole, _RUBBER, _scale(_RUBBER, 0.6))
    pen.poly(
        [(322, 858), (1163, 858), (1164, 886), (944, 886), (920, 858), (780, 858), (760, 884), (380, 884)],
        _scale(_RUBBER, 0.72),
    )
    for x in range(360, 1160, 30):
        if not 770 < x < 940:
            pen.stroke([(x, 862), (x, 884)], (92, 88, 84), 5)
    pen.poly(sole, None, (28, 27, 26))


def _draw_boot(pen: _Pen, t: _Tones, side: bool) -> None:
    if side:
        _boot(pen.then(_affine(0.78, centre=(740, 880), to=(900, 800))), t)
        _boot(pen.then(_affine(0.84, centre=(740, 880), to=(680, 930))), t)
        return
    _boot(pen, t)


def _sandal(pen: _Pen, t: _Tones, place: Matrix) -> None:
    """A two-strap sandal drawn from above, toe up, placed (turned and squashed) by `place`."""
    foot = _path(
        (790, 170),
        ((950, 170), (975, 330)),
        ((985, 520), (950, 700)),
        ((935, 900), (905, 980)),
        ((860, 1036), (800, 1036)),
        ((720, 1036), (690, 960)),
        ((670, 860), (680, 720)),
        ((700, 600), (650, 480)),
        ((620, 360), (630, 260)),
        ((650, 170), (790, 170)),
    )
    top = pen.then(place)
    a, b, c, d, e, f = place
    for dy, colour in (
        (56, _RUBBER),
        (48, _RUBBER),
        (40, (214, 178, 130)),
        (30, (214, 178, 130)),
        (20, (214, 178, 130)),
        (10, (214, 178, 130)),
    ):
        pen.then((a, b, c, d, e, f + dy)).poly(foot, colour, None)
    pen.then((a, b, c, d, e, f + 56)).poly(foot, None, (40, 38, 36), 4)
    pen.then((a, b, c, d, e, f + 40)).poly(foot, None, (170, 136, 96), 3)
    top.poly(foot, t.base, t.line)
    top.stroke(_path((660, 290), ((800, 250), (960, 300))), t.shade, 10)
    top.poly(
        _path((700, 900), ((800, 830), (900, 900)), ((890, 1010), (800, 1016)), ((710, 1010), (700, 900))), t.shade
    )
    metal = _BRASS if t.name != "black" else _METAL
    for x0, x1, y0, y1, bow in ((612, 996, 330, 440, 24), (664, 970, 590, 700, 26)):
        strap = _path((x0, y0), ((800, y0 - bow), (x1, y0)), (x1, y1), ((800, y1 - bow), (x0, y1)))
        pen.then((a, b, c, d, e, f + 22)).poly(strap, t.deep)
        top.poly(strap, t.base, t.line)
        top.stroke(_path((x0 + 10, y0 + 18), ((800, y0 - bow + 18), (x1 - 10, y0 + 18))), t.light, 10)
        middle = (y0 + y1) / 2
        top.dashes(_path((x0 + 10, middle + 34), ((800, middle - bow + 34), (x1 - 10, middle + 34))), t.line, 3)
        top.rect(x1 - 110, y0 - 12, x1 - 50, y1 + 12, None, metal, r=8, width=12)
        top.stroke([(x1 - 80, y0 + 4), (x1 - 80, middle)], metal, 7)
        for x in (x1 - 26, x1 - 8):
            top.oval(x, middle, 6, 6, t.deep)


def _draw_sandal(pen: _Pen, t: _Tones, side: bool) -> None:
    if side:  # one of them turned, from nearer the floor
        pen.shadow(800, 700, 470, 36)
        _sandal(pen, t, _compose(_flat(0.56, (800, 620)), _affine(1.12, -68, to=(800, 600))))
        return
    for x, mirror in ((592, True), (1008, False)):  # the pair from above, toes out a little, buckles outside
        place = _compose(_flat(0.64, (800, 620)), _affine(1.0, -7 if mirror else 7, to=(x, 600)))
        _sandal(pen, t, _compose(place, _flip()) if mirror else place)


# Home -------------------------------------------------------------------------------------------------------------


def _draw_pan(pen: _Pen, t: _Tones, side: bool) -> None:
    iron = t.name == "black"  # cast iron: a short thick handle and a helper lug; the others a long riveted one
    sheen = _mix(t.base, _WHITE, 0.45 if not iron else 0.14)
    if side:
        pen.shadow(700, 724, 300, 20)
        pen.poly(_path((990, 590), (1340, 474), ((1372, 470), (1366, 502)), (1000, 632)), t.shade, t.line)
        pen.oval(1322, 490, 10, 7, t.deep)
        body = _path((380, 560), (1020, 560), ((990, 716), (930, 722)), (470, 722), ((410, 716), (380, 560)))
        pen.poly(body, t.base, t.line)
        pen.poly(_band(_path((440, 580), ((450, 690), (490, 716))), 44), sheen)
        pen.poly(_band(_path((960, 580), ((950, 690), (910, 716))), -60), t.shade)
        pen.poly(body, None, t.line)
        pen.oval(700, 560, 320, 40, _mix(t.base, _WHITE, 0.3), t.line)
        pen.oval(700, 562, 298, 30, t.deep)
        if not iron:
            for y in (582, 610):
                pen.oval(1002, y, 8, 8, sheen, t.line, 2)
        return
    cx, cy, rx, ry, depth = 700, 560, 350, 222, 84
    pen.shadow(cx, cy + depth + ry * 0.8, rx * 0.95, 40)
    if iron:
        pen.poly(
            _path(
                (cx + rx - 30, cy - 34),
                (1196, cy - 66),
                ((1250, cy - 74), (1254, cy - 24)),
                (1248, cy + 6),
                (cx + rx - 20, cy + 40),
            ),
            t.base,
            t.line,
        )
        pen.oval(1214, cy - 34, 16, 12, _scale(_FRONT_BACKDROP[0], 0.95), t.line, 3)
        pen.poly(_rounded(cx - rx - 70, cy - 40, cx - rx + 40, cy + 30, 30), t.base, t.line)
    else:
        handle = _path(
            (cx + rx - 40, cy - 20), (1350, cy - 140), ((1392, cy - 150), (1390, cy - 108)), (cx + rx - 20, cy + 44)
        )
        pen.poly(handle, t.shade, t.line)
        pen.stroke([(cx + rx + 20, cy - 14), (1350, cy - 128)], sheen, 8)
        pen.oval(1354, cy - 122, 14, 9, _scale(_FRONT_BACKDROP[0], 0.95), t.line, 3)
    wall = [(cx + rx, cy), *_oval(cx, cy + depth, rx * 0.94, ry * 0.92, 0, 180), (cx - rx, cy)]
    pen.poly(wall, t.shade, t.line)
    pen.poly(
        _band(_path((cx - rx + 40, cy + 90), ((cx - rx + 70, cy + 200), (cx - rx + 150, cy + 250))), 50),
        sheen if not iron else t.light,
    )
    pen.oval(cx, cy, rx, ry, _mix(t.base, _WHITE, 0.3), t.line)
    pen.oval(cx, cy, rx - 18, ry - 14, t.deep)
    pen.oval(cx, cy + 24, rx * 0.82, ry * 0.76, t.base)
    pen.stroke(_oval(cx, cy, rx - 30, ry - 24, 200, 262), sheen, 10)
    for k in (0.32, 0.5, 0.66):
        pen.stroke(_oval(cx, cy + 24, rx * 0.82 * k, ry * 0.76 * k, 200, 250), _mix(t.base, sheen, 0.5), 6)
    if not iron:
        for y in (cy - 18, cy + 22):
            pen.oval(cx + rx - 40, y, 10, 8, sheen, t.line, 2)


def _draw_lamp(pen: _Pen, t: _Tones, side: bool) -> None:
    """A table lamp in one finish: a tapered drum shade, a slim stem and a weighted round base."""
    if side:
        pen.glow(800, 700, 420, 260)
        pen.glow(800, 200, 240, 110)
    pen.shadow(800, 946, 200, 22)
    cord = _path((940, 930), ((1060, 980), (1140, 972)), (1300, 980))
    pen.stroke(cord, _scale(t.base, 0.5) if not t.dark else (70, 70, 74), 10)
    pen.rect(1150, 960, 1212, 986, _CREAM, (120, 116, 110), r=8, width=3)
    pen.oval(1181, 966, 10, 3, (180, 174, 164))
    pen.oval(800, 944, 176, 36, t.deep, t.line)
    pen.rect(624, 904, 976, 944, t.shade)
    pen.oval(800, 904, 176, 36, t.base, t.line)
    pen.stroke(_oval(800, 904, 150, 26, 150, 240), t.light, 8)
    pen.poly([(624, 904), (624, 944)], None, t.line)
    pen.poly([(976, 904), (976, 944)], None, t.line)
    pen.oval(800, 900, 40, 12, t.shade, t.line, 3)
    pen.rect(788, 590, 812, 902, t.base, t.line, width=4)
    pen.stroke([(796, 600), (796, 890)], t.light, 5)
    pen.oval(800, 748, 20, 8, t.light, t.line, 3)

    def band(a0: float, a1: float) -> list[Point]:
        return [*_oval(800, 580, 312, 56, a0, a1), *_oval(800, 240, 190, 34, a1, a0)]

    shade = band(180, 0)
    pen.poly(shade, t.base, t.line)
    pen.poly(band(180, 150), t.light)
    pen.poly(band(42, 0), t.shade)
    pen.poly(band(14, 0), t.deep)
    pen.poly(shade, None, t.line)
    pen.stroke(_oval(800, 580, 312, 56, 180, 0), t.light if not t.dark else t.line, 8)
    lit = (255, 238, 196)
    pen.oval(800, 240, 190, 34, lit if side else t.deep, t.line)
    if not side:
        pen.poly(_oval(800, 240, 190, 34, 0, 180), _scale(t.deep, 0.85))
    pen.oval(800, 236, 20, 6, _mix(t.base, _WHITE, 0.4), t.line, 2)


def _draw_throw(pen: _Pen, t: _Tones, side: bool) -> None:
    stripe = _CREAM if not t.pale else _scale(t.base, 0.62)
    if side:  # rolled and tied, as it would travel
        pen.shadow(810, 800, 400, 26)
        for i in range(18):
            a = math.radians(-70 + i * 8)
            x, y = 1160 + 78 * math.cos(a), 610 + 176 * math.sin(a)
            pen.stroke([(x, y), (x + 60, y + 10)], t.line, 9)
            pen.stroke([(x, y), (x + 60, y + 10)], t.light, 5)
        pen.oval(1160, 610, 80, 180, t.shade, t.line)
        pen.rect(460, 430, 1160, 790, t.base)
        pen.rect(460, 700, 1160, 790, t.shade)
        pen.rect(460, 470, 1160, 500, t.light)
        pen.stroke([(460, 430), (1160, 430)], t.line, 5)
        pen.stroke([(460, 790), (1160, 790)], t.line, 5)
        for x in (560, 1044):
            for dx, width, colour in ((0, 26, t.deep), (34, 10, stripe)):
                pen.poly(_band(_path((x + dx, 432), ((x + dx + 16, 610), (x + dx, 788))), width), colour)
        for x in (700, 920):
            pen.poly(_band(_path((x, 424), ((x + 18, 610), (x, 796))), 40), _LEATHER, _scale(_LEATHER, 0.6), 3)
            pen.rect(x - 6, 700, x + 50, 736, None, _BRASS, r=4, width=7)
        pen.oval(460, 610, 80, 180, t.shade, t.line)
        spiral = [
            (460 + 78 * (1 - k / 300) * math.cos(k * 0.1), 610 + 176 * (1 - k / 300) * math.sin(k * 0.1))
            for k in range(0, 280, 2)
        ]
        pen.stroke(spiral, t.deep, 6)
        return
    pen.shadow(820, 846, 420, 22)
    top = [(440, 566), (1120, 566), (1200, 430), (520, 430)]
    pen.poly([(1120, 566), (1200, 430), (1200, 708), (1120, 846)], t.shade, t.line)
    for k in range(1, 4):
        pen.stroke([(1120, 566 + 70 * k), (1200, 430 + 70 * k)], t.deep, 4)
    for k in range(4):
        y = 566 + 70 * k
        pen.rect(440, y, 1120, y + 70, t.base, t.line, r=34, width=4)
        pen.rect(456, y + 46, 1104, y + 66, t.shade, r=10)
    pen.poly(top, t.base, t.line)
    for i in range(1, 34):
        p, q = _between((440, 566), (1120, 566), i / 34), _between((520, 430), (1200, 430), i / 34)
        pen.stroke([_between(p, q, 0.05), _between(p, q, 0.95)], _mix(t.base, t.shade, 0.6), 2)
    pen.poly(top, None, t.line)
    # The fringed end is folded over the front, as a shop stacks a throw.
    pen.rect(440, 560, 1120, 684, t.base, t.line, r=14)
    pen.rect(444, 562, 1116, 578, t.light, r=8)
    pen.rect(442, 636, 1118, 654, t.deep)
    pen.rect(442, 662, 1118, 670, stripe)
    for x in range(452, 1112, 14):
        tassel = _path((x, 684), ((x + 4, 716), (x + 1, 752)))
        pen.stroke(tassel, t.line, 9)
        pen.stroke(tassel, t.light, 5)


# Outdoor ----------------------------------------------------------------------------------------------------------

_GUY: RGB = (150, 146, 138)
_PEG: RGB = (120, 122, 126)


def _peg(pen: _Pen, x: float, y: float) -> None:
    pen.stroke([(x, y - 26), (x + 6, y + 6)], _PEG, 8)
    pen.stroke(_path((x, y - 26), ((x - 14, y - 34), (x - 12, y - 18))), _PEG, 6)


def _draw_tent(pen: _Pen, t: _Tones, side: bool) -> None:
    """A two-pole dome in three-quarter view: a door at the front, a porch side, guy lines out to pegs."""
    if side:  # from the other corner, the door zipped shut
        pen = pen.then(_flip())
    L, R, BR, A, B = (380, 890), (1040, 905), (1200, 808), (720, 356), (990, 334)
    pen.shadow(820, 886, 520, 40)
    for start, end in (((540, 540), (280, 904)), ((1140, 520), (1350, 868))):
        pen.stroke([start, end], _GUY, 3)
        x, y = _between(start, end, 0.78)
        pen.rect(x - 6, y - 9, x + 6, y + 9, _CREAM, None)
    _peg(pen, 280, 904)
    _peg(pen, 1350, 868)
    front_right = _path(A, ((960, 430), R))
    sides = [R, BR, *_path(BR, ((1180, 430), B))[1:], *_path(B, ((880, 330), A))[1:], *reversed(front_right)]
    pen.poly(sides, t.shade, t.line)
    pen.poly(_band(_path(BR, ((1180, 430), B)), -34), t.deep)
    pen.stroke(_path((1116, 858), ((1116, 450), (860, 344))), t.deep, 7)
    pen.poly([(1056, 430), (1116, 424), (1124, 470), (1064, 476)], t.deep, t.line, 3)
    front = _path(L, ((500, 440), A), ((960, 430), R))
    pen.poly(front, t.base, t.line)
    pen.poly(_band(_path(L, ((500, 440), A)), 36), t.light)
    pen.stroke(_path((520, 888), ((600, 520), (722, 366))), t.shade, 4)
    door = _path((580, 893), ((580, 570), (720, 548)), ((860, 570), (856, 900)))
    if side:
        pen.poly(door, t.shade, t.line, 4)
        pen.stroke(_path((718, 550), (718, 896)), _scale(t.line, 0.8), 4)
        pen.dashes(_path((718, 552), (718, 896)), _METAL, 8, dash=3, gap=4)
        _pull(pen, 718, 640)
    else:  # the fly rolled back on the inner tent's pale door, itself half open
        inner = _mix((214, 216, 210), t.base, 0.15)
        pen.poly(door, inner, t.line, 4)
        pen.poly(
            _path((616, 894), ((620, 610), (720, 598)), ((826, 610), (826, 898))),
            _mix(_INSIDE, t.base, 0.06),
            _scale(inner, 0.6),
            3,
        )
        pen.poly([(626, 860), (822, 862), (826, 898), (616, 894)], _mix(_INSIDE, t.base, 0.2))
        pen.dashes(_path((616, 894), ((620, 610), (720, 598)), ((826, 610), (826, 898))), _scale(inner, 0.7), 3)
        roll = _path((858, 880), ((862, 620), (760, 556)))
        pen.stroke(roll, t.line, 40)
        pen.stroke(roll, t.base, 32)
        for y in (640, 780):
            pen.stroke([(836, y), (880, y + 6)], _CREAM, 6)
    pen.dashes(door, t.line, 3)
    pen.poly(front, None, t.line)
    pen.stroke(_path(L, ((500, 440), A), ((960, 430), R)), t.deep, 7)
    pen.stroke(_path(A, ((880, 330), B)), t.deep, 7)
    for (x, y), colour in ((L, (200, 60, 52)), (R, (200, 60, 52)), (BR, (226, 180, 60))):
        pen.rect(x - 10, y - 30, x + 10, y + 2, colour, _scale(colour, 0.6), r=4, width=3)


def _draw_backpack(pen: _Pen, t: _Tones, side: bool) -> None:
    pen.shadow(800, 952, 300, 24)
    body = _path(
        (560, 430),
        ((560, 250), (800, 250)),
        ((1040, 250), (1040, 430)),
        (1040, 900),
        ((1040, 952), (990, 952)),
        (610, 952),
        ((560, 952), (560, 900)),
        (560, 430),
    )
    strap = t.deep
    if side:
        for flip in (False, True):
            wing = _path((566, 800), (470, 820), ((450, 860), (468, 904)), (566, 916))
            pen.poly(_side(wing, flip), t.base, t.line)
        pen.poly(body, t.base, t.line)
        pen.stroke(_path((770, 268), ((800, 210), (830, 268))), strap, 16)
        for x0, x1 in ((600, 786), (814, 1000)):
            pen.rect(x0, 320, x1, 690, t.shade, t.line, r=50, width=4)
            for y in range(350, 680, 28):
                pen.stroke([(x0 + 30, y), (x1 - 30, y)], _scale(t.shade, 0.88), 3)
        pen.rect(620, 716, 980, 850, t.shade, t.line, r=40, width=4)
        for flip in (False, True):
            line = _path((740, 290), ((640, 420), (664, 730)))
            pen.poly(_side(_band(line, -74), flip), t.base, t.line)
            pen.dashes(_side(_shift(line, -37, 0), flip), t.line, 3)
            pen.stroke(_side([(628, 730), (600, 900)], flip), strap, 22)
            pen.poly(_side(_rounded(586, 780, 630, 808, 6), flip), _RUBBER)
            pen.poly(_side([(470, 836), (548, 836)], flip), None, t.line, 4)
        pen.stroke([(640, 520), (960, 520)], strap, 16)
        pen.rect(780, 506, 820, 534, _RUBBER, None, r=6)
        return
    for flip in (False, True):
        pocket = _oval(566, 790, 44, 140)
        pen.poly(_side(pocket, flip), t.deep, t.line)
    pen.poly(body, t.base, t.line)
    pen.poly(_band(_path((1040, 430), (1040, 900)), -44), t.shade)
    pen.rect(562, 884, 1038, 950, t.deep, r=50)
    pen.poly(body, None, t.line)
    pen.stroke(_path((770, 268), ((800, 210), (830, 268))), strap, 16)
    lid = _path((590, 470), ((800, 350), (1010, 470)))
    pen.poly([*lid, *reversed(_path((560, 440), ((800, 250), (1040, 440))))], t.light)
    pen.poly(body, None, t.line)
    _teeth(pen, lid)
    _pull(pen, 640, 444)
    _pull(pen, 960, 444)
    pen.rect(620, 590, 980, 900, t.base, t.line, r=60)
    pen.rect(626, 850, 974, 894, t.shade, r=40)
    zip_line = _path((650, 650), ((800, 604), (950, 650)))
    _teeth(pen, zip_line)
    _pull(pen, 930, 640)
    pen.rect(764, 700, 836, 740, _LEATHER if t.name != "rust" else _CREAM, t.line, r=8, width=3)
    for flip in (False, True):
        for y in (520, 780):
            rect = _rounded(546, y, 640, y + 30, 4)
            pen.poly(_side(rect, flip), strap)
            buckle = _rounded(600, y - 6, 624, y + 36, 5)
            pen.poly(_side(buckle, flip), _RUBBER)


def _draw_stove(pen: _Pen, t: _Tones, side: bool) -> None:
    """A burner screwed onto a gas canister: the canister and the folding pot supports in the product's colour."""
    metal, metal_line = _METAL, _scale(_METAL, 0.5)
    arms = t.base if t.name != "steel" else _scale(_METAL, 0.82)
    # A smaller canister and a larger burner than life: the burner is what makes it read as a stove.
    low, pen = pen.then(_affine(0.8, centre=(800, 946))), pen.then(_affine(1.25, centre=(800, 572), to=(800, 647)))
    low.shadow(800, 940, 250, 26)
    can = [*_oval(800, 890, 240, 56, 180, 0), *_oval(800, 640, 240, 90, 0, -180)]
    low.poly(can, t.base, t.line)
    low.poly([*_oval(800, 890, 240, 56, 180, 0), *_oval(800, 862, 240, 56, 0, 180)], t.shade)

    def strip(x0: float, x1: float) -> list[Point]:
        """A vertical band of the canister between x0 and x1, from its shoulder to its base."""
        xs = [x0 + (x1 - x0) * i / 6 for i in range(7)]
        tops = [(x, 640 - 90 * math.sqrt(max(0.0, 1 - ((x - 800) / 240) ** 2))) for x in xs]
        bottoms = [(x, 890 + 56 * math.sqrt(max(0.0, 1 - ((x - 800) / 240) ** 2))) for x in reversed(xs)]
        return [*tops, *bottoms]

    low.poly(strip(600, 644), _mix(t.base, _WHITE, 0.3))
    low.poly(strip(960, 1040), t.shade)
    low.poly([*_oval(800, 800, 240, 56, 180, 0), *_oval(800, 714, 240, 56, 0, 180)], _CREAM)
    low.stroke(_oval(800, 730, 240, 56, 180, 0), t.base, 6)
    low.stroke(_oval(800, 784, 240, 56, 180, 0), t.base, 6)
    flame = _path((800, 722), ((840, 770), (816, 800)), ((800, 812), (784, 800)), ((760, 770), (800, 722)))
    low.poly(_shift(flame, 0, 40), t.base if t.name != "steel" else (212, 90, 40))
    low.poly(can, None, t.line)
    low.oval(800, 572, 96, 26, metal, metal_line, 4)
    low.oval(800, 566, 72, 18, _mix(metal, _WHITE, 0.3), metal_line, 3)

    def arm(angle: float) -> None:
        r = math.radians(angle)
        inner, outer = (
            (800 + 60 * math.cos(r), 414 + 16 * math.sin(r)),
            (800 + 210 * math.cos(r), 404 + 56 * math.sin(r)),
        )
        pen.stroke([inner, outer], arms, 14)
        pen.poly([outer, (outer[0], outer[1] - 34), _between(outer, inner, 0.16)], arms, _scale(arms, 0.6), 3)

    if not side:
        for angle in (200, 340):
            arm(angle)
    pen.rect(764, 470, 836, 566, metal, metal_line, r=6, width=4)
    pen.stroke([(772, 480), (772, 556)], _mix(metal, _WHITE, 0.5), 6)
    pen.rect(690, 504, 766, 532, arms, _scale(arms, 0.6), r=8, width=3)
    pen.stroke(_path((690, 518), (630, 518), ((610, 518), (612, 480))), metal, 7)
    pen.rect(784, 400, 816, 472, metal, metal_line, width=3)
    pen.oval(800, 400, 86, 22, metal, metal_line, 4)
    pen.oval(800, 392, 62, 14, _mix(metal, _WHITE, 0.4), metal_line, 3)
    for a in range(0, 360, 24):
        r = math.radians(a)
        pen.oval(800 + 74 * math.cos(r), 402 + 18 * math.sin(r), 3, 2, metal_line)
    if side:  # with its pot on
        pen.rect(600, 196, 1000, 392, metal)
        pen.poly([*_oval(800, 392, 200, 40, 0, 180), (600, 196), (1000, 196)], metal, metal_line)
        pen.poly(_band(_path((630, 210), (630, 420)), 40), _mix(metal, _WHITE, 0.5))
        pen.poly(_band(_path((960, 210), (960, 420)), -30), _scale(metal, 0.85))
        pen.oval(800, 196, 200, 40, _mix(metal, _WHITE, 0.25), metal_line)
        pen.oval(800, 190, 36, 12, arms, _scale(arms, 0.6), 3)
        for flip in (False, True):
            handle = _path((600, 250), ((530, 250), (540, 320)))
            pen.stroke(_side(handle, flip), _scale(metal, 0.8), 10)
        for angle in (20, 160):
            arm(angle)
        return
    for a in range(0, 360, 30):
        r = math.radians(a)
        x, y = 800 + 56 * math.cos(r), 386 + 13 * math.sin(r)
        pen.poly(_path((x - 9, y), ((x - 8, y - 30), (x, y - 44)), ((x + 8, y - 30), (x + 9, y))), (96, 150, 250))
        pen.poly(_path((x - 4, y), ((x - 4, y - 16), (x, y - 24)), ((x + 4, y - 16), (x + 4, y))), (200, 224, 255))
    for angle in (20, 160):
        arm(angle)


# Accessories ------------------------------------------------------------------------------------------------------


def _handle(pen: _Pen, points: Sequence[Point], colour: RGB, line: RGB, width: float = 40) -> None:
    pen.stroke(points, line, width + 8)
    pen.stroke(points, colour, width)


def _draw_tote(pen: _Pen, t: _Tones, side: bool) -> None:
    if side:
        pen = pen.then(_compose(_flip(), _affine(0.94, -4, to=(800, 620))))
    pen.shadow(800, 952, 300, 22)
    _handle(pen, _path((660, 380), ((800, 110), (940, 380))), t.shade, t.line, 34)
    pen.rect(556, 372, 1044, 420, t.shade, t.line, width=4)
    pen.oval(800, 404, 236, 14, t.deep)
    if side:  # with the shopping in it
        pen.then(_affine(1, -16, centre=(720, 330))).rect(684, 60, 768, 470, (212, 158, 96), (140, 96, 52), r=42)
        for y in (130, 200, 270):
            pen.then(_affine(1, -16, centre=(720, 330))).stroke(
                _path((700, y), ((726, y - 20), (752, y - 16))), (238, 204, 150), 8
            )
        pen.then(_affine(1, 12, centre=(880, 300))).rect(850, 150, 898, 470, (236, 234, 228), (150, 148, 140), r=20)
        pen.then(_affine(1, 12, centre=(880, 300))).rect(850, 240, 898, 270, (190, 70, 60))
        for x, top, lean in ((940, 170, 30), (970, 220, 60), (910, 230, -10)):
            pen.stroke(_path((x - 20, 420), ((x - 10, 300), (x + lean / 3, top))), (80, 120, 70), 6)
            pen.then(_affine(1, lean, centre=(x + lean / 3, top))).oval(
                x + lean / 3, top, 16, 34, (96, 146, 84), (60, 96, 56)
            )
    body = [
        (552, 400),
        (1048, 400),
        (1068, 930),
        *_oval(1048, 930, 20, 22, 0, 90),
        (552, 952),
        *_oval(552, 930, 20, 22, 90, 180),
    ]
    pen.poly(body, t.base, t.line)
    pen.poly(_band(_path((1048, 410), (1066, 940)), -50), t.shade)
    pen.poly(_band([(540, 912), (1060, 912)], 0, 40), t.shade)
    pen.poly(body, None, t.line)
    pen.dashes([(562, 440), (1038, 440)], t.line, 3)
    for x, bend in ((640, 20), (960, -20)):
        pen.stroke(_path((x, 480), ((x + bend, 580), (x, 680))), t.shade, 4)
    _handle(pen, _path((640, 404), ((800, 80), (960, 404))), t.base, t.line)
    for x in (640, 960):
        pen.rect(x - 30, 392, x + 30, 486, _LEATHER, _scale(_LEATHER, 0.6), r=6, width=3)
        pen.stroke([(x - 16, 410), (x + 16, 468)], _scale(_LEATHER, 0.55), 3)
        pen.stroke([(x + 16, 410), (x - 16, 468)], _scale(_LEATHER, 0.55), 3)
    pen.rect(770, 840, 830, 872, _LEATHER, _scale(_LEATHER, 0.6), r=5, width=3)


def _watch(pen: _Pen, t: _Tones) -> None:
    """Face on, at ten past ten (the hands frame the dial), the strap running off top and bottom."""
    dial, hands, marks = {
        "steel": ((30, 48, 86), (232, 236, 240), (232, 236, 240)),
        "gold": ((244, 236, 214), (120, 88, 40), (150, 112, 50)),
    }.get(t.name, ((44, 45, 49), (240, 240, 236), (240, 240, 236)))
    red = (210, 60, 50)
    bracelet = t.name in ("steel", "gold")
    for y0, y1 in ((140, 430), (770, 1060)):
        pen.poly(_rounded(712, y0, 888, y1, 24), t.base, t.line)
        if bracelet:  # three rows of links, the middle ones polished
            for y in range(y0 + 14, y1 - 30, 44):
                pen.rect(772, y, 828, y + 36, t.base, t.line, r=6, width=2)
                pen.stroke([(780, y + 8), (780, y + 28)], t.light, 4)
                pen.stroke([(716, y + 40), (768, y + 40)], t.line, 3)
                pen.stroke([(832, y + 40), (884, y + 40)], t.line, 3)
        else:  # stitched rubber: holes below, a keeper and a buckle above
            for x in (726, 874):
                pen.dashes([(x, y0 + 20), (x, y1 - 20)], (110, 110, 112), 3)
            if y0 > 600:
                for y in range(880, 1040, 34):
                    pen.oval(800, y, 7, 7, _scale(t.base, 0.4), (90, 90, 92), 2)
            else:
                pen.rect(700, 190, 900, 222, t.shade, t.line, r=6, width=3)
                pen.rect(696, 136, 904, 178, None, _METAL, r=14, width=10)
    for x in (720, 880):
        for y, dy in ((420, -1), (780, 1)):
            pen.poly([(x - 24, y), (x + 24, y), (x + 20, y + 44 * dy), (x - 20, y + 44 * dy)], t.base, t.line, 4)
    pen.rect(986, 578, 1024, 622, t.base, t.line, r=8, width=4)
    for y in (588, 600, 612):
        pen.stroke([(1004, y), (1022, y)], t.line, 3)
    pen.oval(800, 600, 198, 198, t.base, t.line)
    pen.oval(800, 600, 182, 182, t.light, t.line, 3)
    pen.oval(800, 600, 160, 160, dial, _scale(t.base, 0.55), 4)

    def towards(minute: float, r: float) -> Point:
        a = math.radians(minute * 6)
        return (800 + r * math.sin(a), 600 - r * math.cos(a))

    for minute in range(1, 60):
        if minute % 5:
            pen.stroke([towards(minute, 146), towards(minute, 154)], marks, 3)
        else:
            pen.stroke([towards(minute, 112), towards(minute, 144)], marks, 11)
    for dx in (-9, 9):
        pen.stroke([(800 + dx, 456), (800 + dx, 490)], marks, 10)
    pen.rect(884, 586, 920, 614, _WHITE, _scale(t.base, 0.55), r=3, width=2)
    for minute, length, width in ((50 + 10 / 12, 96, 22), (10, 138, 16)):
        tip, tail = towards(minute, length), towards(minute + 30, 22)
        a = math.radians(minute * 6)
        side = (math.cos(a) * width / 2, math.sin(a) * width / 2)
        mid = _between(tail, tip, 0.4)
        blade = [tail, (mid[0] + side[0], mid[1] + side[1]), tip, (mid[0] - side[0], mid[1] - side[1])]
        pen.poly(blade, hands, _scale(dial, 0.6), 2)
    pen.stroke([towards(5, 34), towards(35, 146)], red, 4)
    pen.oval(800, 600, 11, 11, red, _scale(dial, 0.6), 2)
    pen.stroke(_oval(800, 600, 136, 136, 200, 248), _mix(dial, _WHITE, 0.3), 8)  # glare on the crystal


def _draw_watch(pen: _Pen, t: _Tones, side: bool) -> None:
    if side:  # lying on the table, turned
        place = _compose(_flat(0.6, (800, 640)), _affine(0.86, -62, to=(800, 640)))
        pen.shadow(800, 680, 420, 46, 0.7)
        a, b, c, d, e, f = place
        pen.then((a, b, c, d, e, f + 26)).oval(800, 600, 198, 198, t.deep, t.line)
        _watch(pen.then(place), t)
        return
    pen.shadow(800, 1080, 110, 14)
    _watch(pen, t)


def _draw_cap(pen: _Pen, t: _Tones, side: bool) -> None:
    if side:  # in profile, the peak to the left and the strap with its buckle at the back
        pen.shadow(700, 760, 460, 30)
        crown = _path((620, 722), ((560, 420), (820, 384)), ((1060, 392), (1092, 716)), ((860, 744), (620, 722)))
        pen.poly(crown, t.base, t.line)
        pen.poly(_band(_path((1092, 716), ((1060, 392), (840, 384))), -40, 14), t.shade)
        pen.poly([*_path((944, 736), ((990, 594), (1052, 726)))], _INSIDE, t.line, 4)
        pen.stroke([(926, 712), (1070, 708)], t.base, 22)
        pen.stroke([(926, 712), (1070, 708)], t.line, 3)
        pen.rect(976, 694, 1010, 728, None, _BRASS, r=4, width=7)
        pen.poly(crown, None, t.line)
        pen.stroke(_path((830, 386), ((720, 500), (700, 728))), t.shade, 5)
        pen.stroke(_path((830, 386), ((950, 470), (948, 736))), t.shade, 5)
        pen.oval(760, 480, 10, 8, t.deep, t.light, 3)
        pen.oval(832, 382, 24, 10, t.base, t.line, 3)
        pen.stroke(_path((620, 716), ((860, 740), (1090, 712))), t.deep, 8)
        brim = _path((650, 700), ((420, 690), (280, 772)), ((288, 806), (360, 794)), ((520, 752), (662, 764)))
        pen.poly(brim, t.base, t.line)
        pen.poly(_band(_path((360, 794), ((520, 752), (662, 764))), 0, -16), t.shade)
        pen.dashes(_path((620, 722), ((440, 716), (320, 776))), t.line, 3)
        return
    # Three-quarter front: the crown to the right, the peak reaching toward the camera on the left.
    pen.shadow(780, 860, 440, 34)
    button = (850, 300)
    crown = _path(
        (520, 660),
        ((500, 330), button),
        ((1190, 300), (1196, 640)),
        ((1000, 720), (800, 716)),
        ((640, 710), (520, 660)),
    )
    pen.poly(crown, t.base, t.line)
    back = [
        *_path(button, ((1040, 340), (1080, 690))),
        (1196, 640),
        *reversed(_path(button, ((1190, 300), (1196, 640)))),
    ]
    pen.poly(back, t.shade)
    pen.stroke(_path((600, 560), ((620, 420), (730, 350))), t.light, 12)
    pen.poly(crown, None, t.line)
    for seam in (((640, 360), (610, 680)), ((820, 380), (790, 716)), ((1040, 340), (1080, 690))):
        pen.stroke(_path(button, *[seam]), t.line, 4)
    for dx in (-12, 12):
        pen.dashes(_path((button[0] + dx, button[1] + 20), ((820 + dx, 380), (790 + dx, 708))), t.line, 3)
    for x, y in ((700, 430), (950, 420)):
        pen.oval(x, y, 10, 8, t.deep, t.light, 3)
    pen.oval(*button, 28, 12, t.base, t.line, 3)
    pen.then(_affine(1, -4, centre=(680, 540))).rect(
        626, 500, 734, 566, _CREAM if t.dark else _scale(t.base, 0.62), None, r=12
    )
    pen.then(_affine(1, -4, centre=(680, 540))).poly(
        [(646, 552), (674, 514), (690, 534), (702, 522), (716, 552)], t.base if t.dark else _CREAM
    )
    attach = _path((520, 660), ((640, 716), (860, 716)))
    brim = [
        *attach,
        *_path((860, 716), ((760, 880), (520, 870)), ((330, 862), (330, 790)), ((360, 700), (520, 660)))[1:],
    ]
    pen.poly(brim, t.base, t.line)
    pen.poly(_band(_path((860, 716), ((760, 880), (520, 870))), 0, -22), t.shade)
    edge = _path((860, 716), ((760, 880), (520, 870)), ((330, 862), (330, 790)), ((360, 700), (520, 660)))
    for k in (0.88, 0.76):
        pen.then(_affine(k, centre=(600, 740))).dashes(edge[:-8], t.line, 3)
    pen.poly(brim, None, t.line)


# Shots ------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Kind:
    draw: Callable[[_Pen, _Tones, bool], None]  # (pen, tones, side): side asks for the second angle
    focus: Point  # the centre of the close-up, in the drawing's own frame
    zoom: float
    size: float = 1  # how much the front view enlarges the drawing, to fill about two thirds of the frame
    lay: bool = False  # a garment floats over the backdrop and casts its own silhouette, not a contact shadow
    dusk: bool = False  # the second shot is lit, in the evening


_KINDS: dict[str, _Kind] = {
    "jacket": _Kind(_draw_jacket, (760, 330), 2.2, size=1.1, lay=True),
    "shirt": _Kind(_draw_shirt, (840, 380), 2.2, size=1.1, lay=True),
    "sweater": _Kind(_draw_sweater, (800, 330), 2.1, size=1.1, lay=True),
    "trousers": _Kind(_draw_trousers, (730, 270), 2.2, lay=True),
    "sneaker": _Kind(_draw_sneaker, (760, 540), 2.1, size=1.06),
    "boot": _Kind(_draw_boot, (820, 440), 2.0, size=1.12),
    "sandal": _Kind(_draw_sandal, (1040, 560), 2.2, lay=True),
    "pan": _Kind(_draw_pan, (1040, 540), 2.1, size=1.08),
    "lamp": _Kind(_draw_lamp, (1000, 900), 2.4, dusk=True),
    "throw": _Kind(_draw_throw, (600, 660), 2.4, size=1.2),
    "tent": _Kind(_draw_tent, (640, 640), 1.9, size=1.08),
    "backpack": _Kind(_draw_backpack, (860, 640), 2.2),
    "stove": _Kind(_draw_stove, (800, 500), 2.2, size=1.08),
    "tote": _Kind(_draw_tote, (660, 440), 2.4),
    "watch": _Kind(_draw_watch, (800, 600), 1.9),
    "cap": _Kind(_draw_cap, (760, 600), 2.0, size=1.1),
}
KINDS: tuple[str, ...] = tuple(_KINDS)
_DUSK: tuple[RGB, RGB] = ((92, 88, 92), (134, 122, 110))
_LAMPLIGHT: RGB = (255, 226, 172)


def _check(kind: str, colour: str) -> _Kind:
    spec = _KINDS.get(kind)
    if spec is None:
        raise ValueError(f"no drawing of a {kind!r}")
    if colour not in PALETTE:
        raise ValueError(f"no colour {colour!r}")
    return spec


def _shot(kind: str, colour: str, view: str) -> Image.Image:
    spec = _check(kind, colour)
    if view not in VIEWS:
        raise ValueError(f"no view {view!r}")
    tones, second = _tones(colour), view == "side"
    matrix = (
        _affine(spec.zoom * spec.size, centre=spec.focus, to=(WIDTH / 2, HEIGHT / 2))
        if view == "detail"
        else _affine(spec.size)
    )
    top, bottom = _FRONT_BACKDROP
    if second:  # a second set-up: the backdrop tinted toward the product, or evening for a lamp
        top, bottom = _DUSK if spec.dusk else (_mix(top, tones.base, 0.12), _mix(bottom, tones.base, 0.16))
    shadows = _ShadowPen(_compose(_affine(1 / _SMALL, centre=(0, 0)), matrix), lay=spec.lay)
    spec.draw(shadows, tones, second)
    image = shadows.backdrop(top, bottom, spot=second, warm=_LAMPLIGHT if second and spec.dusk else None)
    spec.draw(_Pen(image, matrix), tones, second)
    return image


# What the "side" set-up shows of each kind, for alt text: a second angle, not always a side.
_SECOND_VIEW: dict[str, str] = {
    "jacket": "from the back",
    "shirt": "from the back",
    "sweater": "folded",
    "trousers": "from the back",
    "sneaker": "the pair",
    "boot": "the pair",
    "sandal": "one sandal turned to the side",
    "pan": "in profile",
    "lamp": "lit at dusk",
    "throw": "rolled and strapped",
    "tent": "from the other corner with its door zipped",
    "backpack": "its back and harness",
    "stove": "with a pot on",
    "tote": "carrying shopping",
    "watch": "lying flat",
    "cap": "in profile",
}


def describe(kind: str, view: str) -> str:
    """What a view of `kind` shows, to follow the product's name in alt text ("" for the front view)."""
    _check(kind, "black")
    if view not in VIEWS:
        raise ValueError(f"no view {view!r}")
    return {"front": "", "detail": "close-up", "side": _SECOND_VIEW[kind]}[view]


def _png(image: Image.Image) -> bytes:
    """Drawings are stored losslessly: flat colour and hard edges come out no bigger as PNG than as JPEG, and
    the variants then spend no bytes on a JPEG's ringing. Level 1: the seed's time counts, not the disk's."""
    out = io.BytesIO()
    image.save(out, "PNG", compress_level=1)
    return out.getvalue()


def render(kind: str, colour: str, view: str) -> bytes:
    """A WIDTH x HEIGHT PNG of `kind` in `colour` seen as `view` (one of VIEWS)."""
    return _png(_shot(kind, colour, view))


def write_originals(
    directory: Path, looks: Iterable[tuple[str, str]]
) -> dict[tuple[str, str], list[dict[str, int | str]]]:
    """Ingest every view of each (kind, colour) look into the image store at `directory`; returns, per look,
    the references in VIEWS order: {"hash": ..., "width": ..., "height": ...}."""
    looks = list(looks)
    for kind, colour in looks:
        _check(kind, colour)  # refuse a bad look before anything is stored
    store = ImageStore(directory)
    refs: dict[tuple[str, str], list[dict[str, int | str]]] = {}
    for look in looks:
        refs[look] = []
        for view in VIEWS:
            record, _ = store.ingest(render(*look, view))
            refs[look].append({"hash": record.hash, "width": record.width, "height": record.height})
    return refs


HERO_LOOKS: tuple[tuple[str, str], ...] = (
    ("boot", "tan"),
    ("jacket", "olive"),
    ("backpack", "rust"),
    ("tent", "forest"),
    ("cap", "navy"),
)
_HERO_BACKDROP: tuple[RGB, RGB] = ((236, 232, 222), (214, 208, 196))


def _extent(spec: _Kind, tones: _Tones) -> tuple[int, int, int, int]:
    """Where the front drawing lies in the design frame: drawn small on a key colour that no drawing uses."""
    key, step = (255, 0, 255), 8
    small = Image.new("RGB", (WIDTH // step, HEIGHT // step), key)
    spec.draw(_Pen(small, _affine(1 / step, centre=(0, 0))), tones, False)
    x0, y0, x1, y1 = ImageChops.difference(small, Image.new("RGB", small.size, key)).getbbox() or (0, 0, 1, 1)
    return x0 * step, y0 * step, x1 * step, y1 * step


def hero() -> bytes:
    """The home page's banner: a row of products across the band that every crop of it keeps in view (the
    desktop banner shows the middle 440/1160 of its height, above the caption; phones show it at 16:9)."""
    slot, top, height = WIDTH / len(HERO_LOOKS), 360, 280
    placed = []
    for index, (kind, colour) in enumerate(HERO_LOOKS):
        spec, tones = _check(kind, colour), _tones(colour)
        x0, y0, x1, y1 = _extent(spec, tones)
        scale = min((slot - 60) / (x1 - x0), height / (y1 - y0))
        placed.append(
            (spec, tones, _affine(scale, centre=((x0 + x1) / 2, y1), to=((index + 0.5) * slot, top + height)))
        )
    shadows = _ShadowPen(_affine(1 / _SMALL, centre=(0, 0)), lay=True)
    for spec, tones, matrix in placed:
        spec.draw(shadows.placed(matrix, spec.lay), tones, False)
    image = shadows.backdrop(*_HERO_BACKDROP, spot=False, warm=None)
    for spec, tones, matrix in placed:
        spec.draw(_Pen(image, matrix), tones, False)
    return _png(image)


def write_hero(directory: Path) -> dict[str, int | str]:
    """Ingest the banner into the image store at `directory`; returns its reference."""
    record, _ = ImageStore(directory).ingest(hero())
    return {"hash": record.hash, "width": record.width, "height": record.height}
