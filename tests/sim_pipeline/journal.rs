//! The journal, in-process and at `GET /_sim/journal`.

use fleetgate::sim::{JournalEntry, SimOptions};
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::support::*;

#[tokio::test]
async fn every_request_is_recorded_with_the_status_the_client_saw() {
    let sim = start().await;
    let c = client();
    let put_path = format!("/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.Sim/things/t");
    let token_res = post_form(
        &c,
        &format!("{}/{}/oauth2/v2.0/token", sim.base_url(), sim.tenant_id()),
        &[("grant_type", "client_credentials"), ("client_id", "app"), ("client_secret", "hunter2"), ("scope", ARM_SCOPE)],
    )
    .send()
    .await
    .unwrap();
    let token = token_res.json::<serde_json::Value>().await.unwrap()["access_token"].as_str().unwrap().to_string();
    let anonymous = c.get(format!("{}{}", sim.base_url(), read_path())).send().await.unwrap();
    let put = c
        .put(format!("{}{put_path}?api-version=2024-01-01", sim.base_url()))
        .bearer_auth(&token)
        .json(&json!({"a": 1}))
        .send()
        .await
        .unwrap();
    let unknown = c.get(format!("{}/nothing-here", sim.base_url())).send().await.unwrap();
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);

    let journal = sim.journal();
    assert_eq!(journal.len(), 4, "{journal:?}");
    assert_eq!(journal.iter().map(|e| e.seq).collect::<Vec<_>>(), [1, 2, 3, 4]);
    let [tok, anon, write, missing] = &journal[..] else { unreachable!() };
    assert!(tok.is_token_call() && tok.status == 200 && tok.request_body.is_none(), "token bodies are never recorded: {tok:?}");
    assert_eq!((anon.method.as_str(), anon.status), ("GET", 401));
    assert_eq!(anon.subscription.as_deref(), Some(SUB));
    assert_eq!(write.status, put.status().as_u16());
    assert!(write.is_write() && !anon.is_write());
    assert_eq!(write.path, put_path);
    assert_eq!(write.query, "api-version=2024-01-01");
    assert_eq!(write.request_body, Some(json!({"a": 1})));
    assert_eq!(missing.status, 404);
    assert_eq!(anonymous.status().as_u16(), anon.status);

    let dump = serde_json::to_string(&journal).unwrap();
    assert!(!dump.contains(&token) && !dump.contains("hunter2"), "no secrets in the journal");
}

#[tokio::test]
async fn the_journal_endpoint_serves_entries_since_a_sequence_number() {
    let sim = start().await;
    let c = client();
    for _ in 0..3 {
        arm(&sim, &c, Method::GET, &read_path()).send().await.unwrap();
    }
    let url = format!("{}/_sim/journal", sim.base_url());
    let all: Vec<JournalEntry> = c.get(&url).send().await.unwrap().json().await.unwrap();
    assert_eq!(all, sim.journal(), "admin calls are not journaled and the endpoint matches in-process");
    assert_eq!(all.len(), 3);
    let since: Vec<JournalEntry> = c.get(format!("{url}?since=2")).send().await.unwrap().json().await.unwrap();
    assert_eq!(since.iter().map(|e| e.seq).collect::<Vec<_>>(), [3]);
    assert_eq!(c.get(format!("{url}?since=x")).send().await.unwrap().status(), StatusCode::BAD_REQUEST);

    assert_eq!(c.delete(&url).send().await.unwrap().status(), StatusCode::NO_CONTENT);
    assert!(sim.journal().is_empty());
    arm(&sim, &c, Method::GET, &read_path()).send().await.unwrap();
    sim.clear_journal();
    assert!(sim.journal().is_empty());
}

#[tokio::test]
async fn bodies_are_left_out_when_journal_bodies_is_off() {
    let sim = start_with(SimOptions { journal_bodies: false, ..SimOptions::default() }).await;
    let path = format!("/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.Sim/things/t");
    arm(&sim, &client(), Method::PUT, &path).json(&json!({"big": "document"})).send().await.unwrap();
    let journal = sim.journal();
    assert_eq!(journal.len(), 1);
    assert!(journal[0].is_write() && journal[0].request_body.is_none());
}
