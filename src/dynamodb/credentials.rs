//! The credentials requests are signed with: from the AWS SDK's provider chain (environment,
//! profile, web identity, the ECS task role, instance metadata), kept until shortly before they
//! expire so that a request does not wait on the provider.
//!
//! Renewal starts a minute before they expire. Until they are about to expire, one request
//! renews them while the others go on signing with them, and a renewal that fails (the task's
//! credentials endpoint can fail for a moment) leaves them in use and is not tried again for a
//! while. Only credentials about to expire, or none, make requests wait for the provider; a
//! provider that failed moments ago fails them at once rather than be asked again by each.
//!
//! The provider is asked in a task of its own: a request that stops waiting for it (its
//! attempt timed out) does not cancel the renewal, and the next request waits for the same
//! one instead of asking again. A provider slower than an attempt's timeout still delivers.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use aws_credential_types::Credentials;
use aws_credential_types::provider::error::CredentialsError;
use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use tokio::task::JoinHandle;

/// Credentials this close to their expiry are renewed before the next request is signed.
const RENEW_BEFORE_EXPIRY: Duration = Duration::from_secs(60);

/// Credentials this close to their expiry are no longer signed with: a request signed now must
/// still be valid when DynamoDB checks it, after retries within the store's deadline.
const USABLE_BEFORE_EXPIRY: Duration = Duration::from_secs(10);

/// How long after a failed renewal the provider is not asked again.
const RETRY_RENEWAL_AFTER: Duration = Duration::from_secs(2);

pub struct CredentialsCache {
    provider: SharedCredentialsProvider,
    state: Mutex<State>,
    /// Held while renewing, so that concurrent requests wait for one renewal, not start many.
    renewing: tokio::sync::Mutex<()>,
    /// The provider's answer that a request stopped waiting for, to be waited for by the next.
    in_flight: Mutex<Option<Fetch>>,
}

/// The provider asked in a task of its own.
type Fetch = JoinHandle<Result<Credentials, CredentialsError>>;

/// A fetch being waited for: if the wait is cancelled, the fetch goes back to its slot.
struct Waiting<'a> {
    slot: &'a Mutex<Option<Fetch>>,
    fetch: Option<Fetch>,
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        if let Some(fetch) = self.fetch.take() {
            *self.slot.lock().unwrap_or_else(|p| p.into_inner()) = Some(fetch);
        }
    }
}

#[derive(Default)]
struct State {
    /// Shared rather than cloned for each request: a `Credentials` clone copies a map of
    /// properties.
    current: Option<Arc<Credentials>>,
    /// The last renewal's failure, and when.
    failed: Option<(Instant, String)>,
}

/// How far credentials are from their expiry.
enum Standing {
    Fresh,
    /// Valid, and due for renewal.
    Renewable,
    /// About to expire, or expired.
    Expiring,
}

impl CredentialsCache {
    pub fn new(provider: SharedCredentialsProvider) -> Self {
        Self {
            provider,
            state: Mutex::new(State::default()),
            renewing: tokio::sync::Mutex::new(()),
            in_flight: Mutex::new(None),
        }
    }

    pub async fn get(&self) -> Result<Arc<Credentials>, String> {
        if let Some(current) = self.current() {
            match standing(&current) {
                Standing::Fresh => return Ok(current),
                Standing::Renewable => {
                    // The request that gets to renew them waits for the provider; the others,
                    // and that one when the renewal fails, sign with the ones still valid.
                    let Ok(_renewing) = self.renewing.try_lock() else {
                        return Ok(current);
                    };
                    if self.failed_recently().is_some() {
                        return Ok(current);
                    }
                    return Ok(self.renew().await.unwrap_or(current));
                }
                Standing::Expiring => {}
            }
        }
        let _renewing = self.renewing.lock().await;
        // Renewed while this request waited?
        if let Some(current) = self.current()
            && !matches!(standing(&current), Standing::Expiring)
        {
            return Ok(current);
        }
        if let Some(why) = self.failed_recently() {
            return Err(why);
        }
        self.renew().await
    }

    /// Drops the credentials: the next request renews them.
    pub fn forget(&self) {
        self.lock().current = None;
    }

    /// Asks the provider (or waits for the answer a request before stopped waiting for), and
    /// keeps what it answers.
    async fn renew(&self) -> Result<Arc<Credentials>, String> {
        let left = self
            .in_flight
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        let fetch = left.unwrap_or_else(|| {
            let provider = self.provider.clone();
            tokio::spawn(async move { provider.provide_credentials().await })
        });
        let mut waiting = Waiting {
            slot: &self.in_flight,
            fetch: Some(fetch),
        };
        let answered = waiting.fetch.as_mut().expect("set above").await;
        waiting.fetch = None;
        let answered = answered.unwrap_or_else(|e| {
            Err(CredentialsError::unhandled(format!(
                "the credentials provider failed: {e}"
            )))
        });
        match answered {
            Ok(credentials) => {
                let credentials = Arc::new(credentials);
                *self.lock() = State {
                    current: Some(Arc::clone(&credentials)),
                    failed: None,
                };
                Ok(credentials)
            }
            Err(e) => {
                let why = format!(
                    "no AWS credentials: {}",
                    aws_smithy_types::error::display::DisplayErrorContext(&e)
                );
                tracing::warn!(%why, "renewing the AWS credentials failed");
                self.lock().failed = Some((Instant::now(), why.clone()));
                Err(why)
            }
        }
    }

