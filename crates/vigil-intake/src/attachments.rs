//! Attachments: location and camera metadata stripped from photos in memory,
//! before anything is sealed.
//!
//! A photo from a phone carries where it was taken (GPS), when, with which
//! device (make, model, serial number) and often a thumbnail of the uncropped
//! picture. A reporter rarely knows. This module removes it from JPEG and PNG,
//! the formats phones and messengers produce, by dropping whole segments or
//! chunks; the picture's own data is copied unchanged, so nothing is decoded or
//! re-encoded and a malformed file is refused rather than half-copied.

/// What kind of file an attachment is, by its first bytes (never by its name
/// or declared type, which a sender chooses).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Jpeg,
    Png,
    /// Anything else: kept as sent, sealed all the same.
    Other,
}

pub fn kind(bytes: &[u8]) -> Kind {
    if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Kind::Jpeg
    } else if bytes.starts_with(PNG_SIGNATURE) {
        Kind::Png
    } else {
        Kind::Other
    }
}

/// A photo that claims to be JPEG or PNG but does not hold together.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Malformed;

/// The file with its metadata removed (or as sent, for other kinds).
pub fn strip(bytes: &[u8]) -> Result<Vec<u8>, Malformed> {
    match kind(bytes) {
        Kind::Jpeg => strip_jpeg(bytes),
        Kind::Png => strip_png(bytes),
        Kind::Other => Ok(bytes.to_vec()),
    }
}

/// JPEG segments kept before the image data: JFIF (APP0), the colour profile
/// (APP2, ICC) and Adobe's colour transform (APP14), which decoders need. All
/// other application segments (APP1 holds Exif with GPS and XMP; APP13 holds
/// IPTC) and comments are dropped.
fn keep_jpeg_marker(marker: u8) -> bool {
    match marker {
        0xE0 | 0xE2 | 0xEE => true,
        0xE1 | 0xE3..=0xED | 0xEF | 0xFE => false,
        _ => true,
    }
}

fn strip_jpeg(bytes: &[u8]) -> Result<Vec<u8>, Malformed> {
    let mut out = Vec::with_capacity(bytes.len());
    out.extend_from_slice(&[0xFF, 0xD8]);
    let mut at = 2;
    loop {
        // Markers may be padded with extra 0xFF bytes.
        while bytes.get(at) == Some(&0xFF) && bytes.get(at + 1) == Some(&0xFF) {
            at += 1;
        }
        let (Some(0xFF), Some(&marker)) = (bytes.get(at), bytes.get(at + 1)) else {
            return Err(Malformed);
        };
        match marker {
            // End of image without image data.
            0xD9 => {
                out.extend_from_slice(&[0xFF, 0xD9]);
                return Ok(out);
            }
            // Stand-alone markers carry no length.
            0x01 | 0xD0..=0xD7 => {
                out.extend_from_slice(&bytes[at..at + 2]);
                at += 2;
                continue;
            }
            _ => {}
        }
        let len = match (bytes.get(at + 2), bytes.get(at + 3)) {
            (Some(&hi), Some(&lo)) => usize::from(u16::from_be_bytes([hi, lo])),
            _ => return Err(Malformed),
        };
        if len < 2 {
            return Err(Malformed);
        }
        let end = at + 2 + len;
        let segment = bytes.get(at..end).ok_or(Malformed)?;
        if marker == 0xDA {
            // Start of scan: the rest is image data (and any later scans),
            // copied as is up to the end.
            out.extend_from_slice(&bytes[at..]);
            return Ok(out);
        }
        if keep_jpeg_marker(marker) {
            out.extend_from_slice(segment);
        }
        at = end;
    }
}

const PNG_SIGNATURE: &[u8] = b"\x89PNG\r\n\x1a\n";

/// PNG chunks dropped: Exif (eXIf), text of every kind (tEXt, iTXt, zTXt,
/// where cameras and editors put authors, devices and places) and the time
/// of last change (tIME).
fn drop_png_chunk(kind: &[u8]) -> bool {
    matches!(kind, b"eXIf" | b"tEXt" | b"iTXt" | b"zTXt" | b"tIME")
}

