//! Why one attempt at a request failed, and what the server asked (`Retry-After`).

use std::time::Duration;

use reqwest::header::RETRY_AFTER;

use crate::error::Error;

/// Why one attempt failed.
#[derive(Debug)]
pub(crate) enum Fault {
    Connection(String),
    Timeout,
    Status {
        status: u16,
        message: String,
        retry_after: Option<Duration>,
    },
    Protocol(String),
    /// The server answered 2xx but failed the generation (an error event in a stream, a
    /// `finish_reason` of `error` or `abort`).
    Generation {
        message: String,
        retryable: bool,
    },
}

impl Fault {
    pub(crate) fn retryable(&self) -> bool {
        match self {
            Fault::Connection(_) | Fault::Timeout => true,
            Fault::Status { status, .. } => *status == 429 || *status == 408 || *status >= 500,
            Fault::Protocol(_) => false,
            Fault::Generation { retryable, .. } => *retryable,
        }
    }

    pub(crate) fn into_error(self, endpoint: &str, attempts: u32, timeout: Duration) -> Error {
        let endpoint = endpoint.to_owned();
        match self {
            Fault::Connection(message) => Error::Connection {
                endpoint,
                attempts,
                message,
            },
            Fault::Timeout => Error::Timeout {
                endpoint,
                attempts,
                after: timeout,
            },
            Fault::Status {
                status, message, ..
            } => Error::Status {
                endpoint,
                status,
                attempts,
                message,
            },
            Fault::Protocol(message) => Error::Protocol { endpoint, message },
            Fault::Generation { message, .. } => Error::Generation {
                endpoint,
                attempts,
                message,
            },
        }
    }
}

/// A transport error with its causes (`error sending request: connection refused`).
pub(crate) fn transport(e: reqwest::Error) -> Fault {
    if e.is_timeout() {
        return Fault::Timeout;
    }
    let mut message = e.to_string();
    let mut source = std::error::Error::source(&e);
    while let Some(s) = source {
        let text = s.to_string();
        if !message.contains(&text) {
            message.push_str(": ");
            message.push_str(&text);
        }
        source = s.source();
    }
    Fault::Connection(message)
}

/// `Retry-After` in seconds (integer or decimal), or as an HTTP date: the time from now until
/// then (zero for a date already past), at most an hour. Anything else is ignored (the backoff
/// applies).
pub(crate) fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    let wait = match value.parse::<f64>() {
        Ok(seconds) if seconds.is_finite() && seconds >= 0.0 => {
            Duration::from_secs_f64(seconds.min(3600.0))
        }
        Ok(_) => return None,
        Err(_) => {
            let at = httpdate::parse_http_date(value).ok()?;
            at.duration_since(std::time::SystemTime::now())
                .unwrap_or(Duration::ZERO)
        }
    };
    Some(wait.min(Duration::from_secs(3600)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    #[test]
    fn retry_after_reads_seconds() {
        let mut h = reqwest::header::HeaderMap::new();
        h.insert(RETRY_AFTER, HeaderValue::from_static("2"));
        assert_eq!(retry_after(&h), Some(Duration::from_secs(2)));
        h.insert(RETRY_AFTER, HeaderValue::from_static("0.5"));
        assert_eq!(retry_after(&h), Some(Duration::from_millis(500)));
        // A date: the time until it, zero when it is past, at most an hour; in the three
        // formats HTTP/1.1 allows.
        h.insert(
            RETRY_AFTER,
            HeaderValue::from_static("Wed, 21 Oct 2015 07:28:00 GMT"),
        );
        assert_eq!(retry_after(&h), Some(Duration::ZERO));
        for format in [0, 1, 2] {
            let at = std::time::SystemTime::now() + Duration::from_secs(30);
            let imf = httpdate::fmt_http_date(at);
            // "Sun, 06 Nov 1994 08:49:37 GMT" → RFC 850 and asctime forms of the same time.
            let parts: Vec<&str> = imf.split([' ', ',']).filter(|p| !p.is_empty()).collect();
            let (day, d, m, y, t) = (parts[0], parts[1], parts[2], parts[3], parts[4]);
            let long_day = match day {
                "Mon" => "Monday",
                "Tue" => "Tuesday",
                "Wed" => "Wednesday",
                "Thu" => "Thursday",
                "Fri" => "Friday",
                "Sat" => "Saturday",
                _ => "Sunday",
            };
            let text = match format {
                0 => imf.clone(),
                1 => format!("{long_day}, {d}-{m}-{} {t} GMT", &y[2..]),
                _ => format!("{day} {m} {:>2} {t} {y}", d.trim_start_matches('0')),
            };
            h.insert(RETRY_AFTER, HeaderValue::from_str(&text).unwrap());
            let wait = retry_after(&h).unwrap_or_else(|| panic!("{text:?} not read"));
            assert!(
                wait > Duration::from_secs(25) && wait <= Duration::from_secs(30),
                "{text:?}: {wait:?}"
            );
        }
        h.insert(
            RETRY_AFTER,
            HeaderValue::from_str(&httpdate::fmt_http_date(
                std::time::SystemTime::now() + Duration::from_secs(86_400),
            ))
            .unwrap(),
        );
        assert_eq!(retry_after(&h), Some(Duration::from_secs(3600)));
        for bad in ["soon", "-1", "NaN", "Wed, 32 Oct 2015 07:28:00 GMT"] {
            h.insert(RETRY_AFTER, HeaderValue::from_static(bad));
            assert_eq!(retry_after(&h), None, "{bad}");
        }
    }
}
