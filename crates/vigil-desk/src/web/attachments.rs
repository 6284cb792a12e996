//! intakemerge: the files sent with a report. The list shows each file's
//! name, type, size, whether its metadata was stripped, and the SHA-256 of
//! the original as the reporter sent it; each downloads on its own. Only
//! roles that may read a report's text get either, and every download is
//! written to the audit log first (no entry, no file).

use std::sync::Arc;

use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;
use vigil_core::attachment::AttachmentInfo;
use vigil_core::{Lang, ReportId};

use super::{DeskWeb, Forbidden, SignedIn, render};
use crate::audit::{self, AuditAction};
use crate::authz::Perm;

pub(super) fn routes() -> Router<Arc<DeskWeb>> {
    Router::new()
        .route("/reports/{id}/attachments", get(list))
        .route("/reports/{id}/attachments/{n}", get(download))
}

struct ListTexts {
    lang: &'static str,
    title: &'static str,
    back: &'static str,
    kind: &'static str,
    size: &'static str,
    original: &'static str,
    stripped: &'static str,
    kept_as_sent: &'static str,
    download: &'static str,
    none: &'static str,
    warning: &'static str,
}

fn texts(lang: Lang) -> ListTexts {
    match lang {
        Lang::Ru => ListTexts {
            lang: "ru",
            title: "Файлы сообщения",
            back: "К очереди",
            kind: "Тип (как указал отправитель)",
            size: "Размер",
            original: "SHA-256 оригинала",
            stripped: "место съёмки и данные камеры удалены",
            kept_as_sent: "сохранён как прислан",
            download: "Скачать",
            none: "К этому сообщению файлы не приложены.",
            warning: "Файлы прислал неизвестный отправитель: открывайте их на защищённой машине, не в браузере рабочего места.",
        },
        Lang::En => ListTexts {
            lang: "en",
            title: "Files of the report",
            back: "Back to the queue",
            kind: "Type (as the sender declared it)",
            size: "Size",
            original: "SHA-256 of the original",
            stripped: "location and camera data removed",
            kept_as_sent: "kept as sent",
            download: "Download",
            none: "No files came with this report.",
            warning: "An unknown sender sent these files: open them on a protected machine, not in the desk's browser.",
        },
    }
}

#[derive(Template)]
#[template(path = "attachments.html")]
struct ListPage<'a> {
    t: ListTexts,
    id: &'a str,
    files: Vec<(usize, &'a AttachmentInfo, String)>,
}

#[derive(Deserialize)]
pub(super) struct LangQuery {
    lang: Option<String>,
}

/// "1.2 MB" / "1,2 МБ".
fn size(bytes: u64, lang: Lang) -> String {
    let (value, unit) = if bytes >= 1024 * 1024 {
        (bytes as f64 / (1024.0 * 1024.0), lang.pick("МБ", "MiB"))
    } else if bytes >= 1024 {
        (bytes as f64 / 1024.0, lang.pick("КБ", "KiB"))
    } else {
        return format!("{bytes} {}", lang.pick("Б", "B"));
    };
    let shown = format!("{value:.1}");
    match lang {
        Lang::Ru => format!("{} {unit}", shown.replace('.', ",")),
        Lang::En => format!("{shown} {unit}"),
    }
}

fn not_found(lang: Lang) -> Response {
    (
        StatusCode::NOT_FOUND,
        lang.pick(
            "Такого сообщения или файла нет на рабочем месте.",
            "There is no such report or file on this desk.",
        ),
    )
        .into_response()
}

fn unavailable(e: impl std::fmt::Display) -> Response {
    tracing::error!(error = %e, "desk attachments: storage failed");
    StatusCode::SERVICE_UNAVAILABLE.into_response()
}

