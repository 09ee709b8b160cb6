//! `ls --format prometheus`, read back by a real exposition-format parser.

use crate::fixtures::*;
use prometheus_parse::{Scrape, Value};
use std::io::BufRead;

fn scrape(text: &str) -> Scrape {
    Scrape::parse(text.as_bytes().lines()).expect("valid exposition format")
}

fn gauge(v: &Value) -> f64 {
    match v {
        Value::Gauge(g) | Value::Untyped(g) => *g,
        other => panic!("not a gauge: {other:?}"),
    }
}

#[test]
fn prometheus_output_parses_and_counts_the_tests_objects() {
    let seg = SysvSeg::new(8192, 1);
    let _h = Holder::spawn(&[Hold::Sysv(seg.shmid)]);
    // A leaked segment (an orphaned /dev/shm object may be `unknown` on a machine where some
    // process cannot be read).
    let orphan = SysvSeg::leaked(4096);
    let (code, out, err) = run(&["ls", "--format", "prometheus"]);
    assert_eq!(code, 0, "{err}");
    assert!(!out.contains('\u{1b}'));
    let s = scrape(&out);
    let id = seg.shmid.to_string();
    let bytes = s
        .samples
        .iter()
        .find(|x| x.metric == "shmtool_object_bytes" && x.labels.get("id") == Some(id.as_str()))
        .expect("segment exported");
    assert_eq!(gauge(&bytes.value), 8192.0);
    assert_eq!(bytes.labels.get("kind"), Some("sysv"));
    assert_eq!(bytes.labels.get("key"), Some(seg.key_string().as_str()));
    let att = s
        .samples
        .iter()
        .find(|x| x.metric == "shmtool_object_attachers" && x.labels.get("id") == Some(id.as_str()))
        .unwrap();
    assert_eq!(gauge(&att.value), 1.0);
    let orphan_id = orphan.shmid.to_string();
    let stale = s
        .samples
        .iter()
        .find(|x| {
            x.metric == "shmtool_object_stale" && x.labels.get("id") == Some(orphan_id.as_str())
        })
        .expect("orphan exported");
    assert_eq!(gauge(&stale.value), 1.0);
    let stale_posix = s
        .samples
        .iter()
        .find(|x| x.metric == "shmtool_stale_bytes" && x.labels.get("kind") == Some("sysv"))
        .unwrap();
    assert!(gauge(&stale_posix.value) >= 4096.0);
    for name in [
        "shmtool_object_bytes",
        "shmtool_objects",
        "shmtool_bytes",
        "shmtool_stale_bytes",
        "shmtool_hidden_processes",
    ] {
        assert!(s.docs.contains_key(name), "no HELP for {name}");
    }
}
