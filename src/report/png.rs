//! A small PNG encoder for 8-bit RGB images, on flate2's deflate and CRC-32.
//!
//! Used for the decision surfaces: their banded colour maps compress far better at
//! deflate's best level with per-row filters than through the plotting library's encoder,
//! and the same encoder turns a surface's grid into the raster image its SVG embeds.
//!
//! The file is the PNG signature, then the chunks IHDR (width, height, bit depth 8,
//! colour type 2 = RGB, no interlace), one IDAT (the zlib stream of the filtered rows)
//! and IEND; each chunk is `length, type, data, CRC-32(type, data)` (PNG specification,
//! sections 5 and 11). Each row takes whichever of the filters None, Sub and Up gives the
//! smallest sum of absolute values, the usual heuristic (specification section 12.8).

use std::io::Write as _;

use flate2::Compression;
use flate2::write::ZlibEncoder;

const SIGNATURE: [u8; 8] = [0x89, b'P', b'N', b'G', b'\r', b'\n', 0x1a, b'\n'];

fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    let mut crc = flate2::Crc::new();
    crc.update(kind);
    crc.update(data);
    out.extend_from_slice(&crc.sum().to_be_bytes());
}

/// The filtered row `row` (filter type first) given the row above, `prev` (zeros for the
/// first row); 3 bytes per pixel.
fn filter_row(row: &[u8], prev: &[u8], out: &mut Vec<u8>) {
    let none = row.to_vec();
    let sub: Vec<u8> =
        (0..row.len()).map(|i| row[i].wrapping_sub(if i >= 3 { row[i - 3] } else { 0 })).collect();
    let up: Vec<u8> = row.iter().zip(prev).map(|(&a, &b)| a.wrapping_sub(b)).collect();
    // Bytes read as signed: small differences either way cost little.
    let cost = |v: &[u8]| v.iter().map(|&b| u64::from((b as i8).unsigned_abs())).sum::<u64>();
    let (kind, data) = [(0u8, none), (1, sub), (2, up)]
        .into_iter()
        .min_by_key(|(_, v)| cost(v))
        .expect("three candidates");
    out.push(kind);
    out.extend_from_slice(&data);
}

/// Encodes an RGB image, `width · height · 3` bytes row by row from the top, as PNG.
///
/// # Panics
///
/// If `rgb` is not `width · height · 3` bytes long, or either side is 0.
pub fn encode_rgb(width: u32, height: u32, rgb: &[u8]) -> Vec<u8> {
    let stride = width as usize * 3;
    assert!(width > 0 && height > 0, "png: empty image {width}x{height}");
    assert_eq!(rgb.len(), stride * height as usize, "png: buffer is not {width}x{height} RGB");
    let mut filtered = Vec::with_capacity(rgb.len() + height as usize);
    let zeros = vec![0u8; stride];
    for (r, row) in rgb.chunks_exact(stride).enumerate() {
        let prev = if r == 0 { &zeros[..] } else { &rgb[(r - 1) * stride..r * stride] };
        filter_row(row, prev, &mut filtered);
    }
    let mut z = ZlibEncoder::new(Vec::new(), Compression::best());
    z.write_all(&filtered).expect("writing to memory");
    let idat = z.finish().expect("writing to memory");

    let mut ihdr = Vec::with_capacity(13);
    ihdr.extend_from_slice(&width.to_be_bytes());
    ihdr.extend_from_slice(&height.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]);
    let mut out = SIGNATURE.to_vec();
    chunk(&mut out, b"IHDR", &ihdr);
    chunk(&mut out, b"IDAT", &idat);
    chunk(&mut out, b"IEND", &[]);
    out
}

#[cfg(test)]
mod tests {
    use std::io::Read as _;

    use super::*;

    /// Undoes the three filters, written from the specification's definitions.
    fn unfilter(data: &[u8], width: usize, height: usize) -> Vec<u8> {
        let stride = width * 3;
        let mut out = vec![0u8; stride * height];
        for r in 0..height {
            let line = &data[r * (stride + 1)..(r + 1) * (stride + 1)];
            for i in 0..stride {
                let left = if i >= 3 { out[r * stride + i - 3] } else { 0 };
                let up = if r > 0 { out[(r - 1) * stride + i] } else { 0 };
                let pred = match line[0] {
                    0 => 0,
                    1 => left,
                    2 => up,
                    f => panic!("unexpected filter {f}"),
                };
                out[r * stride + i] = line[1 + i].wrapping_add(pred);
            }
        }
        out
    }

    /// The file has the PNG layout (signature, IHDR, IDAT, IEND with its well-known CRC)
    /// and its IDAT inflates and unfilters back to the pixels, on an image that makes every
    /// filter win somewhere.
    #[test]
    fn png_round_trips_through_inflate_and_unfilter() {
        let (w, h) = (7usize, 5usize);
        let rgb: Vec<u8> =
            (0..w * h * 3).map(|i| ((i / 3 % w) * 30 + (i / (3 * w)) * 7 + i % 3) as u8).collect();
        let png = encode_rgb(w as u32, h as u32, &rgb);
        assert_eq!(png[..8], SIGNATURE);
        assert_eq!(&png[12..16], b"IHDR");
        assert_eq!(u32::from_be_bytes(png[16..20].try_into().unwrap()), w as u32);
        assert_eq!(u32::from_be_bytes(png[20..24].try_into().unwrap()), h as u32);
        // IEND has no data, so its CRC is the CRC-32 of "IEND": 0xAE426082.
        assert_eq!(
            png[png.len() - 12..],
            [0, 0, 0, 0, b'I', b'E', b'N', b'D', 0xAE, 0x42, 0x60, 0x82]
        );
        let idat_len = u32::from_be_bytes(png[33..37].try_into().unwrap()) as usize;
        assert_eq!(&png[37..41], b"IDAT");
        let mut raw = Vec::new();
        flate2::read::ZlibDecoder::new(&png[41..41 + idat_len]).read_to_end(&mut raw).unwrap();
        assert_eq!(raw.len(), h * (3 * w + 1));
        assert_eq!(unfilter(&raw, w, h), rgb);
    }
}
