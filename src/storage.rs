//! Object storage for uploaded documents: an S3-compatible bucket in
//! production, a local folder by default, memory in tests.
//!
//! Documents are never served from a public bucket URL: handlers read them
//! through this store after an authorization check.

use std::sync::Arc;

use object_store::{
    ObjectStore, aws::AmazonS3Builder, local::LocalFileSystem, memory::InMemory, path::Path,
};

use crate::config::StorageConfig;

pub type Storage = Arc<dyn ObjectStore>;

/// Builds the store named by the configuration (creating the local folder
/// when needed).
pub fn build(config: &StorageConfig) -> anyhow::Result<Storage> {
    Ok(match config {
        StorageConfig::Local { root } => {
            std::fs::create_dir_all(root)?;
            Arc::new(LocalFileSystem::new_with_prefix(root)?)
        }
        StorageConfig::S3 {
            bucket,
            endpoint,
            region,
            access_key_id,
            secret_access_key,
            virtual_hosted_style,
        } => {
            let mut builder = AmazonS3Builder::new()
                .with_bucket_name(bucket)
                .with_region(region)
                .with_access_key_id(access_key_id)
                .with_secret_access_key(secret_access_key.expose())
                .with_virtual_hosted_style_request(*virtual_hosted_style);
            if let Some(endpoint) = endpoint {
                builder = builder
                    .with_endpoint(endpoint)
                    .with_allow_http(endpoint.starts_with("http://"));
            }
            Arc::new(builder.build()?)
        }
        StorageConfig::Memory => Arc::new(InMemory::new()),
    })
}

/// A cheap call that proves the store answers (readiness probe).
pub async fn ping(store: &Storage) -> anyhow::Result<()> {
    store
        .list_with_delimiter(Some(&Path::from("readyz")))
        .await?;
    Ok(())
}
