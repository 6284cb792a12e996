//! Reports with files (intakemerge): `multipart/form-data` from the form
//! (which works without JavaScript) and the API.
//!
//! The body is read as it arrives, and refused as soon as it grows past the
//! limit (the report's own limit plus the attachments' limit), so an
//! oversize upload is never held whole. What is read stays in memory, in
//! buffers wiped when dropped: nothing is written to disk before it is sealed.
//! Few uploads are read at once (see `Intake::uploads`), which bounds memory.

use axum::http::{HeaderMap, header};
use http_body_util::BodyExt;
use zeroize::Zeroizing;

/// One text field of the form.
pub(crate) struct Field {
    pub name: String,
    pub value: Zeroizing<String>,
}

/// One file.
pub(crate) struct File {
    /// The form field it came in.
    pub field: String,
    pub filename: String,
    pub content_type: String,
    pub bytes: Zeroizing<Vec<u8>>,
}

pub(crate) struct Parts {
    pub fields: Vec<Field>,
    pub files: Vec<File>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum MultipartError {
    /// The body grew past the limit.
    TooLarge,
    /// Not well-formed multipart, or the connection broke.
    Malformed,
}

/// The boundary, if the request is `multipart/form-data`.
pub(crate) fn boundary(headers: &HeaderMap) -> Option<String> {
    let ctype = headers.get(header::CONTENT_TYPE)?.to_str().ok()?;
    let (kind, params) = ctype.split_once(';').unwrap_or((ctype, ""));
    if !kind.trim().eq_ignore_ascii_case("multipart/form-data") {
        return None;
    }
    params.split(';').find_map(|p| {
        let (k, v) = p.split_once('=')?;
        if !k.trim().eq_ignore_ascii_case("boundary") {
            return None;
        }
        let v = v.trim().trim_matches('"');
        (!v.is_empty() && v.len() <= 70).then(|| v.to_owned())
    })
}

/// Reads the whole body, refusing it once it passes `limit` bytes.
pub(crate) async fn read_limited(
    body: axum::body::Body,
    headers: &HeaderMap,
    limit: usize,
) -> Result<Zeroizing<Vec<u8>>, MultipartError> {
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    // Far over the limit: refused before reading anything.
    if declared.is_some_and(|n| n > 2 * limit) {
        return Err(MultipartError::TooLarge);
    }
    // Reserved up front, so that growing does not leave clear copies behind.
    let mut buf = Zeroizing::new(Vec::with_capacity(declared.unwrap_or(64 * 1024).min(limit)));
    let mut body = body;
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|_| MultipartError::Malformed)?;
        if let Ok(data) = frame.into_data() {
            if buf.len() + data.len() > limit {
                // Read on (up to the limit again) without keeping anything,
                // so that a browser gets to show the answer instead of a
                // broken connection; then refuse.
                let mut drained = buf.len() + data.len();
                drop(buf);
                while drained <= 2 * limit {
                    match body.frame().await {
                        Some(Ok(f)) => drained += f.into_data().map(|d| d.len()).unwrap_or(0),
                        _ => break,
                    }
                }
                return Err(MultipartError::TooLarge);
            }
            if buf.len() + data.len() > buf.capacity() {
                let mut bigger = Zeroizing::new(Vec::with_capacity(
                    (buf.capacity() * 2).max(buf.len() + data.len()).min(limit),
                ));
                bigger.extend_from_slice(&buf);
                buf = bigger;
            }
            buf.extend_from_slice(&data);
        }
    }
    Ok(buf)
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() || haystack.len() < needle.len() {
        return None;
    }
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// A parameter of a Content-Disposition header (`name`, `filename`).
fn disposition_param(value: &str, key: &str) -> Option<String> {
    value.split(';').skip(1).find_map(|p| {
        let (k, v) = p.split_once('=')?;
        if !k.trim().eq_ignore_ascii_case(key) {
            return None;
        }
        let v = v.trim();
        let v = v
            .strip_prefix('"')
            .and_then(|v| v.strip_suffix('"'))
            .unwrap_or(v);
        Some(v.replace("\\\"", "\""))
    })
}

