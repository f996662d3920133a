//! Requests that also read the server's clock: the `Date` header of the
//! answer against our clock at the middle of the round trip. The offset is
//! what `get` judges token times with (a TokenRequest's `iat`, `nbf` and `exp`
//! are in server time) and what `doctor` reports: one computation for both.

use http::header::DATE;
use kube::Client;
use kube::client::Body;
use kube::core::Status;
use serde::de::DeserializeOwned;
use time::OffsetDateTime;

/// The server's clock minus ours, in whole seconds, from a `Date` header
/// received between `before` and `after`. The header is the server's time
/// cut to the second, so the true offset lies in `[date − mid, date − mid +
/// 1)`: the one whole number there is `ceil(date − mid)`. A server on time
/// reads as 0 (cutting the header to the second read it as −1 whenever the
/// request was not at the very start of a second).
pub(super) fn date_offset(
    headers: &http::HeaderMap,
    before: OffsetDateTime,
    after: OffsetDateTime,
) -> Option<i64> {
    let date = headers.get(DATE)?.to_str().ok()?;
    let date = OffsetDateTime::parse(date, &time::format_description::well_known::Rfc2822).ok()?;
    let mid: OffsetDateTime = before + (after - before) / 2;
    let offset: time::Duration = date - mid;
    Some(offset.as_seconds_f64().ceil() as i64)
}

/// Sends `req` and decodes the answer as kube's `Client::request` does
/// (errors as `kube::Error::Api`), and returns the server's clock offset too.
pub(super) async fn request<T: DeserializeOwned>(
    client: &Client,
    req: http::Request<Vec<u8>>,
) -> Result<(T, Option<i64>), kube::Error> {
    let before = OffsetDateTime::now_utc();
    let res = client.send(req.map(Body::from)).await?;
    let offset = date_offset(res.headers(), before, OffsetDateTime::now_utc());
    let code = res.status();
    let bytes = res.into_body().collect_bytes().await?;
    if code.is_client_error() || code.is_server_error() {
        let status = serde_json::from_slice::<Status>(&bytes).unwrap_or_else(|_| {
            // Not an API server's Status (a proxy's page, say): its text is
            // never shown, see error::map_error.
            Status::failure("", NOT_A_STATUS).with_code(code.as_u16())
        });
        return Err(kube::Error::Api(status.boxed()));
    }
    let value = serde_json::from_slice(&bytes).map_err(kube::Error::SerdeError)?;
    Ok((value, offset))
}

/// The reason kube (and [`request`]) give an error answer that is not a
/// Kubernetes `Status`; its message is the raw body.
pub(super) const NOT_A_STATUS: &str = "Failed to parse error data";

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(date: &str) -> http::HeaderMap {
        let mut h = http::HeaderMap::new();
        h.insert(DATE, date.parse().unwrap());
        h
    }

    #[test]
    fn a_server_on_time_reads_as_zero_whenever_its_second_ticks() {
        let date = headers("Mon, 30 Nov 2026 20:00:00 GMT");
        let at = |ms: i64| {
            OffsetDateTime::parse(
                "2026-11-30T20:00:00Z",
                &time::format_description::well_known::Rfc3339,
            )
            .unwrap()
                + time::Duration::milliseconds(ms)
        };
        // Our clock within the second the header names: on time.
        for ms in [0, 1, 400, 999] {
            assert_eq!(date_offset(&date, at(ms), at(ms)), Some(0), "{ms} ms");
        }
        // Whole seconds apart either way are read as such.
        assert_eq!(date_offset(&date, at(-5_000), at(-5_000)), Some(5));
        assert_eq!(date_offset(&date, at(7_300), at(7_300)), Some(-7));
        // The middle of the round trip is what counts.
        assert_eq!(date_offset(&date, at(-2_000), at(2_000)), Some(0));
        assert_eq!(date_offset(&headers("nonsense"), at(0), at(0)), None);
    }
}
