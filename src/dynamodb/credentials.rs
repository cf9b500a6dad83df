//! The credentials requests are signed with: from the AWS SDK's provider chain (environment,
//! profile, web identity, the ECS task role, instance metadata), kept until shortly before they
//! expire so that a request does not wait on the provider.

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use aws_credential_types::Credentials;
use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};

/// Credentials this close to their expiry are renewed before the next request is signed.
const RENEW_BEFORE_EXPIRY: Duration = Duration::from_secs(60);

pub struct CredentialsCache {
    provider: SharedCredentialsProvider,
    /// Shared rather than cloned for each request: a `Credentials` clone copies a map of
    /// properties.
    current: Mutex<Option<Arc<Credentials>>>,
    /// Held while renewing, so that concurrent requests wait for one renewal, not start many.
    renewing: tokio::sync::Mutex<()>,
}

impl CredentialsCache {
    pub fn new(provider: SharedCredentialsProvider) -> Self {
        Self {
            provider,
            current: Mutex::new(None),
            renewing: tokio::sync::Mutex::new(()),
        }
    }

    pub async fn get(&self) -> Result<Arc<Credentials>, String> {
        if let Some(credentials) = self.fresh() {
            return Ok(credentials);
        }
        let _renewing = self.renewing.lock().await;
        if let Some(credentials) = self.fresh() {
            return Ok(credentials);
        }
        let credentials = self.provider.provide_credentials().await.map_err(|e| {
            format!(
                "no AWS credentials: {}",
                aws_smithy_types::error::display::DisplayErrorContext(&e)
            )
        })?;
        let credentials = Arc::new(credentials);
        *self.lock() = Some(Arc::clone(&credentials));
        Ok(credentials)
    }

    fn fresh(&self) -> Option<Arc<Credentials>> {
        let credentials = self.lock().clone()?;
        match credentials.expiry() {
            Some(expiry) if expiry < SystemTime::now() + RENEW_BEFORE_EXPIRY => None,
            _ => Some(credentials),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<Arc<Credentials>>> {
        self.current
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};

    use aws_credential_types::provider::future;

    use super::*;

    /// Hands out credentials that expire `lifetime` from now, counting the calls.
    #[derive(Debug)]
    struct Counting {
        calls: Arc<AtomicU32>,
        lifetime: Option<Duration>,
    }

    impl ProvideCredentials for Counting {
        fn provide_credentials<'a>(&'a self) -> future::ProvideCredentials<'a>
        where
            Self: 'a,
        {
            let n = self.calls.fetch_add(1, Ordering::SeqCst);
            let expiry = self.lifetime.map(|l| SystemTime::now() + l);
            future::ProvideCredentials::ready(Ok(Credentials::new(
                format!("AKID{n}"),
                "secret",
                None,
                expiry,
                "test",
            )))
        }
    }

    fn cache(lifetime: Option<Duration>) -> (CredentialsCache, Arc<AtomicU32>) {
        let calls = Arc::new(AtomicU32::new(0));
        let provider = Counting {
            calls: Arc::clone(&calls),
            lifetime,
        };
        (
            CredentialsCache::new(SharedCredentialsProvider::new(provider)),
            calls,
        )
    }

    #[tokio::test]
    async fn credentials_are_fetched_once_while_they_last() {
        for lifetime in [None, Some(Duration::from_secs(3600))] {
            let (cache, calls) = cache(lifetime);
            for _ in 0..5 {
                assert_eq!(cache.get().await.unwrap().access_key_id(), "AKID0");
            }
            assert_eq!(calls.load(Ordering::SeqCst), 1, "{lifetime:?}");
        }
    }

    #[tokio::test]
    async fn credentials_about_to_expire_are_renewed() {
        let (cache, calls) = cache(Some(Duration::from_secs(30)));
        assert_eq!(cache.get().await.unwrap().access_key_id(), "AKID0");
        assert_eq!(cache.get().await.unwrap().access_key_id(), "AKID1");
        assert_eq!(calls.load(Ordering::SeqCst), 2);
    }
}
