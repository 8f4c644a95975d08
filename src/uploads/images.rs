//! Photos: their size is read from the file header, before anything is
//! decoded, and images too large to decode safely are refused; the others
//! are decoded (first frame only), resized and re-encoded, which drops EXIF
//! and GPS metadata.
//!
//! Why the header first: a 1 MB PNG can declare 12000 × 12000 pixels of
//! 16-bit RGBA, which decodes to 1.15 GB. The `image` crate's `max_alloc`
//! limit is not applied on the `into_decoder` → `from_decoder` path, so
//! relying on it let one anonymous upload grow the web process by 1.5 GB.
//! Here every accepted format (PNG and APNG, JPEG, GIF, WebP, animated or
//! not) has its dimensions and pixel layout parsed by a few lines of our
//! own, the decoded size is computed, and only then may a decoder run (with
//! the same limits set on it as a second guard). At most [`MAX_DECODES`]
//! decodes run at once in the process ([`DecodeGate`]).

use std::{io::Cursor, sync::Arc, time::Duration};

use image::{DynamicImage, ImageDecoder, ImageFormat, ImageReader, Limits};
use tokio::sync::Semaphore;

use super::FileType;

/// Longest side accepted, in pixels (a 48-megapixel phone photo is 8000
/// px wide).
pub const MAX_IMAGE_SIDE: u32 = 8000;
/// Most bytes a decoded image may take in memory.
pub const MAX_DECODED_BYTES: u64 = 100 * 1024 * 1024;
/// Image decodes running at once in the process (each may take up to
/// [`MAX_DECODED_BYTES`]).
pub const MAX_DECODES: usize = 2;
/// How long an upload waits for a decode slot before the visitor is asked
/// to try again (503).
pub const DECODE_WAIT: Duration = Duration::from_secs(8);
/// Longest side of a stored photo, and of its thumbnail.
const STORED_SIDE: u32 = 2000;
const THUMB_SIDE: u32 = 400;

/// What the header of an image says, read without decoding it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    pub width: u32,
    pub height: u32,
    /// Bytes per pixel of the decoded image (what the decoder allocates
    /// for its output).
    pub bytes_per_pixel: u32,
    /// More than one frame (only the first is decoded).
    pub animated: bool,
    /// Bytes the decoder keeps besides its output: a progressive JPEG's
    /// 16-bit coefficients for the whole image, until its last scan.
    pub working_bytes: u64,
}

impl Header {
    /// Bytes the decode will take.
    pub fn decoded_bytes(&self) -> u64 {
        u64::from(self.width) * u64::from(self.height) * u64::from(self.bytes_per_pixel)
            + self.working_bytes
    }

    /// Whether the image may be decoded.
    pub fn check(&self) -> Result<(), TooLarge> {
        if self.width == 0 || self.height == 0 {
            return Err(TooLarge::Unreadable);
        }
        if self.width > MAX_IMAGE_SIDE || self.height > MAX_IMAGE_SIDE {
            return Err(TooLarge::Side {
                width: self.width,
                height: self.height,
            });
        }
        if self.decoded_bytes() > MAX_DECODED_BYTES {
            return Err(TooLarge::Pixels {
                megabytes: self.decoded_bytes() / (1024 * 1024),
            });
        }
        Ok(())
    }
}

/// Why an image is not decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TooLarge {
    Side {
        width: u32,
        height: u32,
    },
    Pixels {
        megabytes: u64,
    },
    /// The header cannot be read (truncated or inconsistent).
    Unreadable,
}

/// Reads the header of an image of type `kind`.
pub fn header(bytes: &[u8], kind: FileType) -> Option<Header> {
    match kind {
        FileType::Png => png_header(bytes),
        FileType::Jpeg => jpeg_header(bytes),
        FileType::Gif => gif_header(bytes),
        FileType::Webp => webp_header(bytes),
        _ => None,
    }
}

fn be32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

fn be16(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from(u16::from_be_bytes(
        b.get(at..at + 2)?.try_into().ok()?,
    )))
}

fn le16(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from(u16::from_le_bytes(
        b.get(at..at + 2)?.try_into().ok()?,
    )))
}

