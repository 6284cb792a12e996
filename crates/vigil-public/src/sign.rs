//! The release key's signature of `manifest.json` in two standard formats, so
//! anyone can check a release with a tool they already have, without vigil:
//!
//! - minisign (`minisign -Vm manifest.json -p minisign.pub`): the prehashed
//!   "ED" form, an Ed25519 signature of the BLAKE2b-512 hash of the file, plus
//!   the "global" signature over that signature and the trusted comment;
//! - SSHSIG (`ssh-keygen -Y verify -f allowed_signers -I vigil-release
//!   -n vigil-release -s manifest.json.sshsig < manifest.json`), as OpenSSH's
//!   PROTOCOL.sshsig describes, hash SHA-512.
//!
//! Ed25519 signatures are deterministic, so both files are the same bytes for
//! the same manifest and key. The checks here accept only the exact bytes
//! vigil writes: a changed comment or line break fails, as any change to a
//! signed file does.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use blake2::{Blake2b512, Digest};
use ed25519_dalek::{Signature, VerifyingKey};
use sha2::Sha512;
use vigil_core::keys::ReleaseKey;
use vigil_core::release::SSH_NAMESPACE;

/// minisign's key id: any 8 bytes; ours come from the key, so the same key
/// always gives the same public key file.
fn minisign_key_id(key: &VerifyingKey) -> [u8; 8] {
    let hash = sha2::Sha256::digest(key.as_bytes());
    let mut id = [0u8; 8];
    id.copy_from_slice(&hash[..8]);
    id
}

fn key_id_text(id: &[u8; 8]) -> String {
    // minisign prints the id as a little-endian 64-bit number in hex.
    format!("{:016X}", u64::from_le_bytes(*id))
}

/// The contents of `minisign.pub`.
pub fn minisign_public_key(key: &VerifyingKey) -> String {
    let id = minisign_key_id(key);
    let mut raw = Vec::with_capacity(42);
    raw.extend_from_slice(b"Ed");
    raw.extend_from_slice(&id);
    raw.extend_from_slice(key.as_bytes());
    format!(
        "untrusted comment: minisign public key {}\n{}\n",
        key_id_text(&id),
        B64.encode(raw)
    )
}

fn minisign_text(id: &[u8; 8], signature: &[u8; 64], trusted: &str, global: &[u8; 64]) -> String {
    let mut raw = Vec::with_capacity(74);
    raw.extend_from_slice(b"ED");
    raw.extend_from_slice(id);
    raw.extend_from_slice(signature);
    format!(
        "untrusted comment: signature of a vigil release manifest, key {}\n{}\ntrusted comment: {trusted}\n{}\n",
        key_id_text(id),
        B64.encode(raw),
        B64.encode(global)
    )
}

/// The contents of `manifest.json.minisig`. `trusted` is one line.
pub fn minisign_signature(key: &ReleaseKey, message: &[u8], trusted: &str) -> String {
    let id = minisign_key_id(&key.public_key());
    let signature = key.sign(&Blake2b512::digest(message));
    let mut global_input = signature.to_vec();
    global_input.extend_from_slice(trusted.as_bytes());
    let global = key.sign(&global_input);
    minisign_text(&id, &signature, trusted, &global)
}

fn sig64(bytes: &[u8]) -> Option<[u8; 64]> {
    bytes.try_into().ok()
}

/// Checks a `.minisig` as `minisign -V` does, and that it is byte for byte
/// what vigil writes.
pub fn minisign_verify(key: &VerifyingKey, message: &[u8], text: &str) -> Result<(), String> {
    let lines: Vec<&str> = text.split('\n').collect();
    let [_, sig_line, trusted_line, global_line, ""] = lines[..] else {
        return Err("not a minisign signature (four lines expected)".into());
    };
    let raw = B64
        .decode(sig_line)
        .map_err(|_| "the signature line is not base64")?;
    if raw.len() != 74 || &raw[..2] != b"ED" {
        return Err("not a prehashed Ed25519 (\"ED\") minisign signature".into());
    }
    let id = minisign_key_id(key);
    if raw[2..10] != id {
        return Err("made with another key (key id differs)".into());
    }
    let signature = sig64(&raw[10..]).ok_or("malformed signature")?;
    let trusted = trusted_line
        .strip_prefix("trusted comment: ")
        .ok_or("the trusted comment line is missing")?;
    let global = B64
        .decode(global_line)
        .ok()
        .and_then(|g| sig64(&g))
        .ok_or("the global signature is malformed")?;
    key.verify_strict(
        &Blake2b512::digest(message),
        &Signature::from_bytes(&signature),
    )
    .map_err(|_| "the signature does not match manifest.json")?;
    let mut global_input = signature.to_vec();
    global_input.extend_from_slice(trusted.as_bytes());
    key.verify_strict(&global_input, &Signature::from_bytes(&global))
        .map_err(|_| "the trusted comment was changed after signing")?;
    if minisign_text(&id, &signature, trusted, &global) != text {
        return Err("changed after signing (it differs from what vigil writes)".into());
    }
    Ok(())
}

/// An SSH wire-format string: length (u32, big-endian), then the bytes.
fn ssh_string(out: &mut Vec<u8>, bytes: &[u8]) {
    let len = u32::try_from(bytes.len()).unwrap_or(u32::MAX);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(bytes);
}

