//! Key operations of the [`Issuer`]: rotating the credential signing key. The keys themselves
//! (sealing, loading, publishing) are [`crate::keys::KeyStore`]; an emergency withdrawal is
//! [`super::withdraw`].

use crate::domain::keys::Alg;
use crate::error::IssuerError;
use crate::keys::KeyRecord;
use crate::service::Issuer;

impl Issuer {
    /// Rotates the credential signing key (see [`crate::keys::KeyStore::rotate`]) and drops cached
    /// status-list tokens so they are re-signed with the new key.
    ///
    /// # Errors
    /// Key file or storage errors.
    pub async fn rotate_key(&self, actor: &str, alg: Alg) -> Result<KeyRecord, IssuerError> {
        let mut rng = self.child_rng();
        let max_validity = self.config.credential_validity_days * 86_400;
        let rec = self
            .keys
            .rotate(&self.store, actor, alg, max_validity, self.now(), &mut rng)
            .await?;
        self.status_cache.clear();
        tracing::info!(kid = %rec.kid, actor, "key rotated");
        Ok(rec)
    }
}