/// The report's envelope and files, opened, or the answer to send instead.
async fn opened(
    desk: &DeskWeb,
    id: &str,
    lang: Lang,
) -> Result<vigil_core::attachment::OpenedReport, Response> {
    let Ok(report_id) = id.parse::<ReportId>() else {
        return Err(not_found(lang));
    };
    let report = match desk.store.desk_report(&report_id).await {
        Ok(Some(r)) => r,
        Ok(None) => return Err(not_found(lang)),
        Err(e) => return Err(unavailable(e)),
    };
    desk.identity.open_report(&report.sealed).map_err(|_| {
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            lang.pick(
                "Сообщение не открывается этим ключом.",
                "The report cannot be opened with this key.",
            ),
        )
            .into_response()
    })
}

async fn list(
    State(desk): State<Arc<DeskWeb>>,
    signed_in: SignedIn,
    Path(id): Path<String>,
    Query(q): Query<LangQuery>,
) -> Result<Response, Forbidden> {
    signed_in.require(Perm::ReadReportText)?;
    let lang = Lang::from_code(q.lang.as_deref());
    let (envelope, _files) = match opened(&desk, &id, lang).await {
        Ok(o) => o,
        Err(r) => return Ok(r),
    };
    let files = envelope
        .attachments
        .iter()
        .enumerate()
        .map(|(n, a)| (n, a, size(a.size, lang)))
        .collect();
    let mut response = render(
        &ListPage {
            t: texts(lang),
            id: &id,
            files,
        },
        StatusCode::OK,
    );
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

/// `filename*=UTF-8''…` for Content-Disposition (RFC 6266), with a plain
/// ASCII fallback.
fn disposition(name: &str) -> String {
    let ascii: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                c
            } else {
                '_'
            }
        })
        .collect();
    let mut encoded = String::new();
    for b in name.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_') {
            encoded.push(char::from(b));
        } else {
            encoded.push_str(&format!("%{b:02X}"));
        }
    }
    format!("attachment; filename=\"{ascii}\"; filename*=UTF-8''{encoded}")
}

async fn download(
    State(desk): State<Arc<DeskWeb>>,
    signed_in: SignedIn,
    Path((id, n)): Path<(String, String)>,
    Query(q): Query<LangQuery>,
) -> Result<Response, Forbidden> {
    signed_in.require(Perm::ReadReportText)?;
    let lang = Lang::from_code(q.lang.as_deref());
    let (envelope, mut files) = match opened(&desk, &id, lang).await {
        Ok(o) => o,
        Err(r) => return Ok(r),
    };
    let Some(n) = n.parse::<usize>().ok().filter(|n| *n < files.len()) else {
        return Ok(not_found(lang));
    };
    let Some(info) = envelope.attachments.get(n) else {
        return Ok(not_found(lang));
    };
    let number = n.to_string();
    // The entry first: a download that cannot be recorded does not happen.
    if let Err(e) = audit::record(
        desk.store.as_ref(),
        desk.clock.unix(),
        &signed_in.0.username,
        AuditAction::DownloadAttachment,
        &[&id, &number],
    )
    .await
    {
        return Ok(unavailable(e));
    }
    let bytes = std::mem::take(&mut files[n]);
    let mut response = (StatusCode::OK, bytes.to_vec()).into_response();
    let headers = response.headers_mut();
    // Never the sender's declared type: a file from outside must not render
    // in the desk's origin (HTML, SVG); it is always a download.
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    if let Ok(v) = HeaderValue::from_str(&disposition(&info.name)) {
        headers.insert(header::CONTENT_DISPOSITION, v);
    }
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        header::HeaderName::from_static("x-content-type-options"),
        HeaderValue::from_static("nosniff"),
    );
    Ok(response)
}

#[cfg(test)]
mod tests {
    #[test]
    fn sizes_and_names_read_well() {
        use vigil_core::Lang;
        assert_eq!(super::size(512, Lang::En), "512 B");
        assert_eq!(super::size(1536, Lang::Ru), "1,5 КБ");
        assert_eq!(super::size(20 * 1024 * 1024, Lang::En), "20.0 MiB");
        assert_eq!(
            super::disposition("фото 1.jpg"),
            "attachment; filename=\"_____1.jpg\"; filename*=UTF-8''%D1%84%D0%BE%D1%82%D0%BE%201.jpg"
        );
    }
}