fn ssh_key_blob(key: &VerifyingKey) -> Vec<u8> {
    let mut blob = Vec::with_capacity(51);
    ssh_string(&mut blob, b"ssh-ed25519");
    ssh_string(&mut blob, key.as_bytes());
    blob
}

/// The key as an OpenSSH public key line (`ssh-ed25519 AAAA...`).
pub fn ssh_public_key(key: &VerifyingKey) -> String {
    format!("ssh-ed25519 {}", B64.encode(ssh_key_blob(key)))
}

/// The contents of `allowed_signers` for `ssh-keygen -Y verify`.
pub fn ssh_allowed_signers(key: &VerifyingKey) -> String {
    format!(
        "{SSH_NAMESPACE} namespaces=\"{SSH_NAMESPACE}\" {}\n",
        ssh_public_key(key)
    )
}

/// What SSHSIG signs: the preamble, namespace and the message's SHA-512.
fn sshsig_signed_data(message: &[u8]) -> Vec<u8> {
    let mut data = b"SSHSIG".to_vec();
    ssh_string(&mut data, SSH_NAMESPACE.as_bytes());
    ssh_string(&mut data, b"");
    ssh_string(&mut data, b"sha512");
    ssh_string(&mut data, &Sha512::digest(message));
    data
}

/// The signature blob up to (not including) its signature field.
fn sshsig_prefix(key: &VerifyingKey) -> Vec<u8> {
    let mut blob = b"SSHSIG".to_vec();
    blob.extend_from_slice(&1u32.to_be_bytes());
    ssh_string(&mut blob, &ssh_key_blob(key));
    ssh_string(&mut blob, SSH_NAMESPACE.as_bytes());
    ssh_string(&mut blob, b"");
    ssh_string(&mut blob, b"sha512");
    blob
}

fn sshsig_armor(prefix: &[u8], signature: &[u8; 64]) -> String {
    let mut sig = Vec::with_capacity(83);
    ssh_string(&mut sig, b"ssh-ed25519");
    ssh_string(&mut sig, signature);
    let mut blob = prefix.to_vec();
    ssh_string(&mut blob, &sig);
    let encoded = B64.encode(blob);
    let mut text = String::from("-----BEGIN SSH SIGNATURE-----\n");
    // ssh-keygen wraps at 70 characters; base64 is ASCII, so bytes are chars.
    for chunk in encoded.as_bytes().chunks(70) {
        text.push_str(&String::from_utf8_lossy(chunk));
        text.push('\n');
    }
    text.push_str("-----END SSH SIGNATURE-----\n");
    text
}

/// The contents of `manifest.json.sshsig`.
pub fn ssh_signature(key: &ReleaseKey, message: &[u8]) -> String {
    let signature = key.sign(&sshsig_signed_data(message));
    sshsig_armor(&sshsig_prefix(&key.public_key()), &signature)
}

/// Checks an SSHSIG as `ssh-keygen -Y verify` does, and that it is byte for
/// byte what vigil writes.
pub fn ssh_verify(key: &VerifyingKey, message: &[u8], text: &str) -> Result<(), String> {
    let body: String = text
        .strip_prefix("-----BEGIN SSH SIGNATURE-----\n")
        .and_then(|t| t.strip_suffix("-----END SSH SIGNATURE-----\n"))
        .ok_or("not an armored SSH signature")?
        .split('\n')
        .collect();
    let blob = B64.decode(body).map_err(|_| "not base64")?;
    let prefix = sshsig_prefix(key);
    let rest = blob
        .strip_prefix(prefix.as_slice())
        .ok_or("not an Ed25519 SSHSIG by this key in namespace vigil-release with SHA-512")?;
    // The signature field: string(string("ssh-ed25519") string(64 bytes)).
    let mut head = 83u32.to_be_bytes().to_vec();
    ssh_string(&mut head, b"ssh-ed25519");
    head.extend_from_slice(&64u32.to_be_bytes());
    let signature = rest
        .strip_prefix(head.as_slice())
        .and_then(sig64)
        .ok_or("the signature field is malformed")?;
    key.verify_strict(
        &sshsig_signed_data(message),
        &Signature::from_bytes(&signature),
    )
    .map_err(|_| "the signature does not match manifest.json")?;
    if sshsig_armor(&prefix, &signature) != text {
        return Err("changed after signing (it differs from what vigil writes)".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn signatures_round_trip_and_refuse_any_change() {
        let key = ReleaseKey::generate().unwrap();
        let pk = key.public_key();
        let m = b"{\"format\":\"x\"}\n";
        let mini = minisign_signature(&key, m, "vigil release 2026-12-07");
        minisign_verify(&pk, m, &mini).unwrap();
        assert!(minisign_verify(&pk, b"other", &mini).is_err());
        let changed = mini.replace("2026-12-07", "2026-12-08");
        assert!(minisign_verify(&pk, m, &changed).is_err());
        let ssh = ssh_signature(&key, m);
        ssh_verify(&pk, m, &ssh).unwrap();
        assert!(ssh_verify(&pk, b"other", &ssh).is_err());
        let other = ReleaseKey::generate().unwrap().public_key();
        assert!(ssh_verify(&other, m, &ssh).is_err());
        assert!(minisign_verify(&other, m, &mini).is_err());
        // Deterministic bytes.
        assert_eq!(ssh, ssh_signature(&key, m));
    }
}