fn le24(b: &[u8], at: usize) -> Option<u32> {
    let s = b.get(at..at + 3)?;
    Some(u32::from(s[0]) | u32::from(s[1]) << 8 | u32::from(s[2]) << 16)
}

fn le32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

/// PNG: the IHDR chunk comes first; an `acTL` chunk before the image data
/// makes it an animated PNG.
fn png_header(b: &[u8]) -> Option<Header> {
    if b.get(12..16)? != b"IHDR" {
        return None;
    }
    let (width, height) = (be32(b, 16)?, be32(b, 20)?);
    let depth = *b.get(24)?;
    // The decoder expands palettes (to RGBA when there is transparency)
    // and sub-byte depths to 8 bits; 16-bit samples stay 16-bit.
    let channels = match *b.get(25)? {
        0 => 1,
        2 => 3,
        3 | 6 => 4,
        4 => 2,
        _ => return None,
    };
    let sample = if depth == 16 { 2 } else { 1 };
    let mut animated = false;
    let mut at = 8usize;
    while let (Some(len), Some(kind)) = (be32(b, at), b.get(at + 4..at + 8)) {
        match kind {
            b"acTL" => animated = be32(b, at + 8).is_some_and(|frames| frames > 1),
            b"IDAT" | b"IEND" => break,
            _ => {}
        }
        at = at
            .checked_add(12)?
            .checked_add(usize::try_from(len).ok()?)?;
    }
    Some(Header {
        width,
        height,
        bytes_per_pixel: channels * sample,
        animated,
        working_bytes: 0,
    })
}

/// JPEG: walks the markers to the start-of-frame segment.
fn jpeg_header(b: &[u8]) -> Option<Header> {
    let mut at = 2usize;
    loop {
        // Markers may be preceded by any number of 0xFF fill bytes.
        while *b.get(at)? == 0xFF && *b.get(at + 1)? == 0xFF {
            at += 1;
        }
        if *b.get(at)? != 0xFF {
            return None;
        }
        let marker = *b.get(at + 1)?;
        match marker {
            // Markers without a length.
            0x01 | 0xD0..=0xD7 => at += 2,
            0xD9 | 0xDA => return None, // end, or scan data before any frame
            0xC0..=0xCF if !matches!(marker, 0xC4 | 0xC8 | 0xCC) => {
                let height = be16(b, at + 5)?;
                let width = be16(b, at + 7)?;
                let components = u32::from(*b.get(at + 9)?);
                let precision = u32::from(*b.get(at + 4)?);
                let sample = if precision > 8 { 2 } else { 1 };
                // A progressive decoder keeps every coefficient (two bytes)
                // of every component, each at its own sampling: with the
                // usual 4:2:0, 3 bytes per pixel on top of the output.
                let progressive = matches!(marker, 0xC2 | 0xC6 | 0xCA | 0xCE);
                let mut sampling = Vec::new();
                for c in 0..usize::try_from(components).ok()? {
                    let factors = *b.get(at + 11 + 3 * c)?;
                    sampling.push((u64::from(factors >> 4), u64::from(factors & 0x0F)));
                }
                let h_max = sampling.iter().map(|s| s.0).max().unwrap_or(1).max(1);
                let v_max = sampling.iter().map(|s| s.1).max().unwrap_or(1).max(1);
                let pixels = u64::from(width) * u64::from(height);
                let working_bytes = if progressive {
                    sampling
                        .iter()
                        .map(|(h, v)| 2 * pixels * h * v / (h_max * v_max))
                        .sum()
                } else {
                    0
                };
                return Some(Header {
                    width,
                    height,
                    // Grey stays grey; YCbCr and CMYK come out as RGB.
                    bytes_per_pixel: if components == 1 { 1 } else { 3 } * sample,
                    animated: false,
                    working_bytes,
                });
            }
            _ => {
                at = at
                    .checked_add(2)?
                    .checked_add(usize::try_from(be16(b, at + 2)?).ok()?)?
            }
        }
    }
}

