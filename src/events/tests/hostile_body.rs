//! Hostile and malformed bodies: each has an explicit expected [`DecodeError`] (label and a phrase the
//! operator sees) or, where the body is acceptable, the expected trigger.

use serde_json::{Value, json};

use super::super::limits::MAX_BODY_BYTES;
use super::super::{ReconcileReason, Schema, Trigger, cluster_write_event, decode, reconcile_command};
use super::{SUB, bytes, cluster_id, edited, outcome};

fn eg() -> Value {
    cluster_write_event(&cluster_id(SUB), Schema::EventGrid)
}

fn ce() -> Value {
    cluster_write_event(&cluster_id(SUB), Schema::CloudEvents)
}

fn reconcile() -> Trigger {
    Trigger::ReconcileCluster { cluster: cluster_id(SUB), reason: ReconcileReason::ClusterWrite }
}

/// (case, body, expected label, phrase in the message)
fn decode_error_cases() -> Vec<(&'static str, Vec<u8>, &'static str, &'static str)> {
    let too_big = [b"{\"id\":\"".as_slice(), &vec![b'a'; MAX_BODY_BYTES], b"\"}"].concat();
    vec![
        ("truncated JSON", b"{\"id\": \"x\", \"eventType\":".to_vec(), "invalid_json", "not valid JSON: EOF while parsing"),
        ("not JSON at all", b"hello, world".to_vec(), "invalid_json", "not valid JSON"),
        ("empty body", Vec::new(), "invalid_json", "not valid JSON"),
        ("two JSON values", [bytes(&eg()), bytes(&eg())].concat(), "invalid_json", "trailing characters"),
        ("duplicate eventType", br#"{"eventType":"a","eventType":"b"}"#.to_vec(), "invalid_json", "duplicate key \"eventType\""),
        ("nested 10k deep", format!("{}{}", "[".repeat(10_000), "]".repeat(10_000)).into_bytes(), "invalid_json", "recursion limit"),
        ("1 MiB + body", too_big, "too_large", "limit for one event"),
        ("Latin-1 bytes", b"{\"id\":\"caf\xe9\"}".to_vec(), "not_utf8", "not UTF-8"),
        ("UTF-16 BOM", b"\xFF\xFE{\x00}\x00".to_vec(), "not_utf8", "offset 0"),
        ("empty array", b"[]".to_vec(), "empty_array", "empty JSON array"),
        ("two-element array", bytes(&json!([eg(), eg()])), "too_many_events", "array of 2 events"),
        ("array of a string", b"[\"event\"]".to_vec(), "not_an_object", "an array holding a string"),
        ("bare number", b"42".to_vec(), "not_an_object", "is a number"),
        ("null", b"null".to_vec(), "not_an_object", "is null"),
        ("empty object", b"{}".to_vec(), "unknown_schema", "neither 'eventType'"),
        ("both schemas", edited(ce(), |v| v["eventType"] = json!("x")), "ambiguous_schema", "cannot tell which schema"),
        (
            "specVersion typo",
            edited(ce(), |v| {
                let o = v.as_object_mut().unwrap();
                let version = o.remove("specversion").unwrap();
                o.insert("specVersion".into(), version);
            }),
            "bad_specversion",
            "must be spelled 'specversion'",
        ),
        ("specversion 0.3", edited(ce(), |v| v["specversion"] = json!("0.3")), "bad_specversion", "\"0.3\" is not supported"),
        (
            "specversion number",
            edited(ce(), |v| v["specversion"] = json!(1.0)),
            "wrong_type",
            "'specversion' must be a string, but it is a number",
        ),
        ("id a number", edited(eg(), |v| v["id"] = json!(7)), "wrong_type", "'id' must be a string, but it is a number"),
        ("empty id", edited(eg(), |v| v["id"] = json!("")), "empty_field", "'id' must not be empty"),
        (
            "eventType an array",
            edited(eg(), |v| v["eventType"] = json!(["x"])),
            "wrong_type",
            "'eventType' must be a string, but it is an array",
        ),
        (
            "subject null",
            edited(eg(), |v| v["subject"] = Value::Null),
            "missing_field",
            "Event Grid schema event is missing required field 'subject'",
        ),
        ("no eventTime", edited(eg(), |v| drop(v.as_object_mut().unwrap().remove("eventTime"))), "missing_field", "'eventTime'"),
        ("eventTime a number", edited(eg(), |v| v["eventTime"] = json!(1_700_000_000)), "wrong_type", "'eventTime' must be a string"),
        ("eventTime not RFC 3339", edited(eg(), |v| v["eventTime"] = json!("07/19/2018 18:38")), "bad_time", "not an RFC 3339 timestamp"),
        ("CE time without offset", edited(ce(), |v| v["time"] = json!("2018-07-19T18:38:04")), "bad_time", "'time'"),
        ("no dataVersion", edited(eg(), |v| drop(v.as_object_mut().unwrap().remove("dataVersion"))), "missing_field", "'dataVersion'"),
        ("topic an object", edited(eg(), |v| v["topic"] = json!({})), "wrong_type", "'topic' must be a string, but it is an object"),
        ("EG without data", edited(eg(), |v| drop(v.as_object_mut().unwrap().remove("data"))), "missing_field", "field 'data'"),
        (
            "CE resource event without data",
            edited(ce(), |v| drop(v.as_object_mut().unwrap().remove("data"))),
            "missing_field",
            "CloudEvents 1.0 event is missing required field 'data'",
        ),
        ("data a string", edited(eg(), |v| v["data"] = json!("{}")), "wrong_type", "'data' must be an object, but it is a string"),
        (
            "resourceUri a number",
            edited(eg(), |v| v["data"]["resourceUri"] = json!(1)),
            "wrong_type",
            "'data.resourceUri' must be a string",
        ),
        (
            "operationName an array",
            edited(ce(), |v| v["data"]["operationName"] = json!(["a"])),
            "wrong_type",
            "'data.operationName' must be a string, but it is an array",
        ),
        (
            "subscriptionId a bool",
            edited(eg(), |v| v["data"]["subscriptionId"] = json!(true)),
            "wrong_type",
            "'data.subscriptionId' must be a string, but it is a boolean",
        ),
        ("CE without source", edited(ce(), |v| drop(v.as_object_mut().unwrap().remove("source"))), "missing_field", "'source'"),
        ("CE without type", edited(ce(), |v| drop(v.as_object_mut().unwrap().remove("type"))), "missing_field", "'type'"),
        (
            "5000-character id",
            edited(eg(), |v| v["id"] = json!("i".repeat(5000))),
            "field_too_long",
            "'id' is 5000 characters long; the limit is 4096",
        ),
    ]
}

#[test]
fn malformed_bodies_fail_with_an_explicit_reason() {
    for (case, body, label, phrase) in decode_error_cases() {
        let err = decode(&body).expect_err(case);
        let message = err.to_string();
        assert_eq!(err.label(), label, "{case}: {message}");
        assert!(message.contains(phrase), "{case}: {message:?} lacks {phrase:?}");
        assert!(message.len() < 600, "{case}: message too long for a poison reason: {} bytes", message.len());
    }
}

#[test]
fn body_size_limit_is_exact() {
    let mut body = bytes(&eg());
    body.resize(MAX_BODY_BYTES, b' ');
    assert_eq!(outcome(&body).unwrap(), reconcile(), "a body of exactly the limit is accepted");
    body.push(b' ');
    assert_eq!(decode(&body).unwrap_err(), super::super::DecodeError::TooLarge { size: MAX_BODY_BYTES + 1, limit: MAX_BODY_BYTES });
}

#[test]
fn tolerated_variations_decode() {
    let bom = [b"\xEF\xBB\xBF".as_slice(), &bytes(&eg())].concat();
    let pretty = serde_json::to_vec_pretty(&json!([ce()])).unwrap();
    let extra = edited(eg(), |v| {
        v["futureField"] = json!({"nested": [1, 2]});
        v["data"]["resourceGroup"] = json!("rg-fleet");
        v["data"]["brandNew"] = json!(17);
    });
    let nulls = edited(eg(), |v| {
        v["topic"] = Value::Null;
        v["data"]["tenantId"] = Value::Null;
    });
    let no_time = edited(ce(), |v| drop(v.as_object_mut().unwrap().remove("time")));
    let empty_data_version = edited(eg(), |v| v["dataVersion"] = json!(""));
    let text_data_in_other_types = br#"{"specversion":"1.0","id":"1","source":"/x","type":"Contoso.Thing","data":"plain text"}"#.to_vec();
    for (case, body) in [
        ("BOM", bom),
        ("pretty array", pretty),
        ("extra fields", extra),
        ("nulls", nulls),
        ("no CE time", no_time),
        ("empty dataVersion", empty_data_version),
    ] {
        assert_eq!(outcome(&body).unwrap_or_else(|e| panic!("{case}: {e}")), reconcile(), "{case}");
    }
    let other = decode(&text_data_in_other_types).unwrap();
    assert!(other.data.is_none() && other.time.is_none() && other.subject.is_none());
}

#[test]
fn any_rfc3339_fraction_and_offset_is_accepted() {
    let cases = [
        ("2018-07-19T18:38:04Z", 0, 0),
        ("2018-07-19T18:38:04.7Z", 700_000_000, 0),
        ("2018-07-19T18:38:04.763881Z", 763_881_000, 0),
        ("2018-07-19T18:38:04.6117357Z", 611_735_700, 0),
        ("2018-07-19T18:38:04.123456789Z", 123_456_789, 0),
        ("2018-07-19T20:38:04.5+02:00", 500_000_000, 2 * 3600),
        ("2018-07-19t18:38:04.5z", 500_000_000, 0),
    ];
    for (text, nanos, offset) in cases {
        let event = decode(&edited(eg(), |v| v["eventTime"] = json!(text))).unwrap_or_else(|e| panic!("{text}: {e}"));
        let time = event.time.unwrap();
        assert_eq!((time.nanosecond(), time.offset().whole_seconds()), (nanos, offset), "{text}");
        assert_eq!(time.unix_timestamp(), 1_532_025_484, "{text}");
    }
}

#[test]
fn command_without_data_is_fine() {
    let body = edited(reconcile_command(&cluster_id(SUB)), |v| drop(v.as_object_mut().unwrap().remove("data")));
    assert_eq!(outcome(&body).unwrap(), Trigger::ReconcileCluster { cluster: cluster_id(SUB), reason: ReconcileReason::Command });
}
