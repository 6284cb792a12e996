//! intakemerge: files sent with a report, through the real binaries: the
//! JSON API's multipart form and the HTML form, sealed in the report's own age
//! stream, stripped of location and camera metadata, pulled by the desk and
//! downloaded there (with an audit entry), never in clear on the intake.

use sha2::Digest;

use super::{World, assert_nowhere, client};

const GPS_MARKER: &str = "GPS-MARKER-55.7558N-37.6173E Model: Pixel 7";
const DOC_MARKER: &[u8] = b"DOC-MARKER-4d1a court decision of 3 March";

/// An 8x8 grey baseline JPEG with an Exif segment holding GPS and a camera.
fn camera_jpeg() -> Vec<u8> {
    let mut f = vec![0xFF, 0xD8];
    let segment = |f: &mut Vec<u8>, marker: u8, data: &[u8]| {
        f.extend_from_slice(&[0xFF, marker]);
        f.extend_from_slice(&u16::try_from(data.len() + 2).unwrap().to_be_bytes());
        f.extend_from_slice(data);
    };
    segment(&mut f, 0xE0, b"JFIF\0\x01\x01\0\0\x01\0\x01\0\0");
    let mut exif = b"Exif\0\0MM\0\x2a\0\0\0\x08".to_vec();
    exif.extend_from_slice(GPS_MARKER.as_bytes());
    segment(&mut f, 0xE1, &exif);
    let mut dqt = vec![0u8];
    dqt.extend_from_slice(&[1u8; 64]);
    segment(&mut f, 0xDB, &dqt);
    segment(&mut f, 0xC0, &[8, 0, 8, 0, 8, 1, 1, 0x11, 0]);
    for class in [0x00, 0x10] {
        let mut dht = vec![class, 1];
        dht.extend_from_slice(&[0; 15]);
        dht.push(0);
        segment(&mut f, 0xC4, &dht);
    }
    segment(&mut f, 0xDA, &[1, 1, 0x00, 0, 63, 0]);
    f.extend_from_slice(&[0x3F, 0xFF, 0xD9]);
    f
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

/// A multipart body: text parts, then file parts (field, name, type, bytes).
fn multipart(texts: &[(&str, &str)], files: &[(&str, &str, &str, &[u8])]) -> (String, Vec<u8>) {
    let boundary = "vigil-test-boundary-8e2f";
    let mut body = Vec::new();
    for (name, value) in texts {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
            )
            .as_bytes(),
        );
    }
    for (field, name, ctype, bytes) in files {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{field}\"; filename=\"{name}\"\r\nContent-Type: {ctype}\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_photo_reaches_the_desk_without_its_location_and_never_lies_in_clear_on_the_intake() {
    let mut w = World::new();
    let intake = w.start_intake();
    let c = client();
    let photo = camera_jpeg();
    let original_sha = hex::encode(sha2::Sha256::digest(&photo));

    // The API: the report's JSON in a part named report, files as attachment.
    let report = serde_json::json!({"text": "Фото протокола задержания", "lang": "en"}).to_string();
    let (ctype, body) = multipart(
        &[("report", &report)],
        &[
            ("attachment", "IMG_0042.jpg", "image/jpeg", &photo),
            ("attachment", "решение суда.txt", "text/plain", DOC_MARKER),
        ],
    );
    let r = c
        .post(format!("{intake}/api/v1/reports"))
        .header("content-type", ctype)
        .body(body)
        .send()
        .await
        .unwrap();
    let status = r.status();
    let answer: serde_json::Value = r.json().await.unwrap();
    assert_eq!(status, 201, "{answer}");
    assert!(answer["receipt"].is_string());

    // The form (no JavaScript): multipart too, the receipt page comes back.
    let (ctype, body) = multipart(
        &[("text", "Form with a photo"), ("lang", "en")],
        &[("attachment", "form.jpg", "image/jpeg", &photo)],
    );
    let r = c
        .post(format!("{intake}/report?lang=en"))
        .header("content-type", ctype)
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.text().await.unwrap().contains("id=\"receipt\""));

    // Over the limit (20 MiB by default): refused with what to do, in the
    // sender's language, and nothing is kept.
    let big = vec![b'x'; 20 * 1024 * 1024 + 1];
    for (lang, words) in [("en", "larger than 20 MiB"), ("ru", "больше 20 МБ")] {
        let report = serde_json::json!({"text": "too big", "lang": lang}).to_string();
        let (ctype, body) = multipart(
            &[("report", &report)],
            &[("attachment", "video.mp4", "video/mp4", &big)],
        );
        let r = c
            .post(format!("{intake}/api/v1/reports"))
            .header("content-type", ctype)
            .header("accept-language", lang)
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 413);
        let answer: serde_json::Value = r.json().await.unwrap();
        assert_eq!(answer["error"]["code"], "attachments_too_large");
        assert!(
            answer["error"]["message"].as_str().unwrap().contains(words),
            "{answer}"
        );
    }
    let (ctype, body) = multipart(
        &[("text", "too big"), ("lang", "ru")],
        &[("attachment", "video.mp4", "video/mp4", &big)],
    );
    let r = c
        .post(format!("{intake}/report"))
        .header("content-type", ctype)
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 413);
    let page = r.text().await.unwrap();
    assert!(
        page.contains("больше 20 МБ") && page.contains("<form"),
        "{page}"
    );
    assert_eq!(
        w.intake_store().await.intake_pending_count().await.unwrap(),
        2
    );

    // The intake's files hold neither the photo's metadata nor the document.
    assert_nowhere(&w, GPS_MARKER);
    assert_nowhere(&w, std::str::from_utf8(DOC_MARKER).unwrap());

    // The desk: pull, list, download.
    let mut account = w.command(&["desk", "account", "lawyer", "--role", "duty_lawyer"]);
    account.env("VIGIL_ACCOUNT_PASSWORD", "correct horse battery");
    assert!(account.output().unwrap().status.success());
    let desk = w.serve(&["desk", "serve"], "desk listening on");
    let (cookie, _) =
        crate::desk_access::http_login(&c, &desk, "lawyer", "correct horse battery", None).await;
    w.run_ok(&["desk", "pull"]);
    let listed = w.desk_list();
    let item = listed
        .iter()
        .find(|i| i["text"] == "Фото протокола задержания")
        .unwrap();
    let id = item["id"].as_str().unwrap().to_owned();
    let files = item["attachments"].as_array().unwrap();
    assert_eq!(files.len(), 2);
    assert_eq!(files[0]["name"], "IMG_0042.jpg");
    assert_eq!(files[0]["sha256"], original_sha.as_str());
    assert_eq!(files[0]["stripped"], true);
    assert_eq!(files[1]["name"], "решение суда.txt");
    assert_eq!(files[1]["stripped"], false);

    let get = |path: String| {
        let (c, cookie) = (c.clone(), cookie.clone());
        async move { c.get(path).header("cookie", cookie).send().await.unwrap() }
    };
    // The report's page (where a verifier opens it) links its files.
    let report = get(format!("{desk}/reports/{id}?lang=en"))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        report.contains(&format!("/reports/{id}/attachments")),
        "{report}"
    );
    let list = get(format!("{desk}/reports/{id}/attachments?lang=en"))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        list.contains("IMG_0042.jpg") && list.contains(&original_sha),
        "the original's SHA-256 is shown: {list}"
    );
    assert!(list.contains("location and camera data removed"), "{list}");
    let r = get(format!("{desk}/reports/{id}/attachments/0")).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "application/octet-stream");
    assert!(
        r.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .contains("IMG_0042.jpg")
    );
    let downloaded = r.bytes().await.unwrap();
    assert!(downloaded.starts_with(&[0xFF, 0xD8]) && downloaded.ends_with(&[0xFF, 0xD9]));
    assert!(contains(&downloaded, b"JFIF"));
    assert!(
        !contains(&downloaded, b"GPS")
            && !contains(&downloaded, b"Pixel 7")
            && !contains(&downloaded, b"Exif"),
        "metadata left in the download"
    );
    let r = get(format!("{desk}/reports/{id}/attachments/1")).await;
    assert_eq!(&r.bytes().await.unwrap()[..], DOC_MARKER);
    let r = get(format!("{desk}/reports/{id}/attachments/2")).await;
    assert_eq!(r.status(), 404);
    // Each download is in the audit log, with the report and the file's
    // number and nothing of its content.
    let entries = w.desk_store().await.audit_entries(0, 1000).await.unwrap();
    let downloads: Vec<_> = entries
        .iter()
        .filter(|e| e.action == "download_attachment")
        .collect();
    assert_eq!(downloads.len(), 2);
    assert_eq!(downloads[0].actor, "lawyer");
    assert_eq!(downloads[0].subjects, vec![id.clone(), "0".to_owned()]);
}
