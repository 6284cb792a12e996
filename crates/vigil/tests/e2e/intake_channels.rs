//! intakechan: the intake's abuse limits through the real binary and real HTTP.

use std::fs;

use super::{World, client};

fn add_to_intake_config(w: &World, text: &str) {
    let path = w.data().join("intake/intake.toml");
    let mut config = fs::read_to_string(&path).unwrap();
    config.push_str(text);
    fs::write(path, config).unwrap();
}

#[test]
fn an_unsafe_abuse_section_keeps_the_intake_from_starting_and_says_why() {
    let w = World::new();
    // On loopback every client is the proxy: a per-peer limit would lump
    // every reporter together.
    add_to_intake_config(&w, "\n[abuse]\nclient_address = \"peer\"\n");
    let out = w.run(&["intake"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("client_address = \"peer\"") && err.contains("client_address = \"header\""),
        "{err}"
    );
    assert!(
        !w.data().join("intake/intake.db").exists(),
        "it wrote before refusing"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_client_over_its_limit_gets_429_while_others_and_proven_work_pass() {
    let mut w = World::new();
    add_to_intake_config(
        &w,
        "\n[abuse]\nclient_address = \"header\"\nclient_address_header = \"X-Real-IP\"\nburst = 2\nreports_per_hour = 1\napi_pow_bits = 8\n",
    );
    let intake = w.start_intake();
    let c = client();
    let challenge = || async {
        let v: serde_json::Value = c
            .get(format!("{intake}/api/v1/challenge"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(v["bits"], 8);
        vigil_intake::pow::solve(v["challenge"].as_str().unwrap()).unwrap()
    };
    let send = |ip: &'static str, proof: Option<String>| {
        let mut r = c
            .post(format!("{intake}/api/v1/reports"))
            .header("X-Real-IP", ip)
            .header("Accept-Language", "en")
            .json(&serde_json::json!({ "text": "a report" }));
        if let Some(p) = proof {
            r = r.header("Vigil-Proof", p);
        }
        async move {
            let r = r.send().await.unwrap();
            let status = r.status().as_u16();
            let retry = r
                .headers()
                .get("retry-after")
                .map(|v| v.to_str().unwrap().to_owned());
            (status, retry, r.text().await.unwrap())
        }
    };
    let (status, _, body) = send("198.51.100.9", None).await;
    assert_eq!(status, 403, "{body}");
    assert!(body.contains("proof_required"), "{body}");
    for _ in 0..2 {
        let (status, _, body) = send("198.51.100.9", Some(challenge().await)).await;
        assert_eq!(status, 201, "{body}");
    }
    let (status, retry, body) = send("198.51.100.9", Some(challenge().await)).await;
    assert_eq!(status, 429, "{body}");
    assert_eq!(retry.as_deref(), Some("3600"));
    assert!(
        body.contains("rate_limited") && body.contains("Nothing was kept"),
        "{body}"
    );
    let (status, _, body) = send("198.51.100.10", Some(challenge().await)).await;
    assert_eq!(status, 201, "{body}");
    let store = w.intake_store().await;
    assert_eq!(store.intake_pending_count().await.unwrap(), 3);
    // The address is nowhere in the data folder or the logs.
    super::assert_nowhere(&w, "198.51.100.9");
}