    fn current(&self) -> Option<Arc<Credentials>> {
        self.lock().current.clone()
    }

    /// Why the last renewal failed, if it failed less than [`RETRY_RENEWAL_AFTER`] ago.
    fn failed_recently(&self) -> Option<String> {
        let state = self.lock();
        let (when, why) = state.failed.as_ref()?;
        (when.elapsed() < RETRY_RENEWAL_AFTER).then(|| why.clone())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

fn standing(credentials: &Credentials) -> Standing {
    let Some(expiry) = credentials.expiry() else {
        return Standing::Fresh;
    };
    let now = SystemTime::now();
    if expiry >= now + RENEW_BEFORE_EXPIRY {
        Standing::Fresh
    } else if expiry >= now + USABLE_BEFORE_EXPIRY {
        Standing::Renewable
    } else {
        Standing::Expiring
    }
}

#[cfg(test)]
mod tests {
    use std::collections::VecDeque;
    use std::sync::atomic::{AtomicU32, Ordering};

    use aws_credential_types::provider::{error::CredentialsError, future};

    use super::*;

    /// Answers each call with the next of its answers (credentials that expire that long from
    /// now, `None` for one that does not, or a failure), the last one from then on, counting
    /// the calls.
    #[derive(Debug)]
    struct Scripted {
        calls: Arc<AtomicU32>,
        answers: Mutex<VecDeque<Answer>>,
    }

    #[derive(Debug, Clone, Copy)]
    enum Answer {
        Lasting(Option<Duration>),
        Failing,
    }

    impl ProvideCredentials for Scripted {
        fn provide_credentials<'a>(&'a self) -> future::ProvideCredentials<'a>
        where
            Self: 'a,
        {
            let n = self.calls.fetch_add(1, Ordering::SeqCst);
            let mut answers = self.answers.lock().unwrap();
            let answer = if answers.len() > 1 {
                answers.pop_front().unwrap()
            } else {
                answers[0]
            };
            future::ProvideCredentials::ready(match answer {
                Answer::Lasting(lifetime) => Ok(Credentials::new(
                    format!("AKID{n}"),
                    "secret",
                    None,
                    lifetime.map(|l| SystemTime::now() + l),
                    "test",
                )),
                Answer::Failing => {
                    Err(CredentialsError::provider_timed_out(Duration::from_secs(1)))
                }
            })
        }
    }

    fn cache(answers: &[Answer]) -> (CredentialsCache, Arc<AtomicU32>) {
        let calls = Arc::new(AtomicU32::new(0));
        let provider = Scripted {
            calls: Arc::clone(&calls),
            answers: Mutex::new(answers.iter().copied().collect()),
        };
        (
            CredentialsCache::new(SharedCredentialsProvider::new(provider)),
            calls,
        )
    }

    const HOUR: Answer = Answer::Lasting(Some(Duration::from_secs(3600)));
    /// Due for renewal, still valid.
    const HALF_MINUTE: Answer = Answer::Lasting(Some(Duration::from_secs(30)));
    /// About to expire: not to be signed with.
    const FIVE_SECONDS: Answer = Answer::Lasting(Some(Duration::from_secs(5)));

    async fn key(cache: &CredentialsCache) -> Result<String, String> {
        cache.get().await.map(|c| c.access_key_id().to_owned())
    }

    /// Takes `delay` to answer credentials for an hour, counting the calls.
    #[derive(Debug)]
    struct Slow {
        calls: Arc<AtomicU32>,
        delay: Duration,
    }

    impl ProvideCredentials for Slow {
        fn provide_credentials<'a>(&'a self) -> future::ProvideCredentials<'a>
        where
            Self: 'a,
        {
            self.calls.fetch_add(1, Ordering::SeqCst);
            let delay = self.delay;
            future::ProvideCredentials::new(async move {
                tokio::time::sleep(delay).await;
                Ok(Credentials::new(
                    "AKIDSLOW",
                    "secret",
                    None,
                    Some(SystemTime::now() + Duration::from_secs(3600)),
                    "test",
                ))
            })
        }
    }