/// GIF: the logical screen, then the first image descriptor (a frame may
/// lie outside the screen: the canvas is what both cover). Frames after
/// the first are counted by skipping their data blocks.
fn gif_header(b: &[u8]) -> Option<Header> {
    let (screen_w, screen_h) = (le16(b, 6)?, le16(b, 8)?);
    let packed = *b.get(10)?;
    let mut at = 13usize;
    if packed & 0x80 != 0 {
        at += 3 << ((packed & 7) + 1);
    }
    let skip_blocks = |mut at: usize| -> Option<usize> {
        loop {
            let len = usize::from(*b.get(at)?);
            at += 1 + len;
            if len == 0 {
                return Some(at);
            }
        }
    };
    let mut first: Option<(u32, u32)> = None;
    let mut frames = 0u32;
    loop {
        match *b.get(at)? {
            0x21 => at = skip_blocks(at + 2)?,
            0x2C => {
                let (left, top) = (le16(b, at + 1)?, le16(b, at + 3)?);
                let (w, h) = (le16(b, at + 5)?, le16(b, at + 7)?);
                first.get_or_insert((left + w, top + h));
                frames += 1;
                let local = *b.get(at + 9)?;
                at += 10;
                if local & 0x80 != 0 {
                    at += 3 << ((local & 7) + 1);
                }
                // LZW minimum code size, then the data blocks.
                at = skip_blocks(at + 1)?;
                if frames > 1 {
                    break;
                }
            }
            _ => break, // trailer (0x3B) or garbage after the frames
        }
    }
    let (right, bottom) = first?;
    Some(Header {
        width: screen_w.max(right),
        height: screen_h.max(bottom),
        bytes_per_pixel: 4, // always decoded to RGBA
        animated: frames > 1,
        working_bytes: 0,
    })
}

/// WebP: a simple lossy (`VP8 `) or lossless (`VP8L`) image, or an
/// extended one (`VP8X`) whose canvas size and animation flag are in the
/// first chunk.
fn webp_header(b: &[u8]) -> Option<Header> {
    let chunk = b.get(12..16)?;
    let data = 20usize;
    let (width, height, animated) = match chunk {
        b"VP8 " => {
            if b.get(data + 3..data + 6)? != [0x9D, 0x01, 0x2A] {
                return None;
            }
            (
                le16(b, data + 6)? & 0x3FFF,
                le16(b, data + 8)? & 0x3FFF,
                false,
            )
        }
        b"VP8L" => {
            if *b.get(data)? != 0x2F {
                return None;
            }
            let bits = le32(b, data + 1)?;
            ((bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1, false)
        }
        b"VP8X" => {
            let flags = *b.get(data)?;
            (
                le24(b, data + 4)? + 1,
                le24(b, data + 7)? + 1,
                flags & 0x02 != 0,
            )
        }
        _ => return None,
    };
    Some(Header {
        width,
        height,
        // RGBA at most (RGB when the image has no alpha channel).
        bytes_per_pixel: 4,
        animated,
        working_bytes: 0,
    })
}

/// Bounds the image decodes running at once in the process: each may take
/// up to [`MAX_DECODED_BYTES`], and a burst of uploads must not add up to
/// more memory than the container has.
#[derive(Clone)]
pub struct DecodeGate {
    slots: Arc<Semaphore>,
    wait: Duration,
}

impl Default for DecodeGate {
    fn default() -> Self {
        Self::new(MAX_DECODES, DECODE_WAIT)
    }
}

/// No decode slot became free in time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Busy;

impl DecodeGate {
    pub fn new(slots: usize, wait: Duration) -> Self {
        Self {
            slots: Arc::new(Semaphore::new(slots)),
            wait,
        }
    }

    /// Runs `work` on the blocking pool once a slot is free, or gives up
    /// after the gate's wait.
    pub async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> anyhow::Result<Result<T, Busy>> {
        let Ok(Ok(permit)) =
            tokio::time::timeout(self.wait, self.slots.clone().acquire_owned()).await
        else {
            return Ok(Err(Busy));
        };
        let result = tokio::task::spawn_blocking(move || {
            let _permit = permit;
            work()
        })
        .await?;
        Ok(Ok(result))
    }

    /// Takes every slot (tests: a gate that is full).
    #[allow(
        clippy::expect_used,
        reason = "the semaphore is owned by the gate and never closed"
    )]
    pub async fn hold_all(&self) -> tokio::sync::OwnedSemaphorePermit {
        let total = u32::try_from(MAX_DECODES).unwrap_or(u32::MAX);
        self.slots
            .clone()
            .acquire_many_owned(total)
            .await
            .expect("the gate is never closed")
    }
}

