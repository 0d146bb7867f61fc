//! A minimal PNG reader for screenshots (8-bit RGB or RGBA, not interlaced — what headless Chromium
//! writes): chunks, zlib (flate2), the five scanline filters. Enough to look at pixels in a test.

use std::io::Read;

/// Decoded pixels, RGB.
pub struct Image {
    pub width: usize,
    pub height: usize,
    /// `width × height` pixels, row by row.
    pub pixels: Vec<[u8; 3]>,
}

fn be32(b: &[u8]) -> usize {
    u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize
}

/// Decodes `bytes`; panics with the reason on anything this reader does not handle.
pub fn decode(bytes: &[u8]) -> Image {
    assert!(bytes.starts_with(b"\x89PNG\r\n\x1a\n"), "not a PNG");
    let (mut pos, mut idat, mut header) = (8, Vec::new(), None);
    while pos + 8 <= bytes.len() {
        let len = be32(&bytes[pos..]);
        let kind = &bytes[pos + 4..pos + 8];
        let data = &bytes[pos + 8..pos + 8 + len];
        match kind {
            b"IHDR" => header = Some((be32(data), be32(&data[4..]), data[8], data[9], data[12])),
            b"IDAT" => idat.extend_from_slice(data),
            b"IEND" => break,
            _ => {}
        }
        pos += 12 + len;
    }
    let (width, height, depth, color, interlace) = header.expect("an IHDR chunk");
    assert!(
        depth == 8 && (color == 2 || color == 6) && interlace == 0,
        "unsupported PNG: depth {depth} colour {color} interlace {interlace}"
    );
    let bpp = if color == 2 { 3 } else { 4 };
    let mut raw = Vec::new();
    flate2::read::ZlibDecoder::new(&idat[..]).read_to_end(&mut raw).expect("zlib data");
    let stride = width * bpp;
    assert_eq!(raw.len(), height * (stride + 1), "scanlines");
    let mut prev = vec![0u8; stride];
    let mut pixels = Vec::with_capacity(width * height);
    for y in 0..height {
        let line = &raw[y * (stride + 1)..(y + 1) * (stride + 1)];
        let mut cur = line[1..].to_vec();
        for i in 0..stride {
            let a = if i >= bpp { cur[i - bpp] as i16 } else { 0 };
            let b = prev[i] as i16;
            let c = if i >= bpp { prev[i - bpp] as i16 } else { 0 };
            let add = match line[0] {
                0 => 0,
                1 => a,
                2 => b,
                3 => (a + b) / 2,
                4 => {
                    let p = a + b - c;
                    let (pa, pb, pc) = ((p - a).abs(), (p - b).abs(), (p - c).abs());
                    if pa <= pb && pa <= pc {
                        a
                    } else if pb <= pc {
                        b
                    } else {
                        c
                    }
                }
                f => panic!("unknown PNG filter {f}"),
            };
            cur[i] = cur[i].wrapping_add(add as u8);
        }
        pixels.extend(cur.chunks(bpp).map(|p| [p[0], p[1], p[2]]));
        prev = cur;
    }
    Image { width, height, pixels }
}

impl Image {
    /// Pixels within `tolerance` of `rgb` in every channel.
    pub fn count_near(&self, rgb: [u8; 3], tolerance: u8) -> usize {
        self.pixels.iter().filter(|p| p.iter().zip(rgb).all(|(&a, b)| a.abs_diff(b) <= tolerance)).count()
    }

    /// Distinct colours.
    pub fn distinct(&self) -> usize {
        let mut all: Vec<[u8; 3]> = self.pixels.clone();
        all.sort_unstable();
        all.dedup();
        all.len()
    }
}
