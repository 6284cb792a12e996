//! A small SMTP client (RFC 5321) for one message to one recipient, through a
//! relay on this machine: EHLO, MAIL FROM, RCPT TO, DATA, QUIT. The subject is
//! RFC 2047-encoded and the body base64, so Russian text needs no 8BITMIME.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

use super::{SendError, SmtpConfig, check_address};

/// The longest reply line read, so a misbehaving server cannot fill memory.
const MAX_LINE: usize = 1024;

struct Session {
    stream: BufReader<TcpStream>,
}

impl Session {
    /// Reads one reply (all its lines) and returns its code.
    async fn reply(&mut self) -> Result<u16, SendError> {
        loop {
            let mut line = Vec::new();
            let n = (&mut self.stream)
                .take(MAX_LINE as u64)
                .read_until(b'\n', &mut line)
                .await
                .map_err(|e| SendError::Io(e.kind()))?;
            if n == 0 || line.len() < 4 {
                return Err(SendError::SmtpGarbled);
            }
            let code = std::str::from_utf8(&line[..3])
                .ok()
                .and_then(|c| c.parse::<u16>().ok())
                .ok_or(SendError::SmtpGarbled)?;
            match line[3] {
                b'-' => continue,
                b' ' | b'\r' | b'\n' => return Ok(code),
                _ => return Err(SendError::SmtpGarbled),
            }
        }
    }

    async fn command(
        &mut self,
        line: &str,
        step: &'static str,
        ok: &[u16],
    ) -> Result<(), SendError> {
        self.stream
            .get_mut()
            .write_all(line.as_bytes())
            .await
            .map_err(|e| SendError::Io(e.kind()))?;
        let code = self.reply().await?;
        if ok.contains(&code) {
            Ok(())
        } else {
            Err(SendError::Smtp(code, step))
        }
    }
}

/// The message: headers and a base64 body in lines of 76, CRLF throughout.
fn message(from: &str, to: &str, subject: &str, body: &str) -> String {
    let subject = format!("=?UTF-8?B?{}?=", STANDARD.encode(subject));
    let encoded = STANDARD.encode(body);
    let mut lines = String::new();
    for chunk in encoded.as_bytes().chunks(76) {
        lines.push_str(&String::from_utf8_lossy(chunk));
        lines.push_str("\r\n");
    }
    format!(
        "From: <{from}>\r\nTo: <{to}>\r\nSubject: {subject}\r\nMIME-Version: 1.0\r\n\
         Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n\
         {lines}.\r\n"
    )
}

pub async fn send(
    config: &SmtpConfig,
    to: &str,
    subject: &str,
    body: &str,
) -> Result<(), SendError> {
    check_address("people.email", to).map_err(|_| SendError::NoAddress("valid e-mail"))?;
    check_address("smtp.from", &config.from).map_err(|_| SendError::NotConfigured)?;
    let stream = TcpStream::connect((config.host.as_str(), config.port))
        .await
        .map_err(|e| SendError::Io(e.kind()))?;
    let mut s = Session {
        stream: BufReader::new(stream),
    };
    let greeting = s.reply().await?;
    if greeting != 220 {
        return Err(SendError::Smtp(greeting, "the greeting"));
    }
    s.command("EHLO vigil-desk\r\n", "EHLO", &[250]).await?;
    s.command(
        &format!("MAIL FROM:<{}>\r\n", config.from),
        "MAIL FROM",
        &[250],
    )
    .await?;
    s.command(&format!("RCPT TO:<{to}>\r\n"), "RCPT TO", &[250, 251])
        .await?;
    s.command("DATA\r\n", "DATA", &[354]).await?;
    // Base64 lines never start with a dot, so no dot-stuffing is needed.
    s.command(
        &message(&config.from, to, subject, body),
        "the message",
        &[250],
    )
    .await?;
    // The message is accepted; a failed QUIT changes nothing.
    let _ = s.command("QUIT\r\n", "QUIT", &[221]).await;
    Ok(())
}