/// A re-encoded photo: the stored image and its thumbnail.
pub struct Reencoded {
    pub main: Vec<u8>,
    pub mime: &'static str,
    pub thumbnail: Vec<u8>,
}

/// The limits given to the decoder itself: the same caps as the header
/// check, should a decoder see more than the header said.
fn decoder_limits() -> Limits {
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_IMAGE_SIDE);
    limits.max_image_height = Some(MAX_IMAGE_SIDE);
    limits.max_alloc = Some(MAX_DECODED_BYTES);
    limits
}

/// Decodes the first frame (an image whose header passed [`Header::check`]),
/// applies its orientation, shrinks it to at most 2000 px and re-encodes it
/// without metadata (JPEG stays JPEG, the others become PNG).
pub fn reencode(bytes: &[u8], kind: FileType) -> Option<Reencoded> {
    reencode_turned(bytes, kind, 0)
}

/// [`reencode`], then turned clockwise by `quarter_turns` × 90° (the back
/// office rotating a photo: the stored image is decoded under the same
/// limits, turned, and written again without metadata, with a new thumbnail).
pub fn reencode_turned(bytes: &[u8], kind: FileType, quarter_turns: u8) -> Option<Reencoded> {
    let format = match kind {
        FileType::Jpeg => ImageFormat::Jpeg,
        FileType::Png => ImageFormat::Png,
        FileType::Gif => ImageFormat::Gif,
        FileType::Webp => ImageFormat::WebP,
        _ => return None,
    };
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
    reader.limits(decoder_limits());
    let mut decoder = reader.into_decoder().ok()?;
    // `into_decoder` hands the limits over, but `from_decoder` below
    // allocates `total_bytes()` without checking `max_alloc`: check it here.
    decoder.set_limits(decoder_limits()).ok()?;
    if decoder.total_bytes() > MAX_DECODED_BYTES {
        return None;
    }
    let orientation = decoder.orientation().ok()?;
    // Decoding through `ImageDecoder` reads the first frame of an animation.
    let image = DynamicImage::from_decoder(decoder).ok()?;
    // Shrink first (`thumbnail` averages pixels without a full-size
    // floating-point copy), then rotate the small image.
    let mut image = if image.width() > STORED_SIDE || image.height() > STORED_SIDE {
        image.thumbnail(STORED_SIDE, STORED_SIDE)
    } else {
        image
    };
    image.apply_orientation(orientation);
    let image = match quarter_turns % 4 {
        1 => image.rotate90(),
        2 => image.rotate180(),
        3 => image.rotate270(),
        _ => image,
    };
    let (main, mime) = if kind == FileType::Jpeg {
        (encode_jpeg(&image)?, "image/jpeg")
    } else {
        let mut out = Vec::new();
        image
            .write_to(&mut Cursor::new(&mut out), ImageFormat::Png)
            .ok()?;
        (out, "image/png")
    };
    let thumbnail = encode_jpeg(&image.thumbnail(THUMB_SIDE, THUMB_SIDE))?;
    Some(Reencoded {
        main,
        mime,
        thumbnail,
    })
}

fn encode_jpeg(image: &DynamicImage) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    let rgb = image.to_rgb8();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 85)
        .encode_image(&rgb)
        .ok()?;
    Some(out)
}