    /// A provider slower than the requests wait: each request that gives up leaves the renewal
    /// running, the next waits for the same one, and once it answers every request signs at
    /// once. Before, each request's timeout cancelled the renewal and the next started anew,
    /// so no request ever got credentials.
    #[tokio::test]
    async fn a_renewal_outlives_the_requests_that_stop_waiting_for_it() {
        let calls = Arc::new(AtomicU32::new(0));
        let cache = CredentialsCache::new(SharedCredentialsProvider::new(Slow {
            calls: Arc::clone(&calls),
            delay: Duration::from_millis(300),
        }));
        let mut gave_up = 0;
        let got = loop {
            match tokio::time::timeout(Duration::from_millis(100), key(&cache)).await {
                Ok(got) => break got,
                Err(_) => gave_up += 1,
            }
            assert!(gave_up < 20, "the renewal never finished");
        };
        assert_eq!(got.unwrap(), "AKIDSLOW");
        assert!(gave_up >= 2, "the requests did stop waiting ({gave_up})");
        assert_eq!(calls.load(Ordering::SeqCst), 1, "one renewal");
    }

    #[tokio::test]
    async fn credentials_are_fetched_once_while_they_last() {
        for lifetime in [Answer::Lasting(None), HOUR] {
            let (cache, calls) = cache(&[lifetime]);
            for _ in 0..5 {
                assert_eq!(key(&cache).await.unwrap(), "AKID0");
            }
            assert_eq!(calls.load(Ordering::SeqCst), 1, "{lifetime:?}");
        }
    }

    #[tokio::test]
    async fn credentials_due_for_renewal_are_renewed() {
        let (cache, calls) = cache(&[HALF_MINUTE, HOUR]);
        assert_eq!(key(&cache).await.unwrap(), "AKID0");
        assert_eq!(key(&cache).await.unwrap(), "AKID1");
        assert_eq!(key(&cache).await.unwrap(), "AKID1");
        assert_eq!(calls.load(Ordering::SeqCst), 2);
    }

    /// A renewal that fails while the credentials are still valid signs with them, and the
    /// provider is not asked again at once.
    #[tokio::test]
    async fn a_failed_renewal_keeps_credentials_that_are_still_valid() {
        let (cache, calls) = cache(&[HALF_MINUTE, Answer::Failing]);
        assert_eq!(key(&cache).await.unwrap(), "AKID0");
        for _ in 0..3 {
            assert_eq!(key(&cache).await.unwrap(), "AKID0");
        }
        assert_eq!(calls.load(Ordering::SeqCst), 2, "one failed renewal");
    }

    /// Without credentials to sign with, a failure is the answer; requests right after it get
    /// it too, without asking the provider each.
    #[tokio::test]
    async fn without_valid_credentials_a_failure_is_answered_and_not_retried_at_once() {
        let (cache, calls) = cache(&[FIVE_SECONDS, Answer::Failing]);
        assert_eq!(key(&cache).await.unwrap(), "AKID0");
        for _ in 0..3 {
            let why = key(&cache).await.unwrap_err();
            assert!(why.starts_with("no AWS credentials"), "{why}");
        }
        assert_eq!(calls.load(Ordering::SeqCst), 2, "one failed renewal");
    }

    /// A failed renewal is tried again once [`RETRY_RENEWAL_AFTER`] has passed.
    #[tokio::test]
    async fn a_failed_renewal_is_tried_again_after_a_pause() {
        let (cache, calls) = cache(&[FIVE_SECONDS, Answer::Failing, HOUR]);
        assert_eq!(key(&cache).await.unwrap(), "AKID0");
        assert!(key(&cache).await.is_err());
        // As if the failure were that long ago.
        if let Some((when, _)) = cache.lock().failed.as_mut() {
            *when = when.checked_sub(RETRY_RENEWAL_AFTER).unwrap();
        }
        assert_eq!(key(&cache).await.unwrap(), "AKID2");
        assert_eq!(calls.load(Ordering::SeqCst), 3);
    }

    /// Credentials DynamoDB refused as expired are renewed for the next request.
    #[tokio::test]
    async fn forgotten_credentials_are_renewed() {
        let (cache, calls) = cache(&[HOUR]);
        assert_eq!(key(&cache).await.unwrap(), "AKID0");
        cache.forget();
        assert_eq!(key(&cache).await.unwrap(), "AKID1");
        assert_eq!(calls.load(Ordering::SeqCst), 2);
    }

    /// While one request renews credentials still valid, the others sign with them.
    #[tokio::test]
    async fn requests_do_not_wait_on_a_renewal_while_the_credentials_are_valid() {
        let (cache, _) = cache(&[HALF_MINUTE, HOUR]);
        assert_eq!(key(&cache).await.unwrap(), "AKID0");
        let renewing = cache.renewing.lock().await;
        let signed = tokio::time::timeout(Duration::from_secs(5), key(&cache)).await;
        assert_eq!(signed.expect("not kept waiting").unwrap(), "AKID0");
        drop(renewing);
        assert_eq!(key(&cache).await.unwrap(), "AKID1");
    }
}