fn strip_png(bytes: &[u8]) -> Result<Vec<u8>, Malformed> {
    let mut out = Vec::with_capacity(bytes.len());
    out.extend_from_slice(PNG_SIGNATURE);
    let mut at = PNG_SIGNATURE.len();
    loop {
        let head = bytes.get(at..at + 8).ok_or(Malformed)?;
        let len = usize::try_from(u32::from_be_bytes([head[0], head[1], head[2], head[3]]))
            .map_err(|_| Malformed)?;
        let kind = &head[4..8];
        // Length, type, data, CRC.
        let end = at
            .checked_add(12)
            .and_then(|n| n.checked_add(len))
            .ok_or(Malformed)?;
        let chunk = bytes.get(at..end).ok_or(Malformed)?;
        if !drop_png_chunk(kind) {
            out.extend_from_slice(chunk);
        }
        at = end;
        if kind == b"IEND" {
            return Ok(out);
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// A real 8×8 grey baseline JPEG as a camera would write it, with an Exif
    /// segment holding GPS coordinates and a camera model, an XMP segment, an
    /// IPTC segment and a comment, each with a marker text to look for.
    fn camera_jpeg() -> Vec<u8> {
        let mut f = vec![0xFF, 0xD8];
        let segment = |f: &mut Vec<u8>, marker: u8, data: &[u8]| {
            f.extend_from_slice(&[0xFF, marker]);
            f.extend_from_slice(&u16::try_from(data.len() + 2).unwrap().to_be_bytes());
            f.extend_from_slice(data);
        };
        segment(&mut f, 0xE0, b"JFIF\0\x01\x01\0\0\x01\0\x01\0\0");
        let mut exif = b"Exif\0\0MM\0\x2a\0\0\0\x08".to_vec();
        exif.extend_from_slice(b"GPS 55.7558N 37.6173E Model: Pixel 7 SERIAL-123");
        segment(&mut f, 0xE1, &exif);
        segment(
            &mut f,
            0xE1,
            b"http://ns.adobe.com/xap/1.0/\0<x:xmpmeta>GPS XMP</x:xmpmeta>",
        );
        segment(&mut f, 0xED, b"Photoshop 3.0\0IPTC GPS city Moscow");
        segment(&mut f, 0xFE, b"GPS comment");
        // Quantisation table (all ones), frame header 8x8 one component,
        // a Huffman table for DC and one for AC, scan header, data, end.
        let mut dqt = vec![0u8];
        dqt.extend_from_slice(&[1u8; 64]);
        segment(&mut f, 0xDB, &dqt);
        segment(&mut f, 0xC0, &[8, 0, 8, 0, 8, 1, 1, 0x11, 0]);
        let mut dht_dc = vec![0x00, 1];
        dht_dc.extend_from_slice(&[0; 15]);
        dht_dc.push(0);
        segment(&mut f, 0xC4, &dht_dc);
        let mut dht_ac = vec![0x10, 1];
        dht_ac.extend_from_slice(&[0; 15]);
        dht_ac.push(0);
        segment(&mut f, 0xC4, &dht_ac);
        segment(&mut f, 0xDA, &[1, 1, 0x00, 0, 63, 0]);
        // DC diff 0 (code 0), then EOB (code 0): bits 00, padded with ones.
        f.extend_from_slice(&[0x3F, 0xFF, 0xD9]);
        f
    }

    fn crc32(data: &[u8]) -> u32 {
        let mut crc = 0xFFFF_FFFFu32;
        for &b in data {
            crc ^= u32::from(b);
            for _ in 0..8 {
                crc = if crc & 1 == 1 {
                    (crc >> 1) ^ 0xEDB8_8320
                } else {
                    crc >> 1
                };
            }
        }
        !crc
    }

    fn chunk(f: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
        f.extend_from_slice(&u32::try_from(data.len()).unwrap().to_be_bytes());
        let mut typed = kind.to_vec();
        typed.extend_from_slice(data);
        f.extend_from_slice(&typed);
        f.extend_from_slice(&crc32(&typed).to_be_bytes());
    }

    /// A real 1×1 grey PNG (stored zlib block, correct CRCs and Adler-32)
    /// with Exif, text, international text, compressed text and time chunks.
    fn camera_png() -> Vec<u8> {
        let mut f = PNG_SIGNATURE.to_vec();
        chunk(&mut f, b"IHDR", &[0, 0, 0, 1, 0, 0, 0, 1, 8, 0, 0, 0, 0]);
        chunk(
            &mut f,
            b"eXIf",
            b"MM\0\x2a\0\0\0\x08GPS 55.7558N Model: Pixel 7",
        );
        chunk(&mut f, b"tEXt", b"Author\0GPS author name");
        chunk(&mut f, b"iTXt", b"Location\0\0\0\0\0GPS Moscow");
        chunk(&mut f, b"zTXt", b"Comment\0\0GPS-compressed");
        chunk(&mut f, b"tIME", &[0x07, 0xEA, 12, 7, 3, 0, 0]);
        // One scanline: filter 0, one grey byte 0x80; zlib stored block.
        let raw = [0u8, 0x80];
        let mut z = vec![0x78, 0x01, 0x01, 2, 0, 0xFD, 0xFF];
        z.extend_from_slice(&raw);
        let (mut a, mut b) = (1u32, 0u32);
        for &x in &raw {
            a = (a + u32::from(x)) % 65521;
            b = (b + a) % 65521;
        }
        z.extend_from_slice(&((b << 16) | a).to_be_bytes());
        chunk(&mut f, b"IDAT", &z);
        chunk(&mut f, b"IEND", &[]);
        f
    }

    fn contains(hay: &[u8], needle: &[u8]) -> bool {
        hay.windows(needle.len()).any(|w| w == needle)
    }

    #[test]
    fn jpeg_loses_exif_xmp_iptc_and_comments_and_keeps_its_picture() {
        let photo = camera_jpeg();
        assert!(contains(&photo, b"GPS"));
        let clean = strip(&photo).unwrap();
        assert!(!contains(&clean, b"GPS"), "metadata left");
        assert!(!contains(&clean, b"Pixel 7") && !contains(&clean, b"Exif"));
        assert!(contains(&clean, b"JFIF"));
        // Everything from the quantisation table on is unchanged.
        let picture = |f: &[u8]| {
            let at = f.windows(2).position(|w| w == [0xFF, 0xDB]).unwrap();
            f[at..].to_vec()
        };
        assert_eq!(picture(&clean), picture(&photo));
        assert!(clean.ends_with(&[0xFF, 0xD9]));
        // Stripping again changes nothing.
        assert_eq!(strip(&clean).unwrap(), clean);
    }

    #[test]
    fn png_loses_exif_text_and_time_chunks_and_keeps_valid_crcs() {
        let photo = camera_png();
        let clean = strip(&photo).unwrap();
        assert!(!contains(&clean, b"GPS"));
        for kind in [b"eXIf", b"tEXt", b"iTXt", b"zTXt", b"tIME"] {
            assert!(!contains(&clean, kind), "{}", String::from_utf8_lossy(kind));
        }
        for kind in [b"IHDR", b"IDAT", b"IEND"] {
            assert!(contains(&clean, kind));
        }
        // Every chunk left still has its length and a CRC that checks.
        let mut at = 8;
        while at < clean.len() {
            let len = u32::from_be_bytes(clean[at..at + 4].try_into().unwrap()) as usize;
            let typed = &clean[at + 4..at + 8 + len];
            let crc = u32::from_be_bytes(clean[at + 8 + len..at + 12 + len].try_into().unwrap());
            assert_eq!(crc32(typed), crc);
            at += 12 + len;
        }
        assert_eq!(at, clean.len());
    }

    #[test]
    fn a_truncated_photo_is_refused_and_other_files_pass_unchanged() {
        let jpeg = camera_jpeg();
        assert_eq!(strip(&jpeg[..40]), Err(Malformed));
        let png = camera_png();
        assert_eq!(strip(&png[..png.len() - 5]), Err(Malformed));
        let pdf = b"%PDF-1.7 court decision".to_vec();
        assert_eq!(kind(&pdf), Kind::Other);
        assert_eq!(strip(&pdf).unwrap(), pdf);
    }
}
