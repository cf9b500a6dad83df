//! AWS Signature Version 4 for DynamoDB's requests, which all have the same shape: a `POST` of
//! a JSON body to `/`, with no query string and the same four or five headers.
//!
//! The signing key depends only on the secret key, the day, the region and the service, so it
//! is derived once per day and per secret instead of with four HMACs on every request.
//! A unit test checks every signature against the `aws-sigv4` crate the AWS SDK signs with.

use std::sync::Mutex;

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

pub const SERVICE: &str = "dynamodb";
const ALGORITHM: &str = "AWS4-HMAC-SHA256";

/// The headers of a request to sign, in the canonical (alphabetical) order.
pub struct Request<'a> {
    pub host: &'a str,
    /// `YYYYMMDD'T'HHMMSS'Z'`, sent as `x-amz-date`.
    pub amz_date: &'a str,
    pub session_token: Option<&'a str>,
    pub target: &'a str,
    pub body: &'a [u8],
}

pub const CONTENT_TYPE: &str = "application/x-amz-json-1.0";

/// `at` as SigV4 writes a request's time: `20261126T134507Z`, in UTC. Written field by field
/// rather than with jiff's `strftime`, which interprets its format string on every call.
pub fn amz_date(at: jiff::Timestamp) -> String {
    let t = jiff::tz::Offset::UTC.to_datetime(at);
    format!(
        "{:04}{:02}{:02}T{:02}{:02}{:02}Z",
        t.year(),
        t.month(),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// The signing key of the last request, with what it was derived from.
#[derive(Default)]
pub struct KeyCache(Mutex<Option<SigningKey>>);

struct SigningKey {
    secret: String,
    day: String,
    region: String,
    key: [u8; 32],
}

impl KeyCache {
    fn key(&self, secret: &str, day: &str, region: &str) -> [u8; 32] {
        let mut cached = self
            .0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        match cached.as_ref() {
            Some(c) if c.secret == secret && c.day == day && c.region == region => c.key,
            _ => {
                let key = signing_key(secret, day, region);
                *cached = Some(SigningKey {
                    secret: secret.to_owned(),
                    day: day.to_owned(),
                    region: region.to_owned(),
                    key,
                });
                key
            }
        }
    }
}

/// The `Authorization` header's value for `request`.
pub fn authorization(
    keys: &KeyCache,
    access_key: &str,
    secret_key: &str,
    region: &str,
    request: &Request<'_>,
) -> String {
    let day = &request.amz_date[..8];
    let signed_headers = if request.session_token.is_some() {
        "content-type;host;x-amz-date;x-amz-security-token;x-amz-target"
    } else {
        "content-type;host;x-amz-date;x-amz-target"
    };
    let mut canonical = format!(
        "POST\n/\n\ncontent-type:{CONTENT_TYPE}\nhost:{}\nx-amz-date:{}\n",
        request.host, request.amz_date
    );
    if let Some(token) = request.session_token {
        canonical.push_str("x-amz-security-token:");
        canonical.push_str(token);
        canonical.push('\n');
    }
    canonical.push_str("x-amz-target:");
    canonical.push_str(request.target);
    canonical.push_str("\n\n");
    canonical.push_str(signed_headers);
    canonical.push('\n');
    canonical.push_str(&hex(&Sha256::digest(request.body)));

    let scope = format!("{day}/{region}/{SERVICE}/aws4_request");
    let string_to_sign = format!(
        "{ALGORITHM}\n{}\n{scope}\n{}",
        request.amz_date,
        hex(&Sha256::digest(canonical.as_bytes()))
    );
    let key = keys.key(secret_key, day, region);
    let signature = hex(&hmac(&key, string_to_sign.as_bytes()));
    format!(
        "{ALGORITHM} Credential={access_key}/{scope}, SignedHeaders={signed_headers}, Signature={signature}"
    )
}

fn signing_key(secret: &str, day: &str, region: &str) -> [u8; 32] {
    let k_date = hmac(format!("AWS4{secret}").as_bytes(), day.as_bytes());
    let k_region = hmac(&k_date, region.as_bytes());
    let k_service = hmac(&k_region, SERVICE.as_bytes());
    hmac(&k_service, b"aws4_request")
}

fn hmac(key: &[u8], data: &[u8]) -> [u8; 32] {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes a key of any length");
    mac.update(data);
    mac.finalize().into_bytes().into()
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        out.push(DIGITS[usize::from(byte >> 4)] as char);
        out.push(DIGITS[usize::from(byte & 0xf)] as char);
    }
    out
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, SystemTime};

    use aws_credential_types::Credentials;
    use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
    use aws_sigv4::sign::v4;

    use super::*;

    /// The `Authorization` header the AWS SDK's signer computes for the same request.
    fn sdk_authorization(
        credentials: &Credentials,
        region: &str,
        request: &Request<'_>,
        at: SystemTime,
    ) -> String {
        let identity = credentials.clone().into();
        let params = v4::SigningParams::builder()
            .identity(&identity)
            .region(region)
            .name(SERVICE)
            .time(at)
            .settings(SigningSettings::default())
            .build()
            .unwrap()
            .into();
        // The signer adds `x-amz-date` (from `at`) and the session token itself.
        let headers = [
            ("content-type", CONTENT_TYPE),
            ("host", request.host),
            ("x-amz-target", request.target),
        ];
        let signable = SignableRequest::new(
            "POST",
            format!("http://{}/", request.host),
            headers.into_iter(),
            SignableBody::Bytes(request.body),
        )
        .unwrap();
        let (instructions, _) = sign(signable, &params).unwrap().into_parts();
        instructions
            .headers()
            .find(|(name, _)| *name == "authorization")
            .map(|(_, value)| value.to_owned())
            .expect("an authorization header")
    }

    #[test]
    fn signatures_match_the_aws_sdk_signer() {
        let keys = KeyCache::default();
        // 2026-11-26T13:45:07Z and the next day: the cached key must change with the day.
        for (seconds, amz_date) in [
            (1_795_700_707, "20261126T134507Z"),
            (1_795_787_107, "20261127T134507Z"),
        ] {
            let at = SystemTime::UNIX_EPOCH + Duration::from_secs(seconds);
            for token in [None, Some("session/token+with=symbols")] {
                for (host, region) in [
                    ("dynamodb.eu-west-1.amazonaws.com", "eu-west-1"),
                    ("127.0.0.1:8000", "us-east-1"),
                ] {
                    let credentials = Credentials::new(
                        "AKIDEXAMPLE",
                        "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
                        token.map(str::to_owned),
                        None,
                        "test",
                    );
                    let request = Request {
                        host,
                        amz_date,
                        session_token: token,
                        target: "DynamoDB_20120810.Query",
                        body: br#"{"TableName":"leave","Limit":51}"#,
                    };
                    let ours = authorization(
                        &keys,
                        "AKIDEXAMPLE",
                        "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
                        region,
                        &request,
                    );
                    assert_eq!(
                        ours,
                        sdk_authorization(&credentials, region, &request, at),
                        "{host} {token:?} {amz_date}"
                    );
                }
            }
        }
    }

    #[test]
    fn amz_date_is_the_utc_time_in_basic_format() {
        let at = |seconds| jiff::Timestamp::from_second(seconds).unwrap();
        assert_eq!(amz_date(at(1_795_700_707)), "20261126T134507Z");
        assert_eq!(amz_date(at(0)), "19700101T000000Z");
        // Every hour of a leap year, at a second that changes with it, against jiff's own.
        for hour in 0..366 * 24 {
            let at = at(1_704_067_200 + hour * 3_607);
            assert_eq!(amz_date(at), at.strftime("%Y%m%dT%H%M%SZ").to_string());
        }
    }

    #[test]
    fn a_changed_body_or_secret_changes_the_signature() {
        let keys = KeyCache::default();
        let request = |body: &'static [u8]| Request {
            host: "h",
            amz_date: "20261126T134507Z",
            session_token: None,
            target: "DynamoDB_20120810.GetItem",
            body,
        };
        let a = authorization(&keys, "A", "secret", "eu-west-1", &request(b"{}"));
        let b = authorization(&keys, "A", "secret", "eu-west-1", &request(b"{ }"));
        let c = authorization(&keys, "A", "other", "eu-west-1", &request(b"{}"));
        assert_ne!(a, b);
        assert_ne!(a, c);
    }
}
