//! 8-bit RGB images to PNG bytes, through the `png` crate.
//!
//! Used for the decision surfaces: their banded colour maps compress far better with the
//! encoder's best compression and adaptive row filters than at the plotting library's
//! defaults, and the same call turns a surface's grid into the raster image its SVG embeds.

/// The PNG file of a `width x height` image of RGB triples, row-major, top row first.
///
/// # Panics
/// If `rgb` is not `3 · width · height` bytes: images come from code, not from data.
pub fn encode_rgb(width: u32, height: u32, rgb: &[u8]) -> Vec<u8> {
    assert_eq!(rgb.len(), 3 * width as usize * height as usize, "RGB buffer size");
    let mut out = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut out, width, height);
        enc.set_color(png::ColorType::Rgb);
        enc.set_depth(png::BitDepth::Eight);
        enc.set_compression(png::Compression::Best);
        enc.set_adaptive_filter(png::AdaptiveFilterType::Adaptive);
        let mut writer = enc.write_header().expect("writing to memory cannot fail");
        writer.write_image_data(rgb).expect("the size was checked");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The bytes decode back to the same pixels.
    #[test]
    fn round_trips_through_the_decoder() {
        let (w, h) = (7u32, 5u32);
        let rgb: Vec<u8> = (0..w * h * 3).map(|i| (i * 37 % 251) as u8).collect();
        let bytes = encode_rgb(w, h, &rgb);
        let decoder = png::Decoder::new(bytes.as_slice());
        let mut reader = decoder.read_info().unwrap();
        let mut buf = vec![0; reader.output_buffer_size()];
        let info = reader.next_frame(&mut buf).unwrap();
        assert_eq!((info.width, info.height, info.color_type), (w, h, png::ColorType::Rgb));
        assert_eq!(&buf[..info.buffer_size()], rgb.as_slice());
    }
}
