//! Who may call `/v1/`: the env's `CHAINLIFT_SERVE_TOKEN` as a bearer token, or as the key of a
//! GitHub-style `X-Chainlift-Signature-256: sha256=<hex HMAC-SHA256 of the raw body>`. Both are
//! compared in constant time. An env without a token asks for nothing (serve then listens on
//! loopback only).

use axum::http::HeaderMap;
use chainlift_model::secret::SecretValue;
use hmac::Mac as _;
use subtle::ConstantTimeEq as _;

pub const SIGNATURE_HEADER: &str = "x-chainlift-signature-256";

/// Whether the request carries the token (as bearer) or a valid signature of `body` by it.
pub fn allowed(token: &SecretValue, headers: &HeaderMap, body: &[u8]) -> bool {
    let key = token.expose().as_bytes();
    if let Some(bearer) = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
    {
        return bool::from(bearer.trim().as_bytes().ct_eq(key));
    }
    let Some(hex_sig) = headers
        .get(SIGNATURE_HEADER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().strip_prefix("sha256="))
    else {
        return false;
    };
    let Ok(sig) = hex::decode(hex_sig) else {
        return false;
    };
    let Ok(mut mac) = hmac::Hmac::<sha2::Sha256>::new_from_slice(key) else {
        return false;
    };
    mac.update(body);
    mac.verify_slice(&sig).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(name: &str, value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        if let (Ok(n), Ok(v)) = (
            axum::http::HeaderName::from_bytes(name.as_bytes()),
            axum::http::HeaderValue::from_str(value),
        ) {
            h.insert(n, v);
        }
        h
    }

    #[test]
    fn bearer_and_signature() {
        let token = SecretValue::new("clt_secret".to_string());
        assert!(allowed(
            &token,
            &headers("authorization", "Bearer clt_secret"),
            b"{}"
        ));
        assert!(!allowed(
            &token,
            &headers("authorization", "Bearer clt_secreT"),
            b"{}"
        ));
        assert!(!allowed(
            &token,
            &headers("authorization", "Bearer clt_secret2"),
            b"{}"
        ));
        assert!(!allowed(&token, &HeaderMap::new(), b"{}"));
        let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(b"clt_secret")
            .map_err(|_| ())
            .ok();
        let sig = mac.as_mut().map(|m| {
            m.update(b"{\"a\":1}");
            hex::encode(m.clone().finalize().into_bytes())
        });
        let sig = sig.unwrap_or_default();
        let good = headers(SIGNATURE_HEADER, &format!("sha256={sig}"));
        assert!(allowed(&token, &good, b"{\"a\":1}"));
        assert!(
            !allowed(&token, &good, b"{\"a\":2}"),
            "the signature covers the body"
        );
        assert!(!allowed(
            &token,
            &headers(SIGNATURE_HEADER, "sha256=zz"),
            b"{}"
        ));
    }
}
