//! Against the real Secret Service (gnome-keyring in CI): store, read back, delete.

use chainlift_secrets::{account, SecretSource, SecretValue};

#[tokio::test]
async fn round_trip_in_the_real_keychain() -> Result<(), Box<dyn std::error::Error>> {
    let src = SecretSource::keychain("chainlift-test");
    let acct = account("keychain-test", "dev", &format!("K{}", std::process::id()));
    let value = SecretValue::new("round-trip-value-7f3a");
    src.set(&acct, "K", &value).await?;
    assert_eq!(src.get(&acct, "K").await?, Some(value));
    assert!(src.delete(&acct, "K").await?);
    assert_eq!(src.get(&acct, "K").await?, None);
    assert!(
        !src.delete(&acct, "K").await?,
        "a second delete finds nothing"
    );
    Ok(())
}