/// Splits a multipart body into text fields and files. A file input left
/// empty (no name, no bytes) is skipped.
pub(crate) fn parse(body: &[u8], boundary: &str) -> Result<Parts, MultipartError> {
    let delimiter = format!("--{boundary}");
    let start = find(body, delimiter.as_bytes()).ok_or(MultipartError::Malformed)?;
    let mut rest = &body[start + delimiter.len()..];
    let next_delimiter = format!("\r\n--{boundary}");
    let mut parts = Parts {
        fields: Vec::new(),
        files: Vec::new(),
    };
    loop {
        if rest.starts_with(b"--") {
            return Ok(parts);
        }
        rest = rest
            .strip_prefix(b"\r\n")
            .ok_or(MultipartError::Malformed)?;
        let head_end = find(rest, b"\r\n\r\n").ok_or(MultipartError::Malformed)?;
        let head = std::str::from_utf8(&rest[..head_end]).map_err(|_| MultipartError::Malformed)?;
        let content = &rest[head_end + 4..];
        let end = find(content, next_delimiter.as_bytes()).ok_or(MultipartError::Malformed)?;
        let data = &content[..end];
        rest = &content[end + next_delimiter.len()..];
        let mut name = None;
        let mut filename = None;
        let mut content_type = String::from("application/octet-stream");
        for line in head.split("\r\n") {
            let Some((key, value)) = line.split_once(':') else {
                continue;
            };
            if key.trim().eq_ignore_ascii_case("content-disposition") {
                name = disposition_param(value, "name");
                filename = disposition_param(value, "filename");
            } else if key.trim().eq_ignore_ascii_case("content-type") {
                content_type = value.trim().chars().take(100).collect();
            }
        }
        let name = name.ok_or(MultipartError::Malformed)?;
        match filename {
            Some(filename) => {
                if filename.is_empty() && data.is_empty() {
                    continue;
                }
                parts.files.push(File {
                    field: name,
                    filename,
                    content_type,
                    bytes: Zeroizing::new(data.to_vec()),
                });
            }
            None => {
                let value = std::str::from_utf8(data).map_err(|_| MultipartError::Malformed)?;
                parts.fields.push(Field {
                    name,
                    value: Zeroizing::new(value.to_owned()),
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn fields_and_files_come_apart_and_an_empty_file_input_is_skipped() {
        let body = b"--XyZ\r\nContent-Disposition: form-data; name=\"text\"\r\n\r\n\xd0\xb7\xd0\xb0\xd0\xb4\xd0\xb5\xd1\x80\xd0\xb6\xd0\xb0\xd0\xbd\r\n--XyZ\r\nContent-Disposition: form-data; name=\"attachment\"; filename=\"IMG 1.jpg\"\r\nContent-Type: image/jpeg\r\n\r\n\xff\xd8\xff\r\n\x00--XyZ\r\n--XyZ\r\nContent-Disposition: form-data; name=\"attachment\"; filename=\"\"\r\nContent-Type: application/octet-stream\r\n\r\n\r\n--XyZ--\r\n";
        let parts = parse(body, "XyZ").unwrap();
        assert_eq!(parts.fields.len(), 1);
        assert_eq!(parts.fields[0].name, "text");
        assert_eq!(parts.fields[0].value.as_str(), "задержан");
        assert_eq!(parts.files.len(), 1);
        assert_eq!(parts.files[0].filename, "IMG 1.jpg");
        assert_eq!(parts.files[0].content_type, "image/jpeg");
        assert_eq!(&parts.files[0].bytes[..], b"\xff\xd8\xff\r\n\x00--XyZ");
    }

    #[test]
    fn a_cut_body_is_malformed() {
        let body = b"--XyZ\r\nContent-Disposition: form-data; name=\"text\"\r\n\r\nwords";
        assert_eq!(parse(body, "XyZ").err(), Some(MultipartError::Malformed));
    }

    #[test]
    fn the_boundary_comes_from_the_content_type() {
        let mut h = HeaderMap::new();
        h.insert(
            header::CONTENT_TYPE,
            "multipart/form-data; boundary=\"a b\"".parse().unwrap(),
        );
        assert_eq!(boundary(&h).as_deref(), Some("a b"));
        h.insert(header::CONTENT_TYPE, "application/json".parse().unwrap());
        assert_eq!(boundary(&h), None);
    }
}
