//! The frame-work probe of benchmark B5 (`cargo xtask bench ui`). When the page has a
//! `window.__logsimFrames` array (the benchmark installs it before the app starts), each
//! worker message's main-thread work is pushed onto it in milliseconds: from the message's
//! arrival, through decoding and the Yew render it causes, to a forced style and layout pass.
//! Without the array the probe does nothing.

use std::cell::Cell;
use wasm_bindgen::JsValue;

thread_local! {
    static STARTED: Cell<Option<f64>> = const { Cell::new(None) };
}

fn frames() -> Option<js_sys::Array> {
    let window = web_sys::window()?;
    let value = js_sys::Reflect::get(&window, &JsValue::from_str("__logsimFrames")).ok()?;
    value.is_array().then(|| js_sys::Array::from(&value))
}

fn now() -> Option<f64> {
    Some(web_sys::window()?.performance()?.now())
}

/// A worker message arrived: the frame's work starts.
pub fn message_arrived() {
    if frames().is_some() {
        STARTED.with(|s| s.set(now()));
    }
}

/// The render a message caused is in the DOM: force style and layout, then record.
pub fn rendered() {
    let Some(frames) = frames() else { return };
    let Some(started) = STARTED.with(|s| s.take()) else {
        return;
    };
    if let Some(body) = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.body())
    {
        // Reading a layout property makes the browser do the style and layout work now.
        let _ = body.offset_height();
    }
    if let Some(end) = now() {
        frames.push(&JsValue::from_f64(end - started));
    }
}
