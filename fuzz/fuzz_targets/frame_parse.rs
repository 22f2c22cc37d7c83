//! `Frame::parse` on any text, for every version, and the round trip of
//! whatever parses: writing a frame and reading it back gives the same
//! frame, the written text is a fixed point, and it holds the same JSON as
//! the input.

#![no_main]

use libfuzzer_sys::fuzz_target;
use ocpp_rpc::frame::{Frame, MessageType};
use ocpp_types::Version;
use serde_json::Value;

/// The endpoint's default frame limit.
const MAX: usize = 1 << 20;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    for version in Version::ALL {
        let Ok(frame) = Frame::parse(text, version, MAX) else {
            continue;
        };
        assert!(frame.id().chars().count() <= ocpp_rpc::frame::MAX_ID_LEN);
        let written = frame.to_text(version);
        let again = match Frame::parse(&written, version, MAX) {
            Ok(again) => again,
            Err(e) => panic!("{version:?}: `{written}` (from `{text}`) does not parse: {e}"),
        };
        assert_eq!(again.message_type(), frame.message_type(), "`{written}`");
        assert_eq!(again.id(), frame.id(), "`{written}`");
        assert_eq!(again.to_text(version), written, "not a fixed point");
        // 1.6 writes the 2.x-only error codes as GenericError; elsewhere
        // nothing is lost.
        if version != Version::V16 {
            assert!(again == frame, "`{written}` reads back differently");
        }
        // Same JSON as the input, apart from the error code spelling.
        let is_error = matches!(
            frame.message_type(),
            MessageType::CallError | MessageType::CallResultError
        );
        if !is_error
            && let (Ok(input), Ok(output)) = (
                serde_json::from_str::<Value>(text),
                serde_json::from_str::<Value>(&written),
            )
        {
            assert_eq!(input, output, "`{text}` was written as `{written}`");
        }
    }
});
