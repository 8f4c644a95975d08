//! The S3 path of storage against a local S3-compatible server (moto,
//! started by scripts/test.sh, which exports S3_TEST_ENDPOINT).

use histologe::{
    config::{Secret, StorageConfig},
    storage,
};
use object_store::{ObjectStoreExt, PutPayload, path::Path};

#[tokio::test]
async fn documents_round_trip_through_an_s3_bucket() {
    let Ok(endpoint) = std::env::var("S3_TEST_ENDPOINT") else {
        // scripts/test.sh (and so CI) always starts moto: a missing endpoint
        // there means the S3 path went untested, which must not pass quietly.
        assert!(
            std::env::var_os("CI").is_none(),
            "S3_TEST_ENDPOINT is not set although CI is: the S3 storage path was not tested \
             (scripts/test.sh starts moto and exports it)"
        );
        eprintln!("S3_TEST_ENDPOINT not set (scripts/test.sh starts moto): S3 test skipped");
        return;
    };
    let bucket = format!("histologe-{}", uuid::Uuid::new_v4().simple());
    // object_store cannot create buckets; moto accepts an unsigned PUT.
    let created = reqwest::Client::new()
        .put(format!("{endpoint}/{bucket}"))
        .send()
        .await
        .expect("moto answers");
    assert!(
        created.status().is_success(),
        "bucket created: {}",
        created.status()
    );
    let store = storage::build(&StorageConfig::S3 {
        bucket: bucket.clone(),
        endpoint: Some(endpoint.clone()),
        region: "gra".into(),
        access_key_id: "test".into(),
        secret_access_key: Secret::new("test"),
        virtual_hosted_style: false,
    })
    .unwrap();

    let key = Path::from("2026/11/photo-salon-66b3c1f2a9d4e.jpg");
    store
        .put(&key, PutPayload::from_static(b"jpeg bytes"))
        .await
        .unwrap();
    let meta = store.head(&key).await.unwrap();
    assert_eq!(meta.size, 10);
    let bytes = store.get(&key).await.unwrap().bytes().await.unwrap();
    assert_eq!(&bytes[..], b"jpeg bytes");
    storage::ping(&store).await.unwrap();
    store.delete(&key).await.unwrap();
    assert!(matches!(
        store.head(&key).await,
        Err(object_store::Error::NotFound { .. })
    ));
    // The bucket is private: an unsigned read is refused or absent.
    let anonymous = reqwest::get(format!("{endpoint}/{bucket}/{key}"))
        .await
        .unwrap();
    assert!(!anonymous.status().is_success());
}
