//! temp
#[tokio::test]
async fn idle() {
    let cfg = syncproof_mocks::IntegrationConfig {
        source: Default::default(), target: Default::default(), relay: Default::default(),
        id_property: "x".into(), properties: vec![], harness_token: "h".into(), relay_token: "r".into(),
    };
    let i = syncproof_mocks::Integration::start(cfg).await.unwrap();
    tokio::time::sleep(std::time::Duration::from_secs(25)).await;
    let t = i.shutdown().await;
    println!("{:?} {:?} calls={}", t.source.faults, t.source.calls, t.relay.source_calls);
}