/// Test images whose headers declare any size (the pixels are not there:
/// the header is all a bomb needs).
pub mod bombs {
    /// A PNG declaring `width` × `height` 16-bit RGBA, followed by `filler`
    /// bytes of a (compressible) IDAT chunk.
    pub fn png(width: u32, height: u32, filler: usize) -> Vec<u8> {
        let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
        let mut ihdr = Vec::new();
        ihdr.extend(width.to_be_bytes());
        ihdr.extend(height.to_be_bytes());
        ihdr.extend([16, 6, 0, 0, 0]);
        chunk(&mut out, b"IHDR", &ihdr);
        chunk(&mut out, b"IDAT", &vec![0u8; filler]);
        chunk(&mut out, b"IEND", &[]);
        out
    }

    fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
        out.extend(u32::try_from(data.len()).unwrap_or(0).to_be_bytes());
        out.extend(kind);
        out.extend(data);
        // The CRC is not checked before the header is refused.
        out.extend([0, 0, 0, 0]);
    }

    /// An animated GIF whose frames declare `width` × `height`.
    pub fn gif(width: u16, height: u16) -> Vec<u8> {
        let mut out = b"GIF89a".to_vec();
        out.extend(width.to_le_bytes());
        out.extend(height.to_le_bytes());
        out.extend([0x80, 0, 0]); // global palette of 2 colours
        out.extend([0, 0, 0, 255, 255, 255]);
        // NETSCAPE looping extension: an animation.
        out.extend(b"\x21\xFF\x0BNETSCAPE2.0\x03\x01\x00\x00\x00");
        for _ in 0..2 {
            out.extend([0x2C, 0, 0, 0, 0]);
            out.extend(width.to_le_bytes());
            out.extend(height.to_le_bytes());
            out.extend([0, 2, 2, 0x4C, 0x01, 0]);
        }
        out.push(0x3B);
        out
    }

    /// An animated extended WebP declaring a `width` × `height` canvas.
    pub fn webp(width: u32, height: u32) -> Vec<u8> {
        let mut vp8x = vec![0x02, 0, 0, 0];
        vp8x.extend(&(width - 1).to_le_bytes()[..3]);
        vp8x.extend(&(height - 1).to_le_bytes()[..3]);
        let mut body = b"WEBPVP8X".to_vec();
        body.extend(10u32.to_le_bytes());
        body.extend(vp8x);
        body.extend(b"ANIM");
        body.extend(6u32.to_le_bytes());
        body.extend([0; 6]);
        let mut out = b"RIFF".to_vec();
        out.extend(u32::try_from(body.len()).unwrap_or(0).to_le_bytes());
        out.extend(body);
        out
    }

    /// A progressive JPEG declaring `width` × `height` in colour.
    pub fn jpeg(width: u16, height: u16) -> Vec<u8> {
        let mut out = vec![0xFF, 0xD8];
        out.extend(b"\xFF\xE0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00");
        out.extend([0xFF, 0xC2, 0x00, 0x11, 0x08]);
        out.extend(height.to_be_bytes());
        out.extend(width.to_be_bytes());
        out.extend([3, 1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1]);
        out.extend([0xFF, 0xD9]);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encoded(format: ImageFormat, image: &DynamicImage) -> Vec<u8> {
        let mut out = Vec::new();
        image.write_to(&mut Cursor::new(&mut out), format).unwrap();
        out
    }

    #[test]
    fn headers_of_real_images_give_their_size() {
        let rgba = DynamicImage::new_rgba8(300, 200);
        let rgb = DynamicImage::new_rgb8(300, 200);
        for (format, kind, image) in [
            (ImageFormat::Png, FileType::Png, &rgba),
            (ImageFormat::Jpeg, FileType::Jpeg, &rgb),
            (ImageFormat::Gif, FileType::Gif, &rgba),
            (ImageFormat::WebP, FileType::Webp, &rgba),
        ] {
            let bytes = encoded(format, image);
            let h = header(&bytes, kind).unwrap_or_else(|| panic!("{format:?} header"));
            assert_eq!((h.width, h.height), (300, 200), "{format:?}");
            assert!(!h.animated);
            assert_eq!(h.check(), Ok(()));
            assert!(reencode(&bytes, kind).is_some(), "{format:?} re-encodes");
        }
        let png16 = encoded(ImageFormat::Png, &DynamicImage::new_rgba16(10, 10));
        assert_eq!(header(&png16, FileType::Png).unwrap().bytes_per_pixel, 8);
    }

    #[test]
    fn an_animated_gif_is_seen_as_such_and_its_first_frame_kept() {
        use image::{Delay, Frame, RgbaImage, codecs::gif::GifEncoder};
        let mut gif = Vec::new();
        {
            let mut encoder = GifEncoder::new(&mut gif);
            for shade in [0u8, 255] {
                let frame = Frame::from_parts(
                    RgbaImage::from_pixel(40, 30, image::Rgba([shade, shade, shade, 255])),
                    0,
                    0,
                    Delay::from_numer_denom_ms(100, 1),
                );
                encoder.encode_frame(frame).unwrap();
            }
        }
        let h = header(&gif, FileType::Gif).unwrap();
        assert_eq!((h.width, h.height, h.animated), (40, 30, true));
        let out = reencode(&gif, FileType::Gif).unwrap();
        let still = image::load_from_memory(&out.main).unwrap().to_rgb8();
        assert_eq!(still.dimensions(), (40, 30));
        assert_eq!(
            still.get_pixel(5, 5).0,
            [0, 0, 0],
            "the first (black) frame"
        );
    }

    #[test]
    fn bombs_are_refused_from_their_header_whatever_the_format() {
        let png = bombs::png(12_000, 12_000, 100);
        let h = header(&png, FileType::Png).unwrap();
        assert_eq!(h.decoded_bytes(), 12_000 * 12_000 * 8);
        assert!(matches!(h.check(), Err(TooLarge::Side { .. })));
        // Within the side limit, but 8000 × 8000 × 8 bytes = 488 MB.
        let png = bombs::png(8000, 8000, 100);
        assert_eq!(
            header(&png, FileType::Png).unwrap().check(),
            Err(TooLarge::Pixels { megabytes: 488 })
        );
        let gif = bombs::gif(7000, 5000);
        let h = header(&gif, FileType::Gif).unwrap();
        assert!(h.animated);
        assert!(matches!(h.check(), Err(TooLarge::Pixels { .. })));
        let webp = bombs::webp(16_000, 16_000);
        let h = header(&webp, FileType::Webp).unwrap();
        assert!(h.animated);
        assert!(matches!(h.check(), Err(TooLarge::Side { .. })));
        // A progressive 4:2:0 JPEG: 3 bytes of output and 3 of coefficients
        // per pixel. 12 megapixels pass, 20 do not.
        let h = header(&bombs::jpeg(4000, 3000), FileType::Jpeg).unwrap();
        assert_eq!(h.decoded_bytes(), 4000 * 3000 * 6);
        assert_eq!(h.check(), Ok(()));
        assert!(
            header(&bombs::jpeg(5472, 3648), FileType::Jpeg)
                .unwrap()
                .check()
                .is_err()
        );
        let jpeg = bombs::jpeg(7900, 7900);
        assert!(matches!(
            header(&jpeg, FileType::Jpeg).unwrap().check(),
            Err(TooLarge::Pixels { .. })
        ));
        // And the decoder refuses them too, should the header check be
        // skipped.
        assert!(reencode(&bombs::png(12_000, 12_000, 100), FileType::Png).is_none());
    }

    #[test]
    fn truncated_headers_are_unreadable() {
        assert_eq!(header(b"\x89PNG\r\n\x1a\n", FileType::Png), None);
        assert_eq!(header(b"\xFF\xD8\xFF", FileType::Jpeg), None);
        assert_eq!(header(b"GIF89a\x01", FileType::Gif), None);
        assert_eq!(header(b"RIFF\0\0\0\0WEBPVP8 ", FileType::Webp), None);
    }

    #[tokio::test]
    async fn a_full_gate_answers_busy_after_its_wait() {
        let gate = DecodeGate::new(MAX_DECODES, Duration::from_millis(50));
        let held = gate.hold_all().await;
        assert_eq!(gate.run(|| 1).await.unwrap(), Err(Busy));
        drop(held);
        assert_eq!(gate.run(|| 1).await.unwrap(), Ok(1));
    }
}
