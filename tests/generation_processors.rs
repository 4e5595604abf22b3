//! The logits processors against Hugging Face's own warpers on fixed rows
//! (`tests/data/golden/processors.json`, written by `make_processors.py`). The same tokens must be
//! filtered; surviving scores must agree to 1e-6.

use instructcell::generation::processors::{apply_temperature, apply_top_k, apply_top_p};

#[test]
fn processors_match_the_reference_warpers() {
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/golden/processors.json");
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let cases = v["cases"].as_array().unwrap();
    assert!(cases.len() >= 30);
    for (i, c) in cases.iter().enumerate() {
        let mut s: Vec<f32> = c["scores"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_f64().unwrap() as f32)
            .collect();
        let t = c["temperature"].as_f64().unwrap() as f32;
        let k = c["top_k"].as_u64().unwrap() as usize;
        let p = c["top_p"].as_f64().unwrap() as f32;
        apply_temperature(&mut s, t);
        apply_top_k(&mut s, k);
        apply_top_p(&mut s, p);
        for (j, (got, want)) in s.iter().zip(c["expected"].as_array().unwrap()).enumerate() {
            match want.as_f64() {
                None => assert_eq!(
                    *got,
                    f32::NEG_INFINITY,
                    "case {i} (t={t} k={k} p={p}) token {j}"
                ),
                Some(w) => assert!(
                    (*got as f64 - w).abs() < 1e-6,
                    "case {i} (t={t} k={k} p={p}) token {j}: {got} vs {w}"
                ),
            }
        }
    }
}
