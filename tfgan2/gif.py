"""Animated GIFs that grow a frame at a time. The frames a GIF already holds are kept as the
bytes they are, never decoded or encoded again, so adding a frame costs the same at the
hundredth frame as at the second. Every frame added carries its own colour table (as GIF
allows), so frames need not share their colours."""

import io

from PIL import Image

# A GIF89a extension that makes viewers loop the animation forever (the NETSCAPE2.0 block).
_LOOP_FOREVER = b'\x21\xff\x0bNETSCAPE2.0\x03\x01\x00\x00\x00'
_TRAILER = b'\x3b'
_EXTENSION, _IMAGE, _END = 0x21, 0x2C, 0x3B
_GRAPHIC_CONTROL = 0xF9


class NotAGifError(ValueError):
    """Bytes that are not a GIF this module can read."""


def head(width, height):
    """The start of a GIF of `width` x `height` frames that loops forever, without a global
    colour table (the frames bring their own)."""
    return b'GIF89a' + width.to_bytes(2, 'little') + height.to_bytes(2, 'little') + b'\x00\x00\x00' + _LOOP_FOREVER


def split(gif):
    """(head, frames) of a GIF's bytes: what comes before the first frame (header, screen,
    global colour table, loop extension), and each frame's bytes from its control extension to
    the end of its image data."""
    offsets = _frame_offsets(gif)
    first = offsets[0][0] if offsets else len(gif) - 1
    return gif[:first], [gif[start:end] for start, _, end in offsets]


def join(head_bytes, frames):
    """A GIF of `head_bytes` (from `head` or `split`) and `frames` in order."""
    return b''.join([head_bytes, *frames, _TRAILER])


def frame(image, seconds):
    """The bytes of one GIF frame showing `image` (uint8 [H, W], [H, W, 1] or [H, W, 3]) for
    `seconds`, with its own colour table."""
    encoded = io.BytesIO()
    Image.fromarray(image[..., 0] if image.ndim == 3 and image.shape[-1] == 1 else image).save(
        encoded, format='GIF', duration=int(round(seconds * 1000)))
    gif = encoded.getvalue()
    (start, descriptor, end), = _frame_offsets(gif)
    packed = gif[descriptor + 9]
    if packed & 0x80:  # it has its own table already
        return gif[start:end]
    table = gif[13:13 + _table_size(gif[10])]
    if not table:
        raise NotAGifError('Pillow wrote a GIF frame without a colour table.')
    # The descriptor keeps its interlace and sort bits and takes the global table's size.
    local = bytes([0x80 | (packed & 0x78) | (gif[10] & 0x07)])
    return gif[start:descriptor + 9] + local + table + gif[descriptor + 10:end]


def _table_size(packed):
    """Bytes of the colour table a screen or image descriptor's packed field announces."""
    return 3 * 2 ** ((packed & 0x07) + 1) if packed & 0x80 else 0


def _after_sub_blocks(gif, i):
    """The position after the data sub-blocks that start at `i`."""
    while gif[i]:
        i += gif[i] + 1
    return i + 1


def _frame_offsets(gif):
    """(start, image descriptor, end) of every frame; a frame starts where the one before ended,
    or, for the first, at its graphic control extension (or its image descriptor)."""
    if gif[:6] not in (b'GIF87a', b'GIF89a') or len(gif) < 13:
        raise NotAGifError('not a GIF file')
    offsets, i, start = [], 13 + _table_size(gif[10]), None
    try:
        while gif[i] != _END:
            if gif[i] == _EXTENSION:
                if start is None and gif[i + 1] == _GRAPHIC_CONTROL:
                    start = i
                i = _after_sub_blocks(gif, i + 2)
            elif gif[i] == _IMAGE:
                descriptor = i
                i = _after_sub_blocks(gif, i + 10 + _table_size(gif[i + 9]) + 1)  # +1: LZW code size
                offsets.append((descriptor if start is None else start, descriptor, i))
                start = i
            else:
                raise NotAGifError(f'unexpected block 0x{gif[i]:02x} at byte {i}')
    except IndexError:
        raise NotAGifError('the file ends inside a frame') from None
    return offsets
