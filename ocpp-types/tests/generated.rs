//! The checked-in generated modules are exactly what `ocpp-codegen` writes.

use ocpp_codegen::schemas;

#[test]
fn generated_code_is_up_to_date_and_deterministic() {
    let dir = schemas::locate().unwrap_or_else(|e| panic!("{e}"));
    let files = ocpp_codegen::generate(&dir).unwrap_or_else(|e| panic!("generator failed: {e}"));
    let again = ocpp_codegen::generate(&dir).unwrap_or_else(|e| panic!("generator failed: {e}"));
    assert!(files == again, "generating twice gave different bytes");
    // 1.6 has 39 actions, 2.0.1 64, 2.1 91; each version adds mod, enums, datatypes.
    assert_eq!(files.len(), 39 + 64 + 91 + 3 * 3);
    let stale = ocpp_codegen::stale(&schemas::workspace_root(), &files);
    assert!(
        stale.is_empty(),
        "generated code is stale: {stale:?}\nrun `cargo run -p ocpp-codegen -- --write` and commit the result"
    );
}
